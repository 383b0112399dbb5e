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

enum class PatrolState : int { kUnspecified = 0, kActive = 1, kEnded = 2 };
enum class VisitKind : int { kUnspecified = 0, kHousehold = 1, kShop = 2, kSite = 3 };

// One patrol: who, where, when, and its track summed up (the points themselves are stored
// apart, in batches).
struct Patrol {
  std::string patrol_id;  // chosen by the handset; the idempotency key of StartPatrol
  std::string user_id;
  Role role = Role::kUnspecified;
  std::string department_code;  // the staff member's department; empty for a grid leader
  std::string grid_code;
  std::string grid_path;
  PatrolState state = PatrolState::kUnspecified;
  Micros start_time = 0;
  Micros end_time = 0;  // 0 while active
  // The local day of start_time (the figures' days: FigureDay), for "days with a patrol".
  int64_t start_day = 0;
  int64_t point_count = 0;
  double length_metres = 0;
  std::optional<TrackPoint> last_point;
  int64_t visit_count = 0;
  int64_t report_count = 0;
  Micros last_visit_time = 0;
  int64_t version = 0;
  Micros create_time = 0;
  Micros update_time = 0;
};

// A visit (走访) made on a patrol.
struct Visit {
  std::string visit_id;  // chosen by the handset; the idempotency key
  std::string patrol_id;
  std::string user_id;
  std::string grid_code;
  std::string grid_path;
  VisitKind kind = VisitKind::kUnspecified;
  std::string subject;
  std::string note;
  bool has_position = false;
  double latitude = 0;
  double longitude = 0;
  Micros visit_time = 0;
  std::vector<std::string> attachment_ids;
  // A digest of the request, to tell a retry from a different visit under the same id.
  std::string request_digest;
  Micros create_time = 0;
};

// The patrol figures of one grid and person over a period (PatrolService.GetPatrolStatistics).
struct PatrolFigures {
  std::string grid_code;
  std::string user_id;
  int64_t patrol_count = 0;
  Micros duration = 0;  // ended: end - start; active: last point - start
  double length_metres = 0;
  int64_t patrol_days = 0;
  int64_t visit_count = 0;
  int64_t report_count = 0;
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

// Who may patrol: a grid leader, or a department staff member stationed in a grid (one with a
// grid code). The grid a patrol may be in is then the caller's own or one below it.
bool MayPatrol(const User& user);

// Whether `user` may read `patrol`: the patroller; department staff their department's patrols;
// a dispatcher or supervisor those in their grid's subtree; an operator all.
bool CanSeePatrol(const User& user, const Patrol& patrol);

// The violations of a visit, recorded on `patrol` at `now`: "kind", "subject" (1..200
// characters), "note" (at most 2000), "position", "visit_time" (before the patrol's start or
// in the future), "attachment_ids" (at most 9).
void CheckVisit(FieldViolations& v, const Visit& visit, const Patrol& patrol, Micros now);

// The violations of ending `patrol` at `end_time`: before its start, its last track point or its
// last visit, or in the future.
void CheckPatrolEnd(FieldViolations& v, const Patrol& patrol, Micros end_time, Micros now);

// `patrol` after `batch` (already checked) is appended: point count, length, last point.
void ApplyTrackBatch(Patrol& patrol, const std::vector<TrackPoint>& batch);

// The patrol's time on patrol: ended, end - start; active, its last point - start (0 without
// points).
Micros PatrolDuration(const Patrol& patrol);

// The length of a track in metres (the sum of great-circle distances between consecutive
// points), and its duration (last time minus first).
double TrackLengthMetres(const std::vector<TrackPoint>& points);
Micros TrackDuration(const std::vector<TrackPoint>& points);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_PATROL_H_
