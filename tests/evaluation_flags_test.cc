// The 三色旗 rule (service::FlagFor) on its own: the case-figure thresholds, and the 三责 and
// patrol thresholds issue 14 adds, each explained by the figure that decided.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "server/service/statistics.h"

namespace gridline::service {
namespace {

Statistics Good() {
  Statistics s;
  s.due_count = 100;
  s.closed_count = 98;
  s.closed_on_time_count = 97;  // on-time 0.97
  s.resolved_count = 100;
  s.reworked_count = 2;  // rework 0.02
  return s;
}

TEST(EvaluationFlags, AccountabilityAndPatrolThresholdsDecideAndAreNamed) {
  FlagThresholds off;
  FlagThresholds on;
  on.black_accountability_weight = 5;
  on.red_max_accountability_weight = 1;
  on.red_min_patrol_coverage = 0.6;
  struct Row {
    const char* name;
    FlagThresholds t;
    double weight;
    std::optional<double> coverage;
    Flag flag;
    std::string explanation;
  };
  const std::vector<Row> rows = {
      {"not counted: the case figures alone", off, 50, 0.1, Flag::kRed,
       "on_time_rate 0.97 >= 0.95 and rework_rate 0.02 <= 0.05 (red)"},
      {"heavy records make it black", on, 5, 0.9, Flag::kBlack,
       "accountability_weight 5.0 >= 5.0 (black)"},
      {"records over the red limit make it yellow", on, 2, 0.9, Flag::kYellow,
       "accountability_weight 2.0 > 1.0 (yellow)"},
      {"too little patrolling makes it yellow", on, 1, 0.5, Flag::kYellow,
       "patrol_coverage 0.50 < 0.60 (yellow)"},
      {"no coverage figure (a department) fails nothing", on, 0, std::nullopt, Flag::kRed,
       "on_time_rate 0.97 >= 0.95 and rework_rate 0.02 <= 0.05 (red)"},
      {"enough of both stays red", on, 1, 0.6, Flag::kRed,
       "on_time_rate 0.97 >= 0.95 and rework_rate 0.02 <= 0.05 (red)"},
  };
  for (const Row& r : rows) {
    Statistics s = Good();
    s.accountability_weight = r.weight;
    s.patrol_coverage = r.coverage;
    std::string why;
    EXPECT_EQ(FlagFor(s, r.t, &why), r.flag) << r.name;
    EXPECT_EQ(why, r.explanation) << r.name;
  }
  // A black on-time rate still decides first.
  Statistics late = Good();
  late.closed_on_time_count = 50;
  late.accountability_weight = 9;
  std::string why;
  EXPECT_EQ(FlagFor(late, on, &why), Flag::kBlack);
  EXPECT_EQ(why, "on_time_rate 0.50 < 0.80 (black)");
}

}  // namespace
}  // namespace gridline::service
