#include "server/domain/accountability.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "server/domain/report_checks.h"

namespace gridline::domain {
namespace {

bool Counts(const AccountabilityCase& c) {
  return c.state != CaseState::kRejected && c.state != CaseState::kMerged &&
         c.state != CaseState::kUnspecified;
}

// Close enough: within `radius` when both have a fix (the boundary counts as within), else in
// the same grid.
bool Near(const AccountabilityCase& a, const AccountabilityCase& b, double radius) {
  if (a.has_coordinates && b.has_coordinates) {
    return DistanceMetres(a.latitude, a.longitude, b.latitude, b.longitude) <= radius;
  }
  return a.grid_code == b.grid_code;
}

double WeightOf(const AccountabilityRules& rules, CaseSource source) {
  switch (source) {
    case CaseSource::kLeader:
      return rules.leader_weight;
    case CaseSource::kMedia:
      return rules.media_weight;
    case CaseSource::kPublic:
      return rules.public_weight;
    default:
      return 1;
  }
}

class Builder {
 public:
  Builder(const AccountabilityRules& rules, int year, int month)
      : rules_(rules), year_(year), month_(month) {}

  void Add(AccountabilityRule rule, AccountabilityUnitKind kind, const std::string& unit,
           const std::string& user, const AccountabilityCase& about,
           std::vector<std::string> more_cases, const std::string& department,
           const std::string& why) {
    AccountabilityRecord r;
    r.year = year_;
    r.month = month_;
    r.rule = rule;
    r.unit_kind = kind;
    r.unit_code = unit;
    r.user_id = user;
    r.case_ids.push_back(about.case_id);
    for (auto& id : more_cases) r.case_ids.push_back(std::move(id));
    r.weight = WeightOf(rules_, about.source);
    r.explanation = r.weight != 1 ? absl::StrCat(why, "; 重责 ×", r.weight, " (",
                                                 CaseSourceName(about.source), ")")
                                  : why;
    r.grid_path = about.grid_path;
    r.department_code = department;
    out_.push_back(std::move(r));
  }

  std::vector<AccountabilityRecord> Take() {
    std::sort(out_.begin(), out_.end(), [](const auto& a, const auto& b) {
      return std::tie(a.rule, a.unit_kind, a.unit_code, a.user_id, a.case_ids) <
             std::tie(b.rule, b.unit_kind, b.unit_code, b.user_id, b.case_ids);
    });
    return std::move(out_);
  }

 private:
  const AccountabilityRules& rules_;
  int year_;
  int month_;
  std::vector<AccountabilityRecord> out_;
};

}  // namespace

const char* AccountabilityRuleName(AccountabilityRule r) {
  switch (r) {
    case AccountabilityRule::kShouldHaveFound:
      return "SHOULD_HAVE_FOUND";
    case AccountabilityRule::kShouldHaveReported:
      return "SHOULD_HAVE_REPORTED";
    case AccountabilityRule::kShouldHaveHandled:
      return "SHOULD_HAVE_HANDLED";
    case AccountabilityRule::kFixedAndBack:
      return "FIXED_AND_BACK";
    default:
      return "UNSPECIFIED";
  }
}

std::string AccountabilityRecord::Key() const {
  return absl::StrCat(static_cast<int>(rule), "|", static_cast<int>(unit_kind), "|", unit_code, "|",
                      user_id, "|", case_ids.empty() ? "" : case_ids.front());
}

std::vector<AccountabilityRecord> ComputeAccountability(
    const AccountabilityRules& rules, const AccountabilityOrg& org,
    const std::vector<AccountabilityCase>& cases, int year, int month, Micros start, Micros end) {
  Builder b(rules, year, month);
  auto in_month = [&](Micros t) { return t >= start && t < end; };

  // 同责 · 应发现未发现: a report from outside the grid system with no handset report of the
  // same category nearby shortly before falls on the cell's grid leaders and stationed staff.
  for (const AccountabilityCase& x : cases) {
    if (!Counts(x) || !in_month(x.create_time) || x.source == CaseSource::kHandset ||
        x.source == CaseSource::kUnspecified) {
      continue;
    }
    bool found = false;
    for (const AccountabilityCase& h : cases) {
      if (h.case_id == x.case_id || h.source != CaseSource::kHandset ||
          h.state == CaseState::kRejected || h.category_code != x.category_code) {
        continue;
      }
      if (h.observe_time < x.observe_time - rules.find_window || h.observe_time > x.observe_time) {
        continue;
      }
      if (Near(h, x, rules.find_radius_metres)) {
        found = true;
        break;
      }
    }
    if (found) continue;
    const std::string why =
        absl::StrCat("应发现未发现: a ", CaseSourceName(x.source), " report of ", x.category_code,
                     " with no handset report within ", rules.find_radius_metres, " m in the ",
                     rules.find_window / 3600000000, " h before");
    bool anyone = false;
    for (const User& u : org.users) {
      if (u.disabled || u.grid_code != x.grid_code) continue;
      if (u.role != Role::kGridLeader && u.role != Role::kDepartmentStaff) continue;
      b.Add(AccountabilityRule::kShouldHaveFound, AccountabilityUnitKind::kGrid, x.grid_code,
            u.user_id, x, {}, u.role == Role::kDepartmentStaff ? u.department_code : "", why);
      anyone = true;
    }
    if (!anyone) {
      b.Add(AccountabilityRule::kShouldHaveFound, AccountabilityUnitKind::kGrid, x.grid_code, "", x,
            {}, "", why);
    }
  }

  // 同责 · 应上报未上报: a report left in triage past the center's limit falls on the center:
  // the nearest grid up the case's path where a dispatcher works.
  for (const AccountabilityCase& x : cases) {
    const Micros due = x.create_time + rules.triage_limit;
    if (!in_month(due) || (x.triage_end_time != 0 && x.triage_end_time <= due)) continue;
    std::vector<std::string> path = absl::StrSplit(x.grid_path, '/', absl::SkipEmpty());
    std::string center = path.empty() ? x.grid_code : path.front();
    for (auto it = path.rbegin(); it != path.rend(); ++it) {
      const bool staffed = std::any_of(org.users.begin(), org.users.end(), [&](const User& u) {
        return !u.disabled && u.role == Role::kDispatcher && u.grid_code == *it;
      });
      if (staffed) {
        center = *it;
        break;
      }
    }
    b.Add(AccountabilityRule::kShouldHaveReported, AccountabilityUnitKind::kCenter, center, "", x,
          {}, "",
          absl::StrCat("应上报未上报: in triage longer than ", rules.triage_limit / 60000000,
                       " min"));
  }

  // 同责 · 应处置未处置: a case overdue at the month's end, or closed late in the month, falls on
  // its lead department and the department's staff stationed over the case (street level or
  // below).
  for (const AccountabilityCase& x : cases) {
    if (!Counts(x) || x.lead_department_code.empty() || x.deadline_time == 0) continue;
    const bool open_at_end = x.create_time < end && x.deadline_time < end &&
                             (x.state != CaseState::kClosed || x.closed_time >= end);
    const bool closed_late =
        x.state == CaseState::kClosed && in_month(x.closed_time) && x.closed_time > x.deadline_time;
    if (!open_at_end && !closed_late) continue;
    const std::string why = open_at_end ? "应处置未处置: overdue at the month's end"
                                        : "应处置未处置: closed after its deadline";
    const std::string& dept = x.lead_department_code;
    b.Add(AccountabilityRule::kShouldHaveHandled, AccountabilityUnitKind::kDepartment, dept, "", x,
          {}, dept, why);
    for (const User& u : org.users) {
      if (u.disabled || u.role != Role::kDepartmentStaff || u.department_code != dept) continue;
      auto g = org.grids.find(u.grid_code);
      if (g == org.grids.end() ||
          static_cast<int>(g->second.level) < static_cast<int>(GridLevel::kStreet)) {
        continue;
      }
      if (!PathHasGrid(x.grid_path, u.grid_code)) continue;
      b.Add(AccountabilityRule::kShouldHaveHandled, AccountabilityUnitKind::kDepartment, dept,
            u.user_id, x, {}, dept, why);
    }
  }

  // 连责 · 制而又返: a new case of the same category close to one closed shortly before falls on
  // the department that closed the first, and on its leader in charge.
  for (const AccountabilityCase& x : cases) {
    if (!Counts(x) || !in_month(x.create_time)) continue;
    const AccountabilityCase* last = nullptr;
    for (const AccountabilityCase& y : cases) {
      if (y.case_id == x.case_id || y.state != CaseState::kClosed ||
          y.category_code != x.category_code || y.lead_department_code.empty()) {
        continue;
      }
      if (y.closed_time < x.create_time - rules.recurrence_window ||
          y.closed_time >= x.create_time) {
        continue;
      }
      if (!Near(x, y, rules.recurrence_radius_metres)) continue;
      if (last == nullptr || y.closed_time > last->closed_time) last = &y;
    }
    if (last == nullptr) continue;
    const std::string& dept = last->lead_department_code;
    const std::string why =
        absl::StrCat("制而又返: ", x.category_code, " again within ",
                     rules.recurrence_radius_metres, " m of case ", last->case_id, ", closed ",
                     (x.create_time - last->closed_time) / 86400000000, " days before");
    b.Add(AccountabilityRule::kFixedAndBack, AccountabilityUnitKind::kDepartment, dept, "", x,
          {last->case_id}, dept, why);
    auto d = org.departments.find(dept);
    if (d != org.departments.end() && !d->second.leader_user_id.empty()) {
      b.Add(AccountabilityRule::kFixedAndBack, AccountabilityUnitKind::kDepartment, dept,
            d->second.leader_user_id, x, {last->case_id}, dept, why);
    }
  }
  return b.Take();
}

}  // namespace gridline::domain
