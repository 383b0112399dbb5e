// The Prometheus scrape endpoint (ServerConfig.metrics_listen_address): GET /metrics answers
// util::DefaultMetrics() in the text exposition format, and GET /healthz answers 200 SERVING or
// 503 NOT_SERVING as grpc.health.v1 does (for balancers that check over HTTP/1.1, such as
// HAProxy). HTTP/1.1 from Boost.Beast on one thread of its own, apart from the gRPC port; every
// other path is 404.
#ifndef GRIDLINE_SERVER_APP_METRICS_SERVER_H_
#define GRIDLINE_SERVER_APP_METRICS_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace gridline::app {

class MetricsServer {
 public:
  // Listens on `address` ("host:port"; port 0 picks one) and serves until destroyed.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                              std::function<bool()> serving);
  ~MetricsServer();
  int port() const;

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridline::app

#endif  // GRIDLINE_SERVER_APP_METRICS_SERVER_H_
