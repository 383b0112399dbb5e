// Step 7 of the loop (综合评价): the evaluation figures of a grid subtree and/or a department over
// a time range, computed from the cases and their events. Definitions: gridline.v1.Statistics.
#ifndef GRIDLINE_SERVER_DOMAIN_STATISTICS_H_
#define GRIDLINE_SERVER_DOMAIN_STATISTICS_H_

#include <string>

#include "absl/status/statusor.h"
#include "server/domain/types.h"
#include "server/store/store.h"

namespace gridline::domain {

struct StatisticsQuery {
  std::string grid_code;        // empty: the whole platform
  std::string department_code;  // empty: any; else the case's (last) lead department
  Micros start_time = 0;
  Micros end_time = 0;  // 0: now
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
  Micros mean_handling_time = 0;
  int64_t mean_handling_sample_count = 0;
  int64_t open_overdue_count = 0;
};

// INVALID_ARGUMENT for an unknown grid or department, a missing start, start not before end, or a
// range over 366 days.
absl::StatusOr<Statistics> ComputeStatistics(store::Store* store, StatisticsQuery query,
                                             Micros now);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_STATISTICS_H_
