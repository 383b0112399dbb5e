// Step 7 of the loop (综合评价): the evaluation figures of a grid subtree and/or a department over
// a time range, computed from the cases and their events. Definitions: gridline.v1.Statistics.
#ifndef GRIDLINE_SERVER_SERVICE_STATISTICS_H_
#define GRIDLINE_SERVER_SERVICE_STATISTICS_H_

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/types.h"
#include "server/service/request_context.h"
#include "server/store/store.h"

namespace gridline::service {

struct StatisticsQuery {
  std::string grid_code;        // empty: the whole platform
  std::string department_code;  // empty: any; else the case's (last) lead department
  domain::Micros start_time = 0;
  domain::Micros end_time = 0;  // 0: now
  // Only cases from this source (kUnspecified: any). Counted from the cases of the range rather
  // than from the stored sums, so slower on a long range.
  domain::CaseSource source = domain::CaseSource::kUnspecified;
};

struct Statistics {
  StatisticsQuery scope;  // as resolved (end filled in)
  int64_t found_count = 0;
  int64_t solved_count = 0;
  int64_t due_count = 0;
  int64_t postponed_count = 0;
  int64_t closed_count = 0;
  int64_t closed_on_time_count = 0;
  int64_t late_count = 0;
  int64_t resolved_count = 0;
  int64_t reworked_count = 0;
  domain::Micros mean_handling_time = 0;
  int64_t mean_handling_sample_count = 0;
  int64_t open_overdue_count = 0;
  // Supervision orders issued in the range (GetStatistics only; the monthly ratings leave it 0).
  domain::SupervisionCounts supervision;
  // The monthly ratings only, when their thresholds are set (FlagThresholds): the weight of the
  // unit's active 三责 records, and a grid unit's patrol coverage.
  double accountability_weight = 0;
  std::optional<double> patrol_coverage;
};

enum class Flag { kUnspecified = 0, kRed = 1, kYellow = 2, kBlack = 3 };
enum class UnitKind { kUnspecified = 0, kGrid = 1, kDepartment = 2 };

struct FlagThresholds {
  double red_on_time_rate = 0.95;
  double black_on_time_rate = 0.80;
  double red_rework_rate = 0.05;
  double black_rework_rate = 0.20;
  int utc_offset_minutes = 480;
  // 0: not counted. See ServerConfig.evaluation.
  double black_accountability_weight = 0;
  std::optional<double> red_max_accountability_weight;
  double red_min_patrol_coverage = 0;
  bool CountsAccountability() const {
    return black_accountability_weight > 0 || red_max_accountability_weight.has_value();
  }
};

// What the monthly ratings may count beyond the case figures (EvaluateMonth): the month's active
// 三责 records and the grid leaders' patrol days in a subtree. Either may be null.
struct EvaluationExtras {
  std::function<absl::StatusOr<std::vector<domain::AccountabilityRecord>>(int year, int month)>
      records;
  store::PatrolStore* patrols = nullptr;
};

// One unit's 三色旗 for a month, with the figures behind it.
struct Evaluation {
  UnitKind unit_kind = UnitKind::kUnspecified;
  std::string unit_code;
  std::string unit_name;
  int year = 0;
  int month = 0;
  Flag flag = Flag::kUnspecified;
  Statistics statistics;
  std::string explanation;
};

// The four rates, each the one definition that statistics, flags and every client share:
// nullopt when the denominator is 0 ("no figure", never 0.0).
std::optional<double> DisposalRate(const Statistics& s);  // 处置率 = solved / found
std::optional<double> ClosureRate(const Statistics& s);   // 结案率 = closed / (due - postponed)
std::optional<double> OnTimeRate(const Statistics& s);  // 按期结案率 = on time / (due - postponed)
std::optional<double> ReworkRate(const Statistics& s);  // 返工率 = reworked / resolved

// The flag a unit's figures earn (see ServerConfig.evaluation), and which threshold decided it.
// A rate with no figure fails no threshold.
Flag FlagFor(const Statistics& s, const FlagThresholds& t, std::string* explanation);

// The monthly ratings of every street, community and cell and every department with any case
// activity in the month (found, due or resolved), ordered by kind, then code. INVALID_ARGUMENT for
// a month out of 1..12 or one that has not ended.
absl::StatusOr<std::vector<Evaluation>> EvaluateMonth(
    store::OrganisationStore* org, store::FigureStore* figures, int year, int month,
    const FlagThresholds& thresholds, domain::Micros now, const std::function<bool()>& gone = {},
    const EvaluationExtras& extras = {},
    domain::CaseSource source = domain::CaseSource::kUnspecified);

// INVALID_ARGUMENT for an unknown grid or department, a missing start, start not before end, or a
// range over 366 days. CANCELLED as soon as `gone` (checked between store reads) says nobody
// waits for the answer any more.
absl::StatusOr<Statistics> ComputeStatistics(store::OrganisationStore* org,
                                             store::FigureStore* figures, StatisticsQuery query,
                                             domain::Micros now,
                                             const std::function<bool()>& gone = {});

// GetStatistics as `rc.caller` asks for it: ComputeStatistics over the subtree FiguresSubtree
// allows them (a supervisor's own grid when `query.grid_code` is empty).
// With `supervision` (may be null) it also counts the supervision orders of the scope and range.
absl::StatusOr<Statistics> StatisticsFor(const RequestContext& rc, store::OrganisationStore* org,
                                         store::FigureStore* figures, StatisticsQuery query,
                                         store::SupervisionStore* supervision = nullptr);

}  // namespace gridline::service

#endif  // GRIDLINE_SERVER_SERVICE_STATISTICS_H_
