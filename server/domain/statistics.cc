#include "server/domain/statistics.h"

#include <set>
#include <tuple>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/domain/errors.h"

namespace gridline::domain {
namespace {
constexpr Micros kDay = 86400LL * 1000 * 1000;

absl::Status Gone() {
  return absl::CancelledError("the call was cancelled or its deadline passed; the work stopped");
}

}  // namespace

absl::StatusOr<Statistics> ComputeStatistics(store::Store* store, StatisticsQuery q, Micros now,
                                             const std::function<bool()>& gone) {
  if (q.end_time == 0) q.end_time = now;
  FieldViolations v;
  if (q.start_time == 0) {
    v.Add("start_time", "is required");
  } else if (q.start_time >= q.end_time) {
    v.Add("start_time", "must be before end_time");
  } else if (q.end_time - q.start_time > 366 * kDay) {
    v.Add("end_time", "the range may span at most 366 days");
  }
  if (!q.grid_code.empty()) {
    auto g = store->FindGrid(q.grid_code);
    if (!g.ok()) return g.status();
    if (!g->has_value()) v.Add("grid_code", "unknown grid " + q.grid_code);
  }
  if (!q.department_code.empty()) {
    auto d = store->FindDepartment(q.department_code);
    if (!d.ok()) return d.status();
    if (!d->has_value()) v.Add("department_code", "unknown department " + q.department_code);
  }
  if (!v.empty()) return v.ToStatus();

  // Every case in scope, page by page. Rejected and merged cases never count.
  store::CaseQuery cq;
  cq.subtree_grid_code = q.grid_code;
  cq.department_code = q.department_code;
  cq.states = {CaseState::kPendingTriage, CaseState::kDispatched, CaseState::kInProgress,
               CaseState::kReturned,      CaseState::kResolved,   CaseState::kClosed};
  cq.order = store::CaseQuery::Order::kNewestFirst;
  cq.limit = 1000;
  Statistics s;
  s.scope = q;
  std::set<std::string> in_scope;
  Micros handling_total = 0;
  auto in_range = [&](Micros t) { return t != 0 && t >= q.start_time && t < q.end_time; };
  while (true) {
    if (gone && gone()) return Gone();
    auto page = store->ListCases(cq);
    if (!page.ok()) return page.status();
    for (const Case& c : *page) {
      in_scope.insert(c.case_id);
      const bool closed = c.state == CaseState::kClosed;
      if (in_range(c.filed_time)) {
        ++s.found_count;
        if (closed && c.closed_time < q.end_time) ++s.solved_count;
      }
      if (in_range(c.first_deadline_time)) {
        ++s.due_count;
        if (c.deadline_time >= q.end_time && c.deadline_time != c.first_deadline_time) {
          ++s.postponed_count;
        } else if (closed) {
          ++s.closed_count;
          if (c.closed_time <= c.deadline_time) {
            ++s.closed_on_time_count;
          } else {
            ++s.late_count;
          }
        } else if (c.deadline_time < now) {
          ++s.late_count;  // open past its deadline counts as late
        }
      }
      if (closed && in_range(c.closed_time) && c.filed_time != 0) {
        handling_total += c.closed_time - c.filed_time;
        ++s.mean_handling_sample_count;
      }
      if (!closed && c.deadline_time != 0 && c.deadline_time < now) ++s.open_overdue_count;
    }
    if (static_cast<int>(page->size()) < cq.limit) break;
    cq.has_after = true;
    cq.after_key = store::SortKey(page->back(), cq.order);
    cq.after_case_id = page->back().case_id;
  }
  if (s.mean_handling_sample_count > 0) {
    s.mean_handling_time = handling_total / s.mean_handling_sample_count;
  }
  auto resolved = store->CasesWithEvent(EventType::kCaseResolved, q.start_time, q.end_time);
  if (!resolved.ok()) return resolved.status();
  auto failed = store->CasesWithEvent(EventType::kVerificationFailed, q.start_time, q.end_time);
  if (!failed.ok()) return failed.status();
  std::set<std::string> reworked(failed->begin(), failed->end());
  for (const auto& id : *resolved) {
    if (!in_scope.count(id)) continue;
    ++s.resolved_count;
    if (reworked.count(id)) ++s.reworked_count;
  }
  return s;
}

namespace {
std::optional<double> Ratio(int64_t numerator, int64_t denominator) {
  if (denominator <= 0) return std::nullopt;
  return static_cast<double>(numerator) / static_cast<double>(denominator);
}
}  // namespace

std::optional<double> DisposalRate(const Statistics& s) {
  return Ratio(s.solved_count, s.found_count);
}
std::optional<double> ClosureRate(const Statistics& s) {
  return Ratio(s.closed_count, s.due_count - s.postponed_count);
}
std::optional<double> OnTimeRate(const Statistics& s) {
  return Ratio(s.closed_on_time_count, s.due_count - s.postponed_count);
}
std::optional<double> ReworkRate(const Statistics& s) {
  return Ratio(s.reworked_count, s.resolved_count);
}

Flag FlagFor(const Statistics& s, const FlagThresholds& t, std::string* explanation) {
  const std::optional<double> on_time_rate = OnTimeRate(s);
  const std::optional<double> rework_rate = ReworkRate(s);
  const bool has_on_time = on_time_rate.has_value();
  const bool has_rework = rework_rate.has_value();
  // No figure fails no threshold: as if on time and without rework.
  const double on_time = on_time_rate.value_or(1.0);
  const double rework = rework_rate.value_or(0.0);
  auto say = [&](std::string text) {
    if (explanation) *explanation = std::move(text);
  };
  if (has_on_time && on_time < t.black_on_time_rate) {
    say(absl::StrFormat("on_time_rate %.2f < %.2f (black)", on_time, t.black_on_time_rate));
    return Flag::kBlack;
  }
  if (has_rework && rework > t.black_rework_rate) {
    say(absl::StrFormat("rework_rate %.2f > %.2f (black)", rework, t.black_rework_rate));
    return Flag::kBlack;
  }
  if (on_time >= t.red_on_time_rate && rework <= t.red_rework_rate) {
    say(absl::StrFormat("on_time_rate %.2f >= %.2f and rework_rate %.2f <= %.2f (red)", on_time,
                        t.red_on_time_rate, rework, t.red_rework_rate));
    return Flag::kRed;
  }
  say(on_time < t.red_on_time_rate
          ? absl::StrFormat("on_time_rate %.2f < %.2f (yellow)", on_time, t.red_on_time_rate)
          : absl::StrFormat("rework_rate %.2f > %.2f (yellow)", rework, t.red_rework_rate));
  return Flag::kYellow;
}

absl::StatusOr<std::vector<Evaluation>> EvaluateMonth(store::Store* store, int year, int month,
                                                      const FlagThresholds& t, Micros now,
                                                      const std::function<bool()>& gone) {
  if (month < 1 || month > 12) return InvalidField("month", "must be within 1..12");
  const absl::TimeZone zone = absl::FixedTimeZone(t.utc_offset_minutes * 60);
  const absl::Time start = absl::FromCivil(absl::CivilMonth(year, month), zone);
  const absl::Time end = absl::FromCivil(absl::CivilMonth(year, month) + 1, zone);
  if (end > absl::FromUnixMicros(now)) {
    return InvalidField("month", "has not ended yet; months are evaluated once they are over");
  }
  std::vector<std::tuple<UnitKind, std::string, std::string>> units;
  auto grids = store->ListGrids();
  if (!grids.ok()) return grids.status();
  for (const auto& g : *grids) {
    if (g.level == GridLevel::kStreet || g.level == GridLevel::kCommunity ||
        g.level == GridLevel::kCell) {
      units.emplace_back(UnitKind::kGrid, g.code, g.name);
    }
  }
  auto depts = store->ListDepartments();
  if (!depts.ok()) return depts.status();
  for (const auto& d : *depts) units.emplace_back(UnitKind::kDepartment, d.code, d.name);
  std::vector<Evaluation> out;
  for (const auto& [kind, code, name] : units) {
    StatisticsQuery q;
    (kind == UnitKind::kGrid ? q.grid_code : q.department_code) = code;
    q.start_time = absl::ToUnixMicros(start);
    q.end_time = absl::ToUnixMicros(end);
    auto s = ComputeStatistics(store, q, now, gone);
    if (!s.ok()) return s.status();
    if (s->found_count == 0 && s->due_count == 0 && s->resolved_count == 0) continue;
    Evaluation e;
    e.unit_kind = kind;
    e.unit_code = code;
    e.unit_name = name;
    e.year = year;
    e.month = month;
    e.statistics = *s;
    e.flag = FlagFor(*s, t, &e.explanation);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace gridline::domain
