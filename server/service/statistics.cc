#include "server/service/statistics.h"

#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/domain/errors.h"
#include "server/domain/figures.h"
#include "server/service/domain_names.h"
#include "server/service/scope.h"

namespace gridline::service {

namespace {
constexpr Micros kDay = 86400LL * 1000 * 1000;

absl::Status Gone() {
  return absl::CancelledError("the call was cancelled or its deadline passed; the work stopped");
}

// The figures of a scope from its sums over [start, end) and its open cases past their deadline
// (with those late in the range).
Statistics Assemble(const StatisticsQuery& q, const FigureSums& sums,
                    const OpenOverdueCounts& overdue) {
  Statistics s;
  s.scope = q;
  s.found_count = sums[kFigFound];
  s.solved_count = sums[kFigSolved];
  s.due_count = sums[kFigDue];
  s.postponed_count = sums[kFigPostponed];
  s.closed_count = sums[kFigClosed];
  s.closed_on_time_count = sums[kFigOnTime];
  s.late_count = sums[kFigLateClosed] + overdue.late;
  s.resolved_count = sums[kFigResolved];
  s.reworked_count = sums[kFigReworked];
  s.mean_handling_sample_count = sums[kFigHandled];
  if (s.mean_handling_sample_count > 0) {
    s.mean_handling_time = sums[kFigHandlingSum] / s.mean_handling_sample_count;
  }
  s.open_overdue_count = overdue.overdue;
  return s;
}

}  // namespace

absl::StatusOr<Statistics> ComputeStatistics(store::OrganisationStore* org,
                                             store::FigureStore* figures, StatisticsQuery q,
                                             Micros now, const std::function<bool()>& gone) {
  if (q.end_time == 0) q.end_time = now;
  FieldViolations v;
  if (q.start_time == 0) {
    v.Add("start_time", "is required");
  } else if (q.start_time >= q.end_time) {
    v.Add("start_time", "must be before end_time");
  } else if (q.end_time - q.start_time > 366 * kDay) {
    v.Add("end_time", "the range may span at most 366 days");
  }
  store::FigureScope scope;
  store::FigureQuery sums_query;
  if (!q.grid_code.empty()) {
    auto g = org->FindGrid(q.grid_code);
    if (!g.ok()) return g.status();
    if (!g->has_value()) {
      v.Add("grid_code", "unknown grid " + q.grid_code);
    } else {
      scope.grid_path = (*g)->path;
      sums_query.node = q.grid_code;
    }
  }
  if (!q.department_code.empty()) {
    auto d = org->FindDepartment(q.department_code);
    if (!d.ok()) return d.status();
    if (!d->has_value()) v.Add("department_code", "unknown department " + q.department_code);
    scope.department_code = q.department_code;
    sums_query.department_code = q.department_code;
  }
  if (static_cast<int>(q.source) < 0 ||
      static_cast<int>(q.source) > static_cast<int>(CaseSource::kInspection)) {
    v.Add("source", "is not a known case source");
  }
  if (!v.empty()) return v.ToStatus();
  if (q.source != CaseSource::kUnspecified) {
    // By source: every case with a figure time in the range, counted one by one.
    scope.source = q.source;
    if (gone && gone()) return Gone();
    auto facts = figures->FigureFactsWithin(scope, {{q.start_time, q.end_time}});
    if (!facts.ok()) return facts.status();
    FigureSums sums{};
    for (const FigureFacts& f : *facts) {
      const FigureSums one = SumTerms(FigureTerms(f), q.start_time, q.end_time);
      for (int i = 0; i < kFigureColumns; ++i) sums[i] += one[i];
    }
    if (gone && gone()) return Gone();
    auto open = figures->CountOpenOverdue(scope, 1, now, q.start_time, q.end_time);
    if (!open.ok()) return open.status();
    OpenOverdueCounts overdue;
    for (const store::OverdueGroup& g : *open) overdue += {g.overdue, g.late};
    return Assemble(q, sums, overdue);
  }

  // The whole days the range covers come pre-added from the store: [day_start, day_end) with
  // day_start <= start and day_end <= end, the days that start and end fall in.
  const int offset = figures->FiguresUtcOffsetMinutes();
  sums_query.first_day = FigureDay(q.start_time, offset);
  sums_query.end_day = FigureDay(q.end_time, offset);
  const Micros day_start = FigureDayStart(sums_query.first_day, offset);
  const Micros day_end = FigureDayStart(sums_query.end_day, offset);
  // Open cases past their deadline: those due before today from the store's counts by day, the
  // ones due today so far counted one by one.
  const int64_t today = FigureDay(now, offset);
  const Micros today_start = FigureDayStart(today, offset);
  if (gone && gone()) return Gone();
  auto summed = figures->SumFigures(sums_query);
  if (!summed.ok()) return summed.status();
  FigureSums sums = *summed;
  auto open = figures->SumOpenOverdue(sums_query, today);
  if (!open.ok()) return open.status();
  OpenOverdueCounts overdue = *open;
  // Exact ends: the cases with a time in [day_start, start) or [day_end, end) are the only ones
  // whose terms (and, of those due before today, whose lateness) differ between the two ranges;
  // recount them.
  std::vector<std::pair<Micros, Micros>> edges;
  if (day_start < q.start_time) edges.emplace_back(day_start, q.start_time);
  if (day_end < q.end_time) edges.emplace_back(day_end, q.end_time);
  if (!edges.empty()) {
    if (gone && gone()) return Gone();
    auto touching = figures->FigureFactsWithin(scope, edges);
    if (!touching.ok()) return touching.status();
    for (const FigureFacts& f : *touching) {
      const std::vector<FigureTerm> terms = FigureTerms(f);
      const FigureSums exact = SumTerms(terms, q.start_time, q.end_time);
      const FigureSums whole_days = SumTerms(terms, day_start, day_end);
      for (int i = 0; i < kFigureColumns; ++i) sums[i] += exact[i] - whole_days[i];
      if (f.deadline_time < today_start) {
        overdue.late += OpenOverdueOf(f, q.start_time, q.end_time, now).late -
                        OpenOverdueOf(f, day_start, day_end, today_start).late;
      }
    }
  }
  if (gone && gone()) return Gone();
  auto due_today = figures->CountOpenOverdue(scope, today_start, now, q.start_time, q.end_time);
  if (!due_today.ok()) return due_today.status();
  for (const store::OverdueGroup& g : *due_today) overdue += {g.overdue, g.late};
  return Assemble(q, sums, overdue);
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
  if (t.black_accountability_weight > 0 &&
      s.accountability_weight >= t.black_accountability_weight) {
    say(absl::StrFormat("accountability_weight %.1f >= %.1f (black)", s.accountability_weight,
                        t.black_accountability_weight));
    return Flag::kBlack;
  }
  // The further conditions of red, each naming its figure when it fails.
  if (t.red_max_accountability_weight &&
      s.accountability_weight > *t.red_max_accountability_weight && on_time >= t.red_on_time_rate &&
      rework <= t.red_rework_rate) {
    say(absl::StrFormat("accountability_weight %.1f > %.1f (yellow)", s.accountability_weight,
                        *t.red_max_accountability_weight));
    return Flag::kYellow;
  }
  if (t.red_min_patrol_coverage > 0 && s.patrol_coverage &&
      *s.patrol_coverage < t.red_min_patrol_coverage && on_time >= t.red_on_time_rate &&
      rework <= t.red_rework_rate) {
    say(absl::StrFormat("patrol_coverage %.2f < %.2f (yellow)", *s.patrol_coverage,
                        t.red_min_patrol_coverage));
    return Flag::kYellow;
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

absl::StatusOr<std::vector<Evaluation>> EvaluateMonth(store::OrganisationStore* org,
                                                      store::FigureStore* figures, int year,
                                                      int month, const FlagThresholds& t,
                                                      Micros now, const std::function<bool()>& gone,
                                                      const EvaluationExtras& extras,
                                                      CaseSource source) {
  if (month < 1 || month > 12) return InvalidField("month", "must be within 1..12");
  const absl::TimeZone zone = absl::FixedTimeZone(t.utc_offset_minutes * 60);
  const absl::Time start = absl::FromCivil(absl::CivilMonth(year, month), zone);
  const absl::Time end = absl::FromCivil(absl::CivilMonth(year, month) + 1, zone);
  if (end > absl::FromUnixMicros(now)) {
    return InvalidField("month", "has not ended yet; months are evaluated once they are over");
  }
  std::vector<std::tuple<UnitKind, std::string, std::string>> units;
  auto grids = org->ListGrids();
  if (!grids.ok()) return grids.status();
  for (const auto& g : *grids) {
    if (g.level == GridLevel::kStreet || g.level == GridLevel::kCommunity ||
        g.level == GridLevel::kCell) {
      units.emplace_back(UnitKind::kGrid, g.code, g.name);
    }
  }
  auto depts = org->ListDepartments();
  if (!depts.ok()) return depts.status();
  for (const auto& d : *depts) units.emplace_back(UnitKind::kDepartment, d.code, d.name);
  // When the store's days are days of this zone, a month is whole days: every unit's sums come
  // from two grouped reads, and the open overdue cases from one. Otherwise each unit is
  // computed alone (exact, slower).
  const Micros month_start = absl::ToUnixMicros(start);
  const Micros month_end = absl::ToUnixMicros(end);
  const int offset = figures->FiguresUtcOffsetMinutes();
  // By source there are no stored sums: each unit is counted from its cases.
  const bool whole_days = offset == t.utc_offset_minutes && source == CaseSource::kUnspecified;
  std::map<std::string, FigureSums> by_node, by_department;
  std::map<std::string, OpenOverdueCounts> overdue_by_node, overdue_by_department;
  if (whole_days) {
    using Grouping = store::FigureStore::FigureGrouping;
    const int64_t first_day = FigureDay(month_start, offset);
    const int64_t end_day = FigureDay(month_end, offset);
    const int64_t today = FigureDay(now, offset);
    if (gone && gone()) return Gone();
    auto nodes = figures->SumFiguresGrouped(Grouping::kByNode, first_day, end_day);
    if (!nodes.ok()) return nodes.status();
    by_node = *std::move(nodes);
    auto departments = figures->SumFiguresGrouped(Grouping::kByDepartment, first_day, end_day);
    if (!departments.ok()) return departments.status();
    by_department = *std::move(departments);
    if (gone && gone()) return Gone();
    auto open_nodes = figures->SumOpenOverdueGrouped(Grouping::kByNode, first_day, end_day, today);
    if (!open_nodes.ok()) return open_nodes.status();
    overdue_by_node = *std::move(open_nodes);
    auto open_departments =
        figures->SumOpenOverdueGrouped(Grouping::kByDepartment, first_day, end_day, today);
    if (!open_departments.ok()) return open_departments.status();
    overdue_by_department = *std::move(open_departments);
    auto due_today = figures->CountOpenOverdue(store::FigureScope(), FigureDayStart(today, offset),
                                               now, month_start, month_end);
    if (!due_today.ok()) return due_today.status();
    for (const store::OverdueGroup& g : *due_today) {
      for (const std::string& node : FigureNodes(g.grid_path)) {
        overdue_by_node[node] += {g.overdue, g.late};
      }
      overdue_by_department[g.lead_department_code] += {g.overdue, g.late};
    }
  }
  // 三责 and patrols, only when thresholds count them (reading them costs a query per unit).
  std::vector<domain::AccountabilityRecord> records;
  if (t.CountsAccountability() && extras.records) {
    auto r = extras.records(year, month);
    if (!r.ok()) return r.status();
    records = *std::move(r);
  }
  std::map<std::string, std::string> path_of;
  std::vector<domain::User> leaders;
  const bool coverage = t.red_min_patrol_coverage > 0 && extras.patrols != nullptr;
  if (t.CountsAccountability() || coverage) {
    for (const auto& g : *grids) path_of[g.code] = g.path;
  }
  if (coverage) {
    auto loaded = org->LoadOrganisation();
    if (!loaded.ok()) return loaded.status();
    for (const auto& u : loaded->users) {
      if (u.role == Role::kGridLeader && !u.disabled) leaders.push_back(u);
    }
  }
  const int64_t days_in_month = (month_end - month_start + kDay / 2) / kDay;
  std::vector<Evaluation> out;
  for (const auto& [kind, code, name] : units) {
    StatisticsQuery q;
    (kind == UnitKind::kGrid ? q.grid_code : q.department_code) = code;
    q.start_time = month_start;
    q.end_time = month_end;
    q.source = source;
    absl::StatusOr<Statistics> s;
    if (whole_days) {
      auto& sums = kind == UnitKind::kGrid ? by_node : by_department;
      auto& open = kind == UnitKind::kGrid ? overdue_by_node : overdue_by_department;
      s = Assemble(q, sums[code], open[code]);
    } else {
      s = ComputeStatistics(org, figures, q, now, gone);
    }
    if (!s.ok()) return s.status();
    if (s->found_count == 0 && s->due_count == 0 && s->resolved_count == 0) continue;
    if (!records.empty()) {
      const std::string fence = absl::StrCat("/", code, "/");
      for (const auto& r : records) {
        const bool mine = kind == UnitKind::kGrid ? r.grid_path.find(fence) != std::string::npos
                                                  : r.department_code == code;
        if (mine) s->accountability_weight += r.weight;
      }
    }
    if (coverage && kind == UnitKind::kGrid) {
      const std::string& path = path_of[code];
      int64_t unit_leaders = 0;
      for (const auto& u : leaders) {
        auto p = path_of.find(u.grid_code);
        if (p != path_of.end() && absl::StartsWith(p->second, path)) ++unit_leaders;
      }
      if (unit_leaders > 0) {
        store::PatrolQuery pq;
        pq.subtree_grid_path = path;
        pq.role = Role::kGridLeader;
        auto days = extras.patrols->CountPatrolDays(pq, month_start, month_end);
        if (!days.ok()) return days.status();
        s->patrol_coverage =
            static_cast<double>(*days) / static_cast<double>(unit_leaders * days_in_month);
      }
    }
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

absl::StatusOr<Statistics> StatisticsFor(const RequestContext& rc, store::OrganisationStore* org,
                                         store::FigureStore* figures, StatisticsQuery query,
                                         store::SupervisionStore* supervision) {
  auto grid_code = FiguresSubtree(org, rc.caller, query.grid_code);
  if (!grid_code.ok()) return grid_code.status();
  query.grid_code = *std::move(grid_code);
  auto s = ComputeStatistics(org, figures, std::move(query), rc.now, rc.gone);
  if (!s.ok() || supervision == nullptr) return s;
  std::string path;
  if (!s->scope.grid_code.empty()) {
    auto g = org->FindGrid(s->scope.grid_code);
    if (!g.ok()) return g.status();
    if (g->has_value()) path = (*g)->path;
  }
  auto counts = supervision->CountSupervisionOrders(path, s->scope.department_code,
                                                    s->scope.start_time, s->scope.end_time);
  if (!counts.ok()) return counts.status();
  s->supervision = *counts;
  return s;
}

}  // namespace gridline::service
