#include "server/domain/figures.h"

#include <algorithm>

#include "absl/strings/str_split.h"

namespace gridline::domain {
namespace {
constexpr Micros kDay = 86400LL * 1000 * 1000;

// Terms adding `sign` to `column` exactly when some time of `times` lies in the range: the last
// time alone, plus each time whose successor is at or after the end. (The times in a range are
// consecutive once sorted; the last of them is either the last of all, or followed by one at or
// after the end. Either way exactly one of these terms counts.)
void AnyInRange(std::vector<Micros> times, FigureColumn column, int64_t sign,
                std::vector<FigureTerm>* out) {
  times.erase(std::remove(times.begin(), times.end(), 0), times.end());
  if (times.empty()) return;
  std::sort(times.begin(), times.end());
  out->push_back({column, times.back(), kNoSecondTime, sign});
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    out->push_back({column, times[i], times[i + 1], sign});
  }
}
}  // namespace

bool CountsInFigures(CaseState state) {
  switch (state) {
    case CaseState::kPendingTriage:
    case CaseState::kDispatched:
    case CaseState::kInProgress:
    case CaseState::kReturned:
    case CaseState::kResolved:
    case CaseState::kClosed:
      return true;
    default:
      return false;
  }
}

bool IsOpenForFigures(CaseState state) {
  return CountsInFigures(state) && state != CaseState::kClosed;
}

std::vector<FigureTerm> FigureTerms(const FigureFacts& f) {
  std::vector<FigureTerm> out;
  if (!CountsInFigures(f.state)) return out;
  const bool closed = f.state == CaseState::kClosed;
  const Micros filed = f.filed_time;
  const Micros first = f.first_deadline_time;
  const Micros deadline = f.deadline_time;
  const Micros closed_at = f.closed_time;
  if (filed != 0) {
    out.push_back({kFigFound, filed});
    if (closed) {  // closed before the end: filed in range, less those closed at or after it
      out.push_back({kFigSolved, filed});
      out.push_back({kFigSolved, filed, closed_at, -1});
    }
  }
  if (first != 0) {
    out.push_back({kFigDue, first});
    const bool extended = deadline != first;
    // Postponed: the extended deadline is at or after the end.
    if (extended) out.push_back({kFigPostponed, first, deadline});
    if (closed) {
      // Closed, unless postponed (which comes first), and on time or late by its deadline.
      const FigureColumn kind = closed_at <= deadline ? kFigOnTime : kFigLateClosed;
      for (FigureColumn column : {kFigClosed, kind}) {
        out.push_back({column, first});
        if (extended) out.push_back({column, first, deadline, -1});
      }
    }
  }
  if (closed && closed_at != 0 && filed != 0) {
    out.push_back({kFigHandled, closed_at});
    out.push_back({kFigHandlingSum, closed_at, kNoSecondTime, closed_at - filed});
  }
  AnyInRange(f.resolved_times, kFigResolved, 1, &out);
  if (!f.resolved_times.empty() && !f.failed_times.empty()) {
    // Both in the range = resolved in it + failed in it - either in it.
    std::vector<Micros> either = f.resolved_times;
    either.insert(either.end(), f.failed_times.begin(), f.failed_times.end());
    AnyInRange(f.resolved_times, kFigReworked, 1, &out);
    AnyInRange(f.failed_times, kFigReworked, 1, &out);
    AnyInRange(either, kFigReworked, -1, &out);
  }
  return out;
}

FigureSums SumTerms(const std::vector<FigureTerm>& terms, Micros start, Micros end) {
  FigureSums sums{};
  for (const FigureTerm& t : terms) {
    if (t.a < start || t.a >= end) continue;
    if (t.b != kNoSecondTime && t.b < end) continue;
    sums[t.column] += t.value;
  }
  return sums;
}

int64_t FigureDay(Micros t, int utc_offset_minutes) {
  const Micros local = t + static_cast<Micros>(utc_offset_minutes) * 60 * 1000 * 1000;
  return local >= 0 ? local / kDay : -((-local + kDay - 1) / kDay);
}

Micros FigureDayStart(int64_t day, int utc_offset_minutes) {
  return day * kDay - static_cast<Micros>(utc_offset_minutes) * 60 * 1000 * 1000;
}

void AddFigureBuckets(const FigureFacts& facts, int utc_offset_minutes, int sign,
                      FigureBuckets* out) {
  for (const FigureTerm& t : FigureTerms(facts)) {
    FigureBucketKey key;
    key.day_a = FigureDay(t.a, utc_offset_minutes);
    if (t.b != kNoSecondTime) {
      if (t.b < t.a) continue;  // b >= end > a never holds
      key.day_b = FigureDay(t.b, utc_offset_minutes);
    }
    (*out)[key][t.column] += sign * t.value;
  }
}

OpenOverdueCounts OpenOverdueOf(const FigureFacts& f, Micros start, Micros end, Micros now) {
  OpenOverdueCounts out;
  if (!IsOpenForFigures(f.state) || f.deadline_time <= 0 || f.deadline_time >= now) return out;
  out.overdue = 1;
  const bool due = f.first_deadline_time >= start && f.first_deadline_time < end;
  const bool postponed = f.deadline_time >= end && f.deadline_time != f.first_deadline_time;
  out.late = due && !postponed ? 1 : 0;
  return out;
}

bool OpenDeadlineKeyOf(const FigureFacts& f, int utc_offset_minutes, OpenDeadlineKey* key) {
  if (!IsOpenForFigures(f.state) || f.deadline_time <= 0) return false;
  key->deadline_day = FigureDay(f.deadline_time, utc_offset_minutes);
  key->first_day = FigureDay(f.first_deadline_time, utc_offset_minutes);
  key->extended = f.deadline_time != f.first_deadline_time;
  return true;
}

std::vector<std::string> FigureNodes(const std::string& grid_path) {
  std::vector<std::string> nodes = {""};
  for (absl::string_view code : absl::StrSplit(grid_path, '/', absl::SkipEmpty())) {
    nodes.emplace_back(code);
  }
  return nodes;
}

}  // namespace gridline::domain
