// Translation between gridline.v1 protobuf messages and the domain, and from absl::Status to
// grpc::Status with google.rpc details. The only place that knows both sides.
#ifndef GRIDLINE_SERVER_API_CONVERT_H_
#define GRIDLINE_SERVER_API_CONVERT_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "gridline/v1/common.pb.h"
#include "gridline/v1/dispatch_service.pb.h"
#include "gridline/v1/organisation.pb.h"
#include "gridline/v1/report_service.pb.h"
#include "server/domain/types.h"
#include "server/runtime/event_hub.h"
#include "server/service/case_service.h"
#include "server/service/guard.h"
#include "server/store/store.h"

namespace gridline::api {

namespace v1 = ::gridline::v1;

void ToProto(const domain::Case& in, v1::Case* out);
void ToProto(const domain::CaseEvent& in, v1::CaseEvent* out);
void ToProto(const domain::SupervisionOrder& in, v1::SupervisionOrder* out);
// A supervision call's answer.
inline absl::Status SupervisionReply(const absl::StatusOr<domain::SupervisionOrder>& order,
                                     v1::SupervisionOrder* out) {
  if (!order.ok()) return order.status();
  ToProto(*order, out);
  return absl::OkStatus();
}
// ListSupervisionOrders of both front doors.
template <typename Request>
absl::Status ListSupervision(service::CaseService* cases, const service::RequestContext& rc,
                             const Request& request, v1::ListSupervisionOrdersResponse* out) {
  service::SupervisionListFilter filter;
  filter.case_id = request.case_id();
  filter.grid_code = request.grid_code();
  for (int s : request.states()) filter.states.push_back(static_cast<domain::SupervisionState>(s));
  auto page = cases->ListSupervisionOrders(rc, filter, {request.page_size(), request.page_token()});
  if (!page.ok()) return page.status();
  for (const auto& o : page->items) ToProto(o, out->add_orders());
  out->set_next_page_token(page->next_page_token);
  return absl::OkStatus();
}
void ToProto(const domain::ExtensionRequest& in, v1::ExtensionRequest* out);
void ToProto(const domain::Category& in, v1::Category* out);
absl::StatusOr<service::ReportInput> FromProto(const v1::SubmitReportRequest& in);
// The answer of SubmitReport and RegisterCase: the case (with its photos) and the cursor of its
// REPORTED event.
absl::Status SubmitOutcomeToProto(store::AttachmentStore* store,
                                  const service::SubmitOutcome& outcome,
                                  v1::SubmitReportResponse* out);

void ToProto(const domain::Attachment& in, v1::Attachment* out);

// Completes the photos of `cases` (ToProto sets only their ids) with type, size and time, in one
// store read. A photo whose metadata is gone keeps only its id.
absl::Status FillPhotos(store::AttachmentStore* store, const std::vector<v1::Case*>& cases);

// True once nobody waits for the call's answer any more: cancelled by the client, past its
// deadline, or cancelled by the server's shutdown. Long store work checks it between steps and
// stops. Valid until the call is finished.
// RESOURCE_EXHAUSTED, retry in a second: a new call refused because every worker is busy and
// ServerConfig.max_queued_calls calls already wait.
absl::Status Overloaded();

inline std::function<bool()> CallGone(grpc::CallbackServerContext* context) {
  return [context] {
    return context->IsCancelled() || context->deadline() < std::chrono::system_clock::now();
  };
}

// The feed cursor of a read that starts now: the newest committed event. A list answer carries
// the one taken before its read (its `feed_cursor`), so that every change up to it is in the
// list and a watch from it misses nothing after (see WatchEvent in common.proto).
absl::StatusOr<std::string> FeedCursorBeforeRead(store::FeedStore* store);

// A page of cases as a list RPC's answer (`cases` with their photos, `next_page_token`,
// `feed_cursor` as taken by FeedCursorBeforeRead before the page was read).
template <typename Response>
absl::Status CasePageReply(const absl::StatusOr<service::Page<domain::Case>>& page,
                           Response* response, store::Store* store,
                           const std::string& feed_cursor) {
  if (!page.ok()) return page.status();
  response->set_feed_cursor(feed_cursor);
  for (const auto& c : page->items) ToProto(c, response->add_cases());
  std::vector<v1::Case*> cases(response->mutable_cases()->pointer_begin(),
                               response->mutable_cases()->pointer_end());
  if (auto s = FillPhotos(store, cases); !s.ok()) return s;
  response->set_next_page_token(page->next_page_token);
  return absl::OkStatus();
}

// The result of a case write as the RPC answer: the case after the change, with its photos, and
// as its feed_cursor the cursor of the last event the change appended. (The service has told the
// event hub already: service::EventPublisher.)
absl::Status CaseReply(absl::StatusOr<service::CaseChange> change, v1::Case* out,
                       store::AttachmentStore* store);
domain::Organisation FromProto(const v1::Organisation& in);

// Cursors are opaque to clients: "g1-<seq>".
std::string EncodeCursor(int64_t seq);
// nullopt when malformed.
std::optional<int64_t> DecodeCursor(const std::string& cursor);

void SetTimestamp(domain::Micros t, google::protobuf::Timestamp* out);
// A time or duration from a request, in microseconds. The value is checked against the range
// google.protobuf.Timestamp / Duration define before it is converted, so nothing can overflow
// (a far-future time once wrapped around and passed validation); outside it, INVALID_ARGUMENT
// with a field violation naming `field`. Every RPC reads its times through these.
absl::StatusOr<domain::Micros> TimestampMicros(const google::protobuf::Timestamp& t,
                                               absl::string_view field);
absl::StatusOr<domain::Micros> DurationMicros(const google::protobuf::Duration& d,
                                              absl::string_view field);
void SetDuration(domain::Micros d, google::protobuf::Duration* out);
// An optional time of a request, through TimestampMicros: sets `*out` when `present`, leaves it
// alone otherwise.
absl::Status ReadTime(bool present, const google::protobuf::Timestamp& t, absl::string_view field,
                      domain::Micros* out);

// ReadTime of a request's `start_time` and `end_time` (the time ranges of the figures and the
// audit log).
template <typename Request>
absl::Status ReadTimeRange(const Request& request, domain::Micros* start, domain::Micros* end) {
  if (auto s = ReadTime(request.has_start_time(), request.start_time(), "start_time", start);
      !s.ok()) {
    return s;
  }
  return ReadTime(request.has_end_time(), request.end_time(), "end_time", end);
}

// Codes map one to one (they are numerically equal); field violations become
// google.rpc.BadRequest, a wrong case state and domain::PreconditionFailed violations a
// google.rpc.PreconditionFailure, and `reason` (if given) a google.rpc.ErrorInfo.
grpc::Status ToGrpcStatus(const absl::Status& status, const std::string& reason = "");

// The bearer token of the call, or "".
std::string BearerToken(const grpc::CallbackServerContext* context);

// What the transport knows of the call before authentication: its bearer token, its peer, and
// the fingerprint of the device certificate the client presented on its TLS connection.
service::CallCredentials CredentialsOf(const grpc::CallbackServerContext* context);

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_CONVERT_H_
