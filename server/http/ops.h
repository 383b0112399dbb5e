// GET /metrics and GET /healthz, answered the same way on the metrics port and on the HTTP
// (Connect) endpoint.
#ifndef GRIDLINE_SERVER_HTTP_OPS_H_
#define GRIDLINE_SERVER_HTTP_OPS_H_

#include <functional>
#include <optional>

#include "server/http/listener.h"

namespace gridline::http {

// GET or HEAD /metrics (when `metrics`): util::DefaultMetrics() in the Prometheus text format;
// GET or HEAD /healthz: 200 SERVING or 503 NOT_SERVING as `serving` says. nullopt for any other
// request.
std::optional<Response> AnswerOps(const Request& request, bool metrics,
                                  const std::function<bool()>& serving);

}  // namespace gridline::http

#endif  // GRIDLINE_SERVER_HTTP_OPS_H_
