#include "server/app/metrics_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/util/metrics.h"

namespace gridline::app {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// One connection: reads requests and answers them, one at a time, until the peer closes.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const std::function<bool()>* serving)
      : stream_(std::move(socket)), serving_(serving) {}
  void Start() { Read(); }

 private:
  void Read() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) self->Answer();
                     });
  }

  void Answer() {
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(request_.version());
    response->keep_alive(request_.keep_alive());
    response->set(http::field::server, "gridline-server");
    const bool get = request_.method() == http::verb::get || request_.method() == http::verb::head;
    if (request_.target() == "/metrics" && get) {
      response->result(http::status::ok);
      response->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      if (request_.method() == http::verb::get) response->body() = util::DefaultMetrics().Expose();
    } else if (request_.target() == "/healthz" && get) {
      const bool ok = (*serving_)();
      response->result(ok ? http::status::ok : http::status::service_unavailable);
      response->set(http::field::content_type, "text/plain; charset=utf-8");
      response->body() = ok ? "SERVING\n" : "NOT_SERVING\n";
    } else {
      response->result(get ? http::status::not_found : http::status::method_not_allowed);
      response->set(http::field::content_type, "text/plain; charset=utf-8");
      response->body() = "gridline-server serves only GET /metrics and GET /healthz here\n";
    }
    response->prepare_payload();
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (response->keep_alive()) {
                          self->Read();
                        } else {
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
                        }
                      });
  }

  beast::tcp_stream stream_;
  const std::function<bool()>* const serving_;  // the server's, alive while it runs
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
};

}  // namespace

struct MetricsServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  int port = 0;
  std::function<bool()> serving;
  std::thread thread;

  void Accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;  // closed: the server is stopping
      std::make_shared<Session>(std::move(socket), &serving)->Start();
      Accept();
    });
  }
};

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                                    std::function<bool()> serving) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_listen_address '", address, "' is not HOST:PORT"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto impl = std::make_unique<Impl>();
  impl->serving = std::move(serving);
  beast::error_code ec;
  const auto ip = asio::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics_listen_address '", address, "': '", host, "' is not an IP address"));
  }
  const tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for metrics on ", address, ": ", ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int MetricsServer::port() const { return impl_->port; }

}  // namespace gridline::app
