#include "server/service/accountability.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "server/domain/report_checks.h"
#include "server/service/domain_names.h"
#include "server/service/scope.h"

namespace gridline::service {
namespace {

// Handset reports this long before the month still count as "found" for its first days, and
// closed cases this long before it for 制而又返; observe times may precede reports by days.
constexpr Micros kSlack = 7LL * 24 * 3600 * 1000000;

}  // namespace

absl::Status AccountabilityService::MonthRange(int year, int month, Micros now, Micros* start,
                                               Micros* end) const {
  FieldViolations v;
  if (year < 2000 || year > 9999) v.Add("year", "must be within 2000..9999");
  if (month < 1 || month > 12) v.Add("month", "must be within 1..12");
  if (!v.empty()) return v.ToStatus();
  const absl::CivilMonth m(year, month);
  *start = absl::ToUnixMicros(absl::FromCivil(absl::CivilSecond(m), zone_));
  *end = absl::ToUnixMicros(absl::FromCivil(absl::CivilSecond(m + 1), zone_));
  if (*end > now) return InvalidField("month", "has not ended yet");
  return absl::OkStatus();
}

absl::StatusOr<int> AccountabilityService::ComputeMonth(int year, int month, Micros start,
                                                        Micros end, Micros now) {
  auto org = org_->LoadOrganisation();
  if (!org.ok()) return org.status();
  domain::AccountabilityOrg view;
  for (const auto& g : org->grids) view.grids.emplace(g.code, g);
  for (const auto& d : org->departments) view.departments.emplace(d.code, d);
  view.users = org->users;
  const Micros window = std::max(rules_.find_window, rules_.recurrence_window) + kSlack;
  auto cases = store_->LoadAccountabilityCases(start - window, start, end);
  if (!cases.ok()) return cases.status();
  auto records = domain::ComputeAccountability(rules_, view, *cases, year, month, start, end);
  if (auto s = store_->SaveAccountability(year, month, records, now); !s.ok()) return s;
  return static_cast<int>(records.size());
}

absl::StatusOr<int> AccountabilityService::Compute(const RequestContext& rc, int year, int month) {
  if (rc.caller.user.role != Role::kOperator) {
    return absl::PermissionDeniedError("accountability is computed by operators");
  }
  Micros start = 0, end = 0;
  if (auto s = MonthRange(year, month, rc.now, &start, &end); !s.ok()) return s;
  return ComputeMonth(year, month, start, end, rc.now);
}

absl::StatusOr<Page<domain::AccountabilityRecord>> AccountabilityService::List(
    const RequestContext& rc, const AccountabilityFilter& filter, const PageRequest& page) {
  const domain::User& user = rc.caller.user;
  store::AccountabilityQuery q;
  std::string scope;
  switch (user.role) {
    case Role::kGridLeader:
      q.user_id = user.user_id;
      break;
    case Role::kDepartmentStaff:
      q.department_code = user.department_code;
      q.or_user_id = user.user_id;
      break;
    case Role::kDispatcher:
    case Role::kSupervisor:
      scope = user.grid_code;
      break;
    case Role::kOperator:
      break;
    default:
      return absl::PermissionDeniedError("no accountability records for this role");
  }
  Micros start = 0, end = 0;
  if (auto s = MonthRange(filter.year, filter.month, rc.now, &start, &end); !s.ok()) return s;
  FieldViolations v;
  auto subtree = ListSubtree(org_, v, scope, filter.grid_code);
  if (!subtree.ok()) return subtree.status();
  const int size = page.page_size < 0    ? 0
                   : page.page_size == 0 ? 50
                                         : std::min(page.page_size, 500);
  if (page.page_size < 0) v.Add("page_size", "must not be negative");
  if (!v.empty()) return v.ToStatus();
  if (!subtree->empty()) {
    auto g = org_->FindGrid(*subtree);
    if (!g.ok()) return g.status();
    if (g->has_value()) q.subtree_grid_path = (*g)->path;
  }
  // Narrowing to another person than the one a role is limited to shows nothing.
  Page<domain::AccountabilityRecord> out;
  if (!filter.user_id.empty()) {
    if (user.role == Role::kGridLeader && filter.user_id != user.user_id) return out;
    q.user_id = filter.user_id;
    if (user.role == Role::kDepartmentStaff) q.or_user_id.clear();
  }
  auto computed = store_->AccountabilityComputeTime(filter.year, filter.month);
  if (!computed.ok()) return computed.status();
  if (!computed->has_value()) {
    auto made = ComputeMonth(filter.year, filter.month, start, end, rc.now);
    if (!made.ok()) return made.status();
  }
  q.year = filter.year;
  q.month = filter.month;
  q.rules = filter.rules;
  q.unit_code = filter.unit_code;
  q.include_inactive = filter.include_inactive;
  q.after_key = page.page_token;
  q.limit = size + 1;
  auto rows = store_->ListAccountabilityRecords(q);
  if (!rows.ok()) return rows.status();
  out.items = *std::move(rows);
  if (static_cast<int>(out.items.size()) > size) {
    out.items.resize(size);
    out.next_page_token = out.items.back().Key();
  }
  return out;
}

absl::StatusOr<std::vector<domain::AccountabilityRecord>> AccountabilityService::ActiveRecords(
    int year, int month, Micros now) {
  Micros start = 0, end = 0;
  if (auto s = MonthRange(year, month, now, &start, &end); !s.ok()) return s;
  auto computed = store_->AccountabilityComputeTime(year, month);
  if (!computed.ok()) return computed.status();
  if (!computed->has_value()) {
    auto made = ComputeMonth(year, month, start, end, now);
    if (!made.ok()) return made.status();
  }
  std::vector<domain::AccountabilityRecord> out;
  store::AccountabilityQuery q;
  q.year = year;
  q.month = month;
  q.limit = 1000;
  for (;;) {
    auto rows = store_->ListAccountabilityRecords(q);
    if (!rows.ok()) return rows.status();
    for (auto& r : *rows) out.push_back(std::move(r));
    if (static_cast<int>(rows->size()) < q.limit) return out;
    q.after_key = out.back().Key();
  }
}

absl::StatusOr<domain::AccountabilityRecord> AccountabilityService::Dismiss(
    const RequestContext& rc, const std::string& record_id, const std::string& reason,
    int64_t expected_version) {
  if (rc.caller.user.role != Role::kOperator) {
    return absl::PermissionDeniedError("accountability records are dismissed by operators");
  }
  FieldViolations v;
  CheckText(v, "reason", reason, true, kMaxDescriptionChars);
  if (!v.empty()) return v.ToStatus();
  auto record = store_->GetAccountabilityRecord(record_id);
  if (!record.ok()) return record.status();
  if (!record->has_value()) return absl::NotFoundError("accountability record not found");
  if ((*record)->status != domain::RecordStatus::kActive) {
    return domain::Precondition(
        "RECORD_STATUS",
        (*record)->status == domain::RecordStatus::kDismissed ? "DISMISSED" : "WITHDRAWN",
        "only an active record can be dismissed");
  }
  if (expected_version != 0 && expected_version != (*record)->version) {
    return absl::AbortedError(absl::StrCat("the record is at version ", (*record)->version));
  }
  return store_->DismissAccountabilityRecord(record_id, (*record)->version, reason,
                                             rc.caller.user.user_id, rc.now);
}

}  // namespace gridline::service
