#include "server/domain/statistics.h"

#include <set>

#include "server/domain/errors.h"

namespace gridline::domain {
namespace {
constexpr Micros kDay = 86400LL * 1000 * 1000;
}  // namespace

absl::StatusOr<Statistics> ComputeStatistics(store::Store* store, StatisticsQuery q, Micros now) {
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

}  // namespace gridline::domain
