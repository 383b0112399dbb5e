// Decoding of the PatrolService requests that carry more than ids: the track batch and the visit.
// Apart from the handlers so that the same decoding runs without a gRPC server (the fuzz
// harnesses).
#ifndef GRIDLINE_SERVER_API_PATROL_CONVERT_H_
#define GRIDLINE_SERVER_API_PATROL_CONVERT_H_

#include "absl/status/statusor.h"
#include "gridline/v1/patrol_service.pb.h"
#include "server/service/patrols.h"

namespace gridline::api {

namespace v1 = ::gridline::v1;

// AppendTrack's request: every point needs a valid time (INVALID_ARGUMENT with a violation of
// "points[i].time" per point otherwise); the rest is the service's to check.
absl::StatusOr<service::TrackBatchInput> FromProto(const v1::AppendTrackRequest& in);

// RecordVisit's request: a position of (0, 0) counts as none; visit_time must be a valid time
// when present.
absl::StatusOr<service::VisitInput> FromProto(const v1::RecordVisitRequest& in);

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_PATROL_CONVERT_H_
