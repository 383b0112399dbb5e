#include "server/domain/patrol.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "server/domain/report_checks.h"

namespace gridline::domain {
namespace {

// A clock on a handset may run this much ahead of the server's.
constexpr Micros kMaxClockSkew = 5LL * 60 * 1000 * 1000;

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
