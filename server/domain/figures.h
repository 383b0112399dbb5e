// The evaluation figures (gridline.v1.Statistics) of one case, taken apart so that a store can
// keep them pre-added in day buckets and answer a query over a year of millions of cases from a
// few thousand rows.
//
// Every figure of a case over a range [S, E) is a sum of terms. A term adds `value` to one
// column when its time `a` lies in [S, E) and, for a pair term, its second time `b` is at or
// after E. (Conditions like "closed before E" become a single term minus a pair term; "has a
// resolution in the range" over a list of times becomes one term per gap, see figures.cc.)
//
// The figures that depend on the current time (open cases past their deadline, and those of them
// late in the range) are not terms. A store keeps the open cases counted by the days of their
// deadline and first deadline (OpenDeadlineKey); a query adds the days before today from those
// counts and counts only today's open overdue cases one by one.
//
// A store keeps, per grid node (every ancestor of the case's grid, and "" for the platform) and
// lead department, the sums of the terms by (day of a, day of b). Days are local days at a fixed
// UTC offset, so that months in that zone are whole days; a query whose ends are not on day
// boundaries is made exact by recounting only the cases with a time in the two partial days.
#ifndef GRIDLINE_SERVER_DOMAIN_FIGURES_H_
#define GRIDLINE_SERVER_DOMAIN_FIGURES_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "server/domain/types.h"

namespace gridline::domain {

// The columns a term can add to (the stored sums, one column each).
enum FigureColumn {
  kFigFound = 0,    // filed in the range
  kFigSolved,       // filed in the range and closed before its end
  kFigDue,          // first deadline in the range
  kFigPostponed,    // due, and the (extended) deadline is at or after the end
  kFigClosed,       // due, not postponed, closed
  kFigOnTime,       // ... closed by its deadline
  kFigLateClosed,   // ... closed after its deadline
  kFigHandled,      // closed in the range (with a filing time)
  kFigHandlingSum,  // ... the sum of closed - filed, in microseconds
  kFigResolved,     // with a resolution (处置完成) in the range
  kFigReworked,     // ... and a failed verification in the range
  kFigureColumns
};
using FigureSums = std::array<int64_t, kFigureColumns>;

// What the figures need of one case: its row as it stands and the times of its resolutions and
// failed verifications.
struct FigureFacts {
  std::string case_id;
  CaseState state = CaseState::kUnspecified;
  std::string grid_path;
  std::string lead_department_code;
  Micros filed_time = 0;
  Micros first_deadline_time = 0;
  Micros deadline_time = 0;
  Micros closed_time = 0;
  std::vector<Micros> resolved_times;  // any order
  std::vector<Micros> failed_times;    // any order
};

// Whether a case in `state` counts in the figures at all (rejected and merged cases never do).
bool CountsInFigures(CaseState state);
// Open: counted and not closed (still someone's work).
bool IsOpenForFigures(CaseState state);

constexpr Micros kNoSecondTime = INT64_MIN;
struct FigureTerm {
  FigureColumn column;
  Micros a = 0;
  Micros b = kNoSecondTime;  // a pair term when set
  int64_t value = 1;
};

// The terms of one case (none for a case that does not count).
std::vector<FigureTerm> FigureTerms(const FigureFacts& facts);
// The sums of `terms` over [start, end): exactly the case's figures, less the open-and-overdue
// ones.
FigureSums SumTerms(const std::vector<FigureTerm>& terms, Micros start, Micros end);

// The day of `t` at a UTC offset: floor((t + offset) / 1 day), and the time a day starts.
int64_t FigureDay(Micros t, int utc_offset_minutes);
Micros FigureDayStart(int64_t day, int utc_offset_minutes);

// Pair terms whose two days lie more than this apart are stored apart ("long"): a query reads
// the short ones only from the last kShortPairDays days before its end.
constexpr int64_t kShortPairDays = 62;

// Bucketed terms: (day of a, day of b or -1 for a single term) -> sums.
struct FigureBucketKey {
  int64_t day_a = 0;
  int64_t day_b = -1;
  bool operator<(const FigureBucketKey& o) const {
    return std::make_pair(day_a, day_b) < std::make_pair(o.day_a, o.day_b);
  }
};
using FigureBuckets = std::map<FigureBucketKey, FigureSums>;
// Adds sign × the terms of `facts` to `out`. Pair terms that can never count (b before a) are
// left out.
void AddFigureBuckets(const FigureFacts& facts, int utc_offset_minutes, int sign,
                      FigureBuckets* out);

// The figures of an open case that depend on the present: open and past its deadline at `now`
// (open_overdue_count), and also late in [start, end): its first deadline lies in the range and
// it is not postponed (its deadline extended to `end` or later). Zero for a case that is not open.
struct OpenOverdueCounts {
  int64_t overdue = 0;
  int64_t late = 0;
  OpenOverdueCounts& operator+=(const OpenOverdueCounts& o) {
    overdue += o.overdue;
    late += o.late;
    return *this;
  }
};
OpenOverdueCounts OpenOverdueOf(const FigureFacts& facts, Micros start, Micros end, Micros now);

// What a store keeps of an open case with a deadline: the days of its deadline and of its first
// deadline, and whether the deadline was extended. OpenOverdueOf over whole days (start, end and
// now at day starts) depends on nothing else. False for a case that is not open or has no
// deadline.
struct OpenDeadlineKey {
  int64_t deadline_day = 0;
  int64_t first_day = 0;
  bool extended = false;
  bool operator<(const OpenDeadlineKey& o) const {
    return std::make_tuple(deadline_day, first_day, extended) <
           std::make_tuple(o.deadline_day, o.first_day, o.extended);
  }
};
bool OpenDeadlineKeyOf(const FigureFacts& facts, int utc_offset_minutes, OpenDeadlineKey* key);

// The grid nodes a case's sums are kept under: "" (the platform) and every code in its path.
std::vector<std::string> FigureNodes(const std::string& grid_path);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_FIGURES_H_
