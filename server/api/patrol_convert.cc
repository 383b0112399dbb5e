#include "server/api/patrol_convert.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "server/api/convert.h"
#include "server/domain/errors.h"

namespace gridline::api {

absl::StatusOr<service::TrackBatchInput> FromProto(const v1::AppendTrackRequest& in) {
  service::TrackBatchInput out;
  out.patrol_id = in.patrol_id();
  out.batch_id = in.batch_id();
  out.expected_version = in.expected_version();
  domain::FieldViolations v;
  for (int i = 0; i < in.points_size(); ++i) {
    const v1::TrackPoint& p = in.points(i);
    domain::TrackPoint point{0, p.position().latitude(), p.position().longitude()};
    const std::string field = absl::StrCat("points[", i, "].time");
    if (!p.has_time()) {
      v.Add(field, "is required");
    } else if (auto t = TimestampMicros(p.time(), field); t.ok()) {
      point.time = *t;
    } else {
      for (auto& f : domain::GetFieldViolations(t.status())) v.Add(f.field, f.description);
    }
    out.points.push_back(point);
  }
  if (!v.empty()) return v.ToStatus("the track batch is invalid");
  return out;
}

absl::StatusOr<service::VisitInput> FromProto(const v1::RecordVisitRequest& in) {
  service::VisitInput out;
  domain::Visit& v = out.visit;
  v.visit_id = in.visit_id();
  v.patrol_id = in.patrol_id();
  v.kind = static_cast<domain::VisitKind>(in.kind());
  v.subject = in.subject();
  v.note = in.note();
  v.has_position = in.position().latitude() != 0 || in.position().longitude() != 0;
  v.latitude = in.position().latitude();
  v.longitude = in.position().longitude();
  if (auto s = ReadTime(in.has_visit_time(), in.visit_time(), "visit_time", &v.visit_time);
      !s.ok()) {
    return s;
  }
  v.attachment_ids.assign(in.attachment_ids().begin(), in.attachment_ids().end());
  out.expected_version = in.expected_version();
  return out;
}

}  // namespace gridline::api
