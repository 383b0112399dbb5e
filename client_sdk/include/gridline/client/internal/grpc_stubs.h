// NOT PUBLIC: the SDK's gRPC plumbing. May change in any release; do not include it.
#ifndef GRIDLINE_CLIENT_INTERNAL_GRPC_STUBS_H_
#define GRIDLINE_CLIENT_INTERNAL_GRPC_STUBS_H_

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

#include "gridline/client/event_stream.h"
#include "gridline/client/options.h"
#include "gridline/client/report_connection.h"
#include "gridline/client/retry_policy.h"
#include "gridline/client/status.h"
#include "gridline/v1/admin_service.grpc.pb.h"
#include "gridline/v1/department_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "gridline/v1/patrol_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"

namespace google::protobuf {
class Message;
}

namespace gridline::client::internal {

// Reads and other calls that are safe to repeat as they are.
inline constexpr Idempotency kIdempotent = Idempotency::kIdempotent;

// A grpc::Status as an SDK Status; the rich error details ride along as a payload.
Status FromGrpcStatus(const grpc::Status& status);

// Writes that carry a non-zero `expected_version` are idempotent: a repeat after the first
// succeeded gets ABORTED instead of changing the case twice.
Idempotency WriteIdempotency(const google::protobuf::Message& request);

// One channel and the stubs of every gridline service, shared by the connections made from one
// set of options.
class GrpcStubs {
 public:
  explicit GrpcStubs(Options options);

  const Options& options() const { return options_; }
  // Not OK when the options cannot work (no endpoint).
  const Status& config_status() const { return config_status_; }

  v1::ReportService::Stub& report() { return *report_; }
  v1::DispatchService::Stub& dispatch() { return *dispatch_; }
  v1::DepartmentService::Stub& department() { return *department_; }
  v1::AdminService::Stub& admin() { return *admin_; }
  v1::PatrolService::Stub& patrol() { return *patrol_; }

  // Adds the token and, unless zero, the deadline.
  void Prepare(grpc::ClientContext& context, std::chrono::milliseconds timeout) const;
  std::chrono::milliseconds unary_timeout() const { return options_.get<TimeoutOption>(); }
  std::chrono::milliseconds transfer_timeout() const {
    return options_.get<TransferTimeoutOption>();
  }

  // Runs `call(context, response)` with a fresh context per attempt, retrying what
  // IsRetryable allows for `idempotency` under the retry and backoff policies.
  template <typename Response, typename Call>
  StatusOr<Response> Retry(Idempotency idempotency, std::chrono::milliseconds timeout,
                           Call&& call) {
    if (!config_status_.ok()) return config_status_;
    auto retry = options_.get<RetryPolicyOption>()->clone();
    auto backoff = options_.get<BackoffPolicyOption>()->clone();
    for (;;) {
      grpc::ClientContext context;
      Prepare(context, timeout);
      Response response;
      Status status = call(context, response);
      if (status.ok()) return response;
      if (!IsRetryable(status, idempotency) || !retry->OnFailure(status)) return status;
      // At least as long as the server asked (RetryInfo of a rate limit).
      WaitBeforeRetry(std::max(backoff->OnCompletion(), GetErrorDetails(status).retry_delay));
    }
  }

  // A unary RPC of `Stub` with retries.
  template <typename Response, typename Stub, typename Request>
  StatusOr<Response> Unary(Stub& stub,
                           grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&,
                                                        Response*),
                           const Request& request, Idempotency idempotency) {
    return Retry<Response>(idempotency, unary_timeout(),
                           [&](grpc::ClientContext& context, Response& response) {
                             return FromGrpcStatus((stub.*method)(&context, request, &response));
                           });
  }

  // Waits `delay`, but returns as soon as the channel is connected. Waiting on the channel (not
  // sleeping) drives its connection attempts: with gRPC's synchronous API nothing else polls a
  // channel between calls, and a reconnect would otherwise be noticed only by gRPC's backup
  // poller, every 5 s.
  void WaitBeforeRetry(std::chrono::milliseconds delay);

  // Opens a server stream of WatchEvents with `open(context)` (no deadline: watches live long).
  template <typename Open>
  std::unique_ptr<EventStream> Watch(Open&& open);

 private:
  std::unique_ptr<EventStream> MakeEventStream(
      std::unique_ptr<grpc::ClientContext> context,
      std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader);

  Options options_;
  Status config_status_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ReportService::Stub> report_;
  std::unique_ptr<v1::DispatchService::Stub> dispatch_;
  std::unique_ptr<v1::DepartmentService::Stub> department_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::PatrolService::Stub> patrol_;
};

// An EventStream that only reports `status` (a connection that cannot work).
std::unique_ptr<EventStream> MakeFailedEventStream(Status status);

template <typename Open>
std::unique_ptr<EventStream> GrpcStubs::Watch(Open&& open) {
  if (!config_status_.ok()) return MakeFailedEventStream(config_status_);
  // A watch reconnecting after a failure gives the channel a moment to connect (see
  // WaitBeforeRetry); the Watch paces its own attempts.
  if (channel_->GetState(/*try_to_connect=*/true) != GRPC_CHANNEL_READY) {
    WaitBeforeRetry(std::chrono::milliseconds(250));
  }
  auto context = std::make_unique<grpc::ClientContext>();
  Prepare(*context, std::chrono::milliseconds(0));
  auto reader = open(*context);
  return MakeEventStream(std::move(context), std::move(reader));
}

// Photo upload and download, shared by the report and department connections.
StatusOr<v1::Attachment> UploadAttachment(GrpcStubs& stubs, const PhotoUpload& photo);
StatusOr<DownloadedPhoto> DownloadAttachment(GrpcStubs& stubs,
                                             const v1::DownloadAttachmentRequest& request);

}  // namespace gridline::client::internal

#endif  // GRIDLINE_CLIENT_INTERNAL_GRPC_STUBS_H_
