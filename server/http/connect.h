// The Connect protocol (https://connectrpc.com/docs/protocol) on the HTTP endpoint: each call is
// decoded from HTTP, handed to the server's own gRPC handlers through an in-process channel
// (grpc::GenericStub, bytes in and out), and its answer encoded back. Nothing here knows a
// service: validation, authorisation, rate limits, audit, publishing and the call log are the
// gRPC handlers', unchanged. What is translated:
//   - the route: POST /gridline.v1.ReportService/SubmitReport -> the gRPC method of that name,
//     for the services named in ConnectOptions.services only;
//   - the body: application/json and application/connect+json through the protobuf JSON mapping
//     of the method's types; application/proto and application/connect+proto as they are;
//   - metadata: `Authorization` (the bearer token), the client's address and TLS certificate
//     (server/api/forwarded.h); Connect-Timeout-Ms as the call's deadline;
//   - the status: the Connect error JSON with the HTTP status of the spec, and the google.rpc
//     details of the gRPC status (BadRequest, RetryInfo, ...) as its `details`.
// Unary methods speak the unary protocol; every streaming method the streaming protocol, with the
// whole request read before the call starts (HTTP/1.1 is half-duplex: client streams arrive as
// one body, bidi streams run as "all requests, then all answers").
#ifndef GRIDLINE_SERVER_HTTP_CONNECT_H_
#define GRIDLINE_SERVER_HTTP_CONNECT_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "server/http/call_counter.h"
#include "server/http/listener.h"

namespace gridline::http {

struct ConnectOptions {
  // Full names of the services served ("gridline.v1.ReportService"); any other path is 404.
  std::set<std::string> services;
  // Origins allowed to call from a browser ("*": any); see HttpConfig.cors_allowed_origins.
  std::vector<std::string> cors_allowed_origins;
  // Also answer GET /metrics (GET /healthz is always answered, by `serving`).
  bool serve_metrics = false;
  std::function<bool()> serving = [] { return true; };
};

class ConnectEndpoint {
 public:
  // `channel`: the gRPC server's in-process channel.
  ConnectEndpoint(std::shared_ptr<grpc::Channel> channel, ConnectOptions options);
  ~ConnectEndpoint();

  // The listener's handler.
  void Handle(std::shared_ptr<Exchange> exchange);

  // Waits until every call handed to gRPC has ended and its answer was given to the exchange
  // (the gRPC server's shutdown ends them all). False if some are left after `timeout`.
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  class UnaryCall;
  class StreamCall;

  grpc::GenericStub stub_;
  const ConnectOptions options_;
  CallCounter calls_;
};

// The Connect error code of a gRPC status code ("invalid_argument") and its HTTP status (400).
const char* ConnectCode(grpc::StatusCode code);
int ConnectHttpStatus(grpc::StatusCode code);

// The Connect error JSON of `status`: {"code", "message", "details": [{"type", "value"}]}, the
// details from the google.rpc.Status in status.error_details() (base64 without padding).
std::string ConnectErrorJson(const grpc::Status& status);

}  // namespace gridline::http

#endif  // GRIDLINE_SERVER_HTTP_CONNECT_H_
