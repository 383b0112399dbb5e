#include "server/app/metrics_server.h"

#include "server/http/listener.h"
#include "server/http/ops.h"

namespace gridline::app {

namespace bhttp = boost::beast::http;

struct MetricsServer::Impl {
  std::function<bool()> serving;
  std::unique_ptr<http::Listener> listener;
};

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                                    std::function<bool()> serving) {
  auto impl = std::make_unique<Impl>();
  impl->serving = std::move(serving);
  const std::function<bool()>* serving_of = &impl->serving;  // alive as long as the listener
  http::ListenerOptions options;
  options.address = address;
  options.what = "metrics_listen_address";
  auto listener = http::Listener::Start(options, [serving_of](
                                                     std::shared_ptr<http::Exchange> exchange) {
    const http::Request& request = exchange->request();
    if (auto answer = http::AnswerOps(request, /*metrics=*/true, *serving_of)) {
      return exchange->Respond(*std::move(answer));
    }
    const bool get = request.method() == bhttp::verb::get || request.method() == bhttp::verb::head;
    http::Response response{get ? bhttp::status::not_found : bhttp::status::method_not_allowed, 11};
    response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    response.body() = "gridline-server serves only GET /metrics and GET /healthz here\n";
    exchange->Respond(std::move(response));
  });
  if (!listener.ok()) return listener.status();
  impl->listener = *std::move(listener);
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() { impl_->listener->Stop(); }

int MetricsServer::port() const { return impl_->listener->port(); }

}  // namespace gridline::app
