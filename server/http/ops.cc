#include "server/http/ops.h"

#include "server/util/metrics.h"

namespace gridline::http {

namespace bhttp = boost::beast::http;

std::optional<Response> AnswerOps(const Request& request, bool metrics,
                                  const std::function<bool()>& serving) {
  const bool get = request.method() == bhttp::verb::get;
  if (!get && request.method() != bhttp::verb::head) return std::nullopt;
  Response response;
  if (request.target() == "/metrics" && metrics) {
    response.result(bhttp::status::ok);
    response.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    if (get) response.body() = util::DefaultMetrics().Expose();
    return response;
  }
  if (request.target() == "/healthz") {
    const bool ok = serving();
    response.result(ok ? bhttp::status::ok : bhttp::status::service_unavailable);
    response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    response.body() = ok ? "SERVING\n" : "NOT_SERVING\n";
    return response;
  }
  return std::nullopt;
}

}  // namespace gridline::http
