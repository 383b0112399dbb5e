// Patrols (巡查) and their GNSS tracks: the pure rules. A grid leader or stationed staff member
// starts a patrol in a grid, sends its track in batches while walking, and ends it. What the
// rules decide: whether a batch of track points may be stored after what is stored already,
// and how far and how long a track goes (the patrol figures).
#ifndef GRIDLINE_SERVER_DOMAIN_PATROL_H_
#define GRIDLINE_SERVER_DOMAIN_PATROL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/domain/errors.h"
#include "server/domain/types.h"

namespace gridline::domain {

struct TrackPoint {
  Micros time = 0;
  double latitude = 0;
  double longitude = 0;
};

struct TrackLimits {
  // Faster than this between two points is not a walk, a bicycle or a scooter: a bad fix or a
  // forged track. 120 km/h leaves room for a patrol car.
  double max_speed_metres_per_second = 120.0 * 1000 / 3600;
  // Two fixes closer in time than this are judged as if this far apart (GNSS jitter over a
  // second would otherwise look like an impossible speed; a jump still fails).
  Micros speed_check_min_interval = 2LL * 1000 * 1000;
  // At most this many points in one batch.
  int max_points_per_batch = 1000;
};

// The violations of `batch`, to be stored after `last` (the newest stored point of the patrol,
// if any), on a patrol that started at `start_time` and ends (if `ended`) or must not be later
// than `now` plus clock skew:
// - "points": empty, or more than max_points_per_batch;
// - "points[i].time": before the patrol's start, not after the previous point, in the future;
// - "points[i].latitude" / "longitude": out of range or not finite;
// - "points[i]": faster than max_speed from the previous point.
// Nothing of a batch with violations may be stored.
void CheckTrackBatch(FieldViolations& v, const std::vector<TrackPoint>& batch,
                     const std::optional<TrackPoint>& last, Micros start_time, Micros now,
                     const TrackLimits& limits = {});

// The length of a track in metres (the sum of great-circle distances between consecutive
// points), and its duration (last time minus first).
double TrackLengthMetres(const std::vector<TrackPoint>& points);
Micros TrackDuration(const std::vector<TrackPoint>& points);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_PATROL_H_
