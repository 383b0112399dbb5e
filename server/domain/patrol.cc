#include "server/domain/patrol.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "server/domain/report_checks.h"

namespace gridline::domain {
namespace {

// A clock on a handset may run this much ahead of the server's.
constexpr Micros kMaxClockSkew = 5LL * 60 * 1000 * 1000;
constexpr int kMaxVisitSubjectChars = 200;
constexpr int kMaxVisitNoteChars = 2000;
constexpr size_t kMaxVisitPhotos = 9;

bool ValidLatitude(double x) { return std::isfinite(x) && x >= -90 && x <= 90; }
bool ValidLongitude(double x) { return std::isfinite(x) && x >= -180 && x <= 180; }

}  // namespace

void CheckTrackBatch(FieldViolations& v, const std::vector<TrackPoint>& batch,
                     const std::optional<TrackPoint>& last, Micros start_time, Micros now,
                     const TrackLimits& limits) {
  if (batch.empty()) {
    v.Add("points", "must not be empty");
    return;
  }
  if (static_cast<int>(batch.size()) > limits.max_points_per_batch) {
    v.Add("points", absl::StrCat("at most ", limits.max_points_per_batch, " points per batch"));
    return;
  }
  std::optional<TrackPoint> previous = last;
  for (size_t i = 0; i < batch.size(); ++i) {
    const TrackPoint& p = batch[i];
    const std::string field = absl::StrCat("points[", i, "]");
    bool position_ok = true;
    if (!ValidLatitude(p.latitude)) {
      v.Add(field + ".latitude", "must be within [-90, 90]");
      position_ok = false;
    }
    if (!ValidLongitude(p.longitude)) {
      v.Add(field + ".longitude", "must be within [-180, 180]");
      position_ok = false;
    }
    if (p.time < start_time) {
      v.Add(field + ".time", "is before the patrol started");
    } else if (p.time > now + kMaxClockSkew) {
      v.Add(field + ".time", "is in the future");
    } else if (previous.has_value() && p.time <= previous->time) {
      v.Add(field + ".time", "must be after the previous point's");
    } else if (previous.has_value() && position_ok) {
      // Fixes closer in time than the minimum interval are judged as if that far apart, so
      // GNSS jitter passes and a jump does not, however short the gap.
      const Micros dt = p.time - previous->time;
      const double seconds =
          static_cast<double>(std::max(dt, limits.speed_check_min_interval)) / 1e6;
      const double metres =
          DistanceMetres(previous->latitude, previous->longitude, p.latitude, p.longitude);
      if (metres / seconds > limits.max_speed_metres_per_second) {
        v.Add(field,
              absl::StrCat("is ", static_cast<int64_t>(metres), " m from the previous point in ",
                           dt / 1000000, " s: faster than a patrol can go"));
      }
    }
    if (position_ok) previous = p;
  }
}

bool MayPatrol(const User& user) {
  if (user.disabled) return false;
  if (user.role == Role::kGridLeader) return !user.grid_code.empty();
  return user.role == Role::kDepartmentStaff && !user.grid_code.empty();
}

bool CanSeePatrol(const User& user, const Patrol& patrol) {
  if (user.disabled) return false;
  if (patrol.user_id == user.user_id) return true;
  switch (user.role) {
    case Role::kDepartmentStaff:
      return !user.department_code.empty() && patrol.department_code == user.department_code;
    case Role::kDispatcher:
    case Role::kSupervisor:
      return PathHasGrid(patrol.grid_path, user.grid_code);
    case Role::kOperator:
      return true;
    default:
      return false;
  }
}

void CheckVisit(FieldViolations& v, const Visit& visit, const Patrol& patrol, Micros now) {
  if (visit.kind != VisitKind::kHousehold && visit.kind != VisitKind::kShop &&
      visit.kind != VisitKind::kSite) {
    v.Add("kind", "must be VISIT_HOUSEHOLD, VISIT_SHOP or VISIT_SITE");
  }
  CheckText(v, "subject", visit.subject, true, kMaxVisitSubjectChars);
  CheckText(v, "note", visit.note, false, kMaxVisitNoteChars);
  if (visit.has_position && (!ValidLatitude(visit.latitude) || !ValidLongitude(visit.longitude))) {
    v.Add("position", "latitude must be within [-90, 90] and longitude within [-180, 180]");
  }
  if (visit.visit_time < patrol.start_time) {
    v.Add("visit_time", "is before the patrol started");
  } else if (visit.visit_time > now + kMaxClockSkew) {
    v.Add("visit_time", "is in the future");
  }
  if (visit.attachment_ids.size() > kMaxVisitPhotos) {
    v.Add("attachment_ids", absl::StrCat("at most ", kMaxVisitPhotos, " photos"));
  }
}

void CheckPatrolEnd(FieldViolations& v, const Patrol& patrol, Micros end_time, Micros now) {
  if (end_time < patrol.start_time) {
    v.Add("end_time", "is before the patrol started");
  } else if (patrol.last_point && end_time < patrol.last_point->time) {
    v.Add("end_time", "is before the patrol's last track point");
  } else if (end_time < patrol.last_visit_time) {
    v.Add("end_time", "is before the patrol's last visit");
  } else if (end_time > now + kMaxClockSkew) {
    v.Add("end_time", "is in the future");
  }
}

void ApplyTrackBatch(Patrol& patrol, const std::vector<TrackPoint>& batch) {
  if (batch.empty()) return;
  double added = TrackLengthMetres(batch);
  if (patrol.last_point) {
    added += DistanceMetres(patrol.last_point->latitude, patrol.last_point->longitude,
                            batch.front().latitude, batch.front().longitude);
  }
  patrol.length_metres += added;
  patrol.point_count += static_cast<int64_t>(batch.size());
  patrol.last_point = batch.back();
}

Micros PatrolDuration(const Patrol& patrol) {
  if (patrol.state == PatrolState::kEnded) return patrol.end_time - patrol.start_time;
  if (!patrol.last_point) return 0;
  return std::max<Micros>(0, patrol.last_point->time - patrol.start_time);
}

double TrackLengthMetres(const std::vector<TrackPoint>& points) {
  double total = 0;
  for (size_t i = 1; i < points.size(); ++i) {
    total += DistanceMetres(points[i - 1].latitude, points[i - 1].longitude, points[i].latitude,
                            points[i].longitude);
  }
  return total;
}

Micros TrackDuration(const std::vector<TrackPoint>& points) {
  if (points.size() < 2) return 0;
  return points.back().time - points.front().time;
}

}  // namespace gridline::domain
