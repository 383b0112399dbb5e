// Fuzzes the request validators: the input's first byte picks a request type, the rest is parsed
// as that gridline.v1 message (as gRPC would: an input that does not parse, e.g. a string that is
// not valid UTF-8, is refused before any handler runs). Then the harness runs what the handler
// and its service run before touching the store:
//   - the API layer's decoding: api::FromProto of reports, track batches and visits,
//     TimestampMicros / ReadTime / ReadTimeRange of every time;
//   - the services' checks of the request's own fields: service::CheckReportFields and
//     CheckPhotoIds (reports), CheckClientId (request, patrol, batch and visit ids),
//     domain::CheckTrackBatch, CheckVisit and CheckPatrolEnd (against a fixed active patrol),
//     domain::CheckSupervisionOrder, the page-token parsers;
//   - and on the result, the answer a client would get (CheckAnswer in fuzz_status.h).
// Beyond "no crash, no sanitizer report", it checks that what passes the checks is sane: an
// accepted track batch applied to the patrol gives a finite length that does not decrease and the
// right point count; an accepted end gives a non-negative duration; an accepted report's times and
// coordinates are within their documented ranges.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "fuzz/fuzz_status.h"
#include "gridline/v1/admin_service.pb.h"
#include "gridline/v1/department_service.pb.h"
#include "gridline/v1/dispatch_service.pb.h"
#include "gridline/v1/patrol_service.pb.h"
#include "gridline/v1/report_service.pb.h"
#include "server/api/convert.h"
#include "server/api/patrol_convert.h"
#include "server/domain/errors.h"
#include "server/domain/patrol.h"
#include "server/domain/report_checks.h"
#include "server/domain/supervision.h"
#include "server/service/case_service.h"
#include "server/service/paging.h"

namespace gridline::fuzz {
namespace {

namespace v1 = ::gridline::v1;
using domain::FieldViolations;
using domain::Micros;

constexpr Micros kSecond = 1000000;
// The server's clock during the run: 2026-06-01T00:00:00Z.
constexpr Micros kNow = 1780272000LL * kSecond;

// The patrol the patrol requests are checked against, as the service would have loaded it: active,
// started two hours ago, with a point an hour ago and a visit half an hour ago.
domain::Patrol ActivePatrol() {
  domain::Patrol p;
  p.patrol_id = "P-1";
  p.user_id = "u-leader";
  p.role = domain::Role::kGridLeader;
  p.grid_code = "G-1";
  p.grid_path = "/C/D/G-1/";
  p.state = domain::PatrolState::kActive;
  p.start_time = kNow - 2 * 3600 * kSecond;
  p.point_count = 1;
  p.last_point = domain::TrackPoint{kNow - 3600 * kSecond, 31.2304, 121.4737};
  p.visit_count = 1;
  p.last_visit_time = kNow - 1800 * kSecond;
  p.version = 3;
  return p;
}

absl::Status Report(const v1::SubmitReportRequest& request) {
  auto in = api::FromProto(request);
  if (!in.ok()) return in.status();
  FieldViolations v;
  service::CheckReportFields(v, *in, kNow);
  service::CheckPhotoIds(v, "attachment_ids", in->attachment_ids);
  if (v.empty()) {
    if (in->has_coordinates) {
      GRIDLINE_FUZZ_CHECK(std::abs(in->latitude) <= 90 && std::abs(in->longitude) <= 180,
                          "accepted coordinates out of range");
    }
    GRIDLINE_FUZZ_CHECK(in->observe_time == 0 || in->observe_time <= kNow + 300 * kSecond,
                        "accepted an observe_time in the future");
    GRIDLINE_FUZZ_CHECK(in->attachment_ids.size() <= domain::kMaxAttachments, "too many photos");
  }
  return v.ToStatus("the report is invalid");
}

absl::Status StartPatrol(const v1::StartPatrolRequest& request) {
  Micros start = 0;
  if (auto s = api::ReadTime(request.has_start_time(), request.start_time(), "start_time", &start);
      !s.ok()) {
    return s;
  }
  FieldViolations v;
  domain::CheckClientId(v, "patrol_id", request.patrol_id(), "is required");
  return v.ToStatus("the patrol is invalid");
}

absl::Status AppendTrack(const v1::AppendTrackRequest& request) {
  auto in = api::FromProto(request);
  if (!in.ok()) return in.status();
  FieldViolations v;
  domain::CheckClientId(v, "batch_id", in->batch_id, "is required");
  if (!v.empty()) return v.ToStatus("the track batch is invalid");
  domain::Patrol patrol = ActivePatrol();
  domain::CheckTrackBatch(v, in->points, patrol.last_point, patrol.start_time, kNow);
  if (v.empty()) {
    const double before = patrol.length_metres;
    const int64_t count = patrol.point_count;
    domain::ApplyTrackBatch(patrol, in->points);
    GRIDLINE_FUZZ_CHECK(std::isfinite(patrol.length_metres), "track length not finite");
    GRIDLINE_FUZZ_CHECK(patrol.length_metres >= before, "track length decreased");
    GRIDLINE_FUZZ_CHECK(patrol.point_count == count + static_cast<int64_t>(in->points.size()),
                        "point count");
    GRIDLINE_FUZZ_CHECK(domain::PatrolDuration(patrol) >= 0, "negative patrol duration");
    GRIDLINE_FUZZ_CHECK(std::isfinite(domain::TrackLengthMetres(in->points)),
                        "batch length not finite");
    GRIDLINE_FUZZ_CHECK(domain::TrackDuration(in->points) >= 0, "negative batch duration");
  }
  return v.ToStatus("the track batch is invalid");
}

absl::Status RecordVisit(const v1::RecordVisitRequest& request) {
  auto in = api::FromProto(request);
  if (!in.ok()) return in.status();
  FieldViolations v;
  domain::CheckClientId(v, "visit_id", in->visit.visit_id, "is required");
  if (!v.empty()) return v.ToStatus("the visit is invalid");
  const domain::Patrol patrol = ActivePatrol();
  domain::Visit visit = in->visit;
  if (visit.visit_time == 0) visit.visit_time = kNow;
  domain::CheckVisit(v, visit, patrol, kNow);
  return v.ToStatus("the visit is invalid");
}

absl::Status EndPatrol(const v1::EndPatrolRequest& request) {
  Micros end = 0;
  if (auto s = api::ReadTime(request.has_end_time(), request.end_time(), "end_time", &end);
      !s.ok()) {
    return s;
  }
  domain::Patrol patrol = ActivePatrol();
  if (end == 0) end = kNow;
  FieldViolations v;
  domain::CheckPatrolEnd(v, patrol, end, kNow);
  if (v.empty()) {
    patrol.state = domain::PatrolState::kEnded;
    patrol.end_time = end;
    GRIDLINE_FUZZ_CHECK(domain::PatrolDuration(patrol) >= 0, "negative patrol duration");
  }
  return v.ToStatus("the end is invalid");
}

absl::Status IssueSupervision(const v1::IssueSupervisionOrderRequest& request) {
  if (!request.has_respond_by_time()) return domain::InvalidField("respond_by_time", "is required");
  auto respond_by = api::TimestampMicros(request.respond_by_time(), "respond_by_time");
  if (!respond_by.ok()) return respond_by.status();
  FieldViolations v;
  domain::CheckClientId(v, "request_id", request.request_id(), "is required");
  if (!v.empty()) return v.ToStatus("the supervision order is invalid");
  domain::CheckSupervisionOrder(v, request.reason(), *respond_by, kNow);
  if (v.empty()) {
    // Escalation over the case's grid path, from any holder the request names.
    const std::string path = "/C/D/S/G-1/";
    auto next = domain::EscalationTarget(path, request.case_id());
    const Micros at = domain::NextEscalationTime(
        *respond_by, static_cast<int>(request.expected_version() & 7), 3600 * kSecond, next);
    GRIDLINE_FUZZ_CHECK(!next.has_value() || at >= *respond_by,
                        "escalates before the response time");
  }
  return v.ToStatus("the supervision order is invalid");
}

absl::Status RequestExtension(const v1::RequestExtensionRequest& request) {
  Micros requested = 0;
  if (auto s =
          api::ReadTime(request.has_requested_deadline_time(), request.requested_deadline_time(),
                        "requested_deadline_time", &requested);
      !s.ok()) {
    return s;
  }
  FieldViolations v;
  domain::CheckText(v, "reason", request.reason(), true, domain::kMaxDescriptionChars);
  return v.ToStatus();
}

absl::Status ListAuditLog(const v1::ListAuditLogRequest& request) {
  Micros start = 0, end = 0;
  if (auto s = api::ReadTimeRange(request, &start, &end); !s.ok()) return s;
  if (request.page_size() < 0) return domain::InvalidField("page_size", "must not be negative");
  if (!request.page_token().empty()) {
    int64_t time = 0;
    std::string id;
    if (!service::ParseAuditToken(request.page_token(), &time, &id)) {
      return domain::InvalidField("page_token", "is not a page token of the audit log");
    }
  }
  return absl::OkStatus();
}

absl::Status ListPatrols(const v1::ListPatrolsRequest& request) {
  Micros start = 0, end = 0;
  if (auto s = api::ReadTimeRange(request, &start, &end); !s.ok()) return s;
  auto size = service::PageSizeOf(request.page_size());
  if (!size.ok()) return size.status();
  GRIDLINE_FUZZ_CHECK(*size >= 1 && *size <= 500, "page size out of range");
  if (!request.page_token().empty()) {
    int64_t key = 0;
    std::string id;
    return service::ParsePageToken(request.page_token(), &key, &id);
  }
  return absl::OkStatus();
}

absl::Status GetStatistics(const v1::GetStatisticsRequest& request) {
  Micros start = 0, end = 0;
  return api::ReadTimeRange(request, &start, &end);
}

template <typename Request>
bool Parse(const uint8_t* data, size_t size, Request* out) {
  return out->ParseFromArray(data, static_cast<int>(size));
}

template <typename Request, typename Check>
void Run(const uint8_t* data, size_t size, Check check) {
  Request request;
  if (!Parse(data, size, &request)) return;
  CheckAnswer(check(request));
}

}  // namespace
}  // namespace gridline::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gridline::fuzz;  // NOLINT(build/namespaces)
  if (size < 1) return 0;
  const uint8_t kind = data[0];
  ++data;
  --size;
  switch (kind % 11) {
    case 0:
      Run<v1::SubmitReportRequest>(data, size, Report);
      break;
    case 1:
      Run<v1::RegisterCaseRequest>(
          data, size, [](const v1::RegisterCaseRequest& r) { return Report(r.report()); });
      break;
    case 2:
      Run<v1::StartPatrolRequest>(data, size, StartPatrol);
      break;
    case 3:
      Run<v1::AppendTrackRequest>(data, size, AppendTrack);
      break;
    case 4:
      Run<v1::RecordVisitRequest>(data, size, RecordVisit);
      break;
    case 5:
      Run<v1::EndPatrolRequest>(data, size, EndPatrol);
      break;
    case 6:
      Run<v1::IssueSupervisionOrderRequest>(data, size, IssueSupervision);
      break;
    case 7:
      Run<v1::RequestExtensionRequest>(data, size, RequestExtension);
      break;
    case 8:
      Run<v1::ListAuditLogRequest>(data, size, ListAuditLog);
      break;
    case 9:
      Run<v1::ListPatrolsRequest>(data, size, ListPatrols);
      break;
    case 10:
      Run<v1::GetStatisticsRequest>(data, size, GetStatistics);
      break;
  }
  return 0;
}
