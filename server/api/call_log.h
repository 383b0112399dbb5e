// One log line and the metrics of every call: a gRPC server interceptor that takes the
// method, the peer, the status code and the latency, the case id from the request (a `case_id`
// field) or the answer (its `case`), and who called from the handler, which notes the caller
// once it is authenticated (NoteCaller). Nothing else of the messages is logged: never a token,
// never a report's text.
#ifndef GRIDLINE_SERVER_API_CALL_LOG_H_
#define GRIDLINE_SERVER_API_CALL_LOG_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/server_interceptor.h>

#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "server/domain/types.h"
#include "server/service/guard.h"
#include "server/util/clock.h"

namespace gridline::api {

class CallLog final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `log_lines`: write the line per call (ServerConfig.log.calls); the metrics of every call
  // (util::DefaultMetrics: gridline_rpc_*) are counted either way. Calls that end
  // UNAUTHENTICATED or PERMISSION_DENIED are reported to `guard` (if not null), which counts,
  // logs and audits them at a bounded rate.
  explicit CallLog(bool log_lines, service::Guard* guard = nullptr,
                   const util::Clock* clock = &util::WallClock());

  // The open streaming calls by service (gridline_open_streams).
  std::map<std::string, int64_t> OpenStreams();

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

  // Who made the call on `context` (kept until the call's line is written).
  void NoteCaller(const grpc::ServerContextBase* context, const domain::Caller& caller);

 private:
  friend class CallLogInterceptor;
  struct Who {
    std::string user_id;
    std::string role;
  };
  Who Take(const grpc::ServerContextBase* context);

  void StreamOpened(const std::string& service, int delta);

  const bool log_lines_;
  service::Guard* const guard_;
  const util::Clock* const clock_;
  std::mutex mu_;
  std::unordered_map<const grpc::ServerContextBase*, Who> callers_;
  std::map<std::string, int64_t> open_streams_;
};

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_CALL_LOG_H_
