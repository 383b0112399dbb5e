#include "server/http/listener.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace gridline::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

std::string PeerString(const tcp::socket& socket) {
  beast::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  const auto address = remote.address();
  if (address.is_v4()) return absl::StrCat("ipv4:", address.to_string(), ":", remote.port());
  if (address.to_v6().is_v4_mapped()) {
    return absl::StrCat(
        "ipv4:", asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string(), ":",
        remote.port());
  }
  return absl::StrCat("ipv6:[", address.to_string(), "]:", remote.port());
}

std::string PeerCertificatePem(SSL* ssl) {
  X509* cert = SSL_get_peer_certificate(ssl);
  if (cert == nullptr) return "";
  std::string out;
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio != nullptr && PEM_write_bio_X509(bio, cert) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  X509_free(cert);
  return out;
}

class SessionBase;

// What the sessions share with the listener; alive until the last session is gone.
struct Shared {
  Handler handler;
  uint64_t max_request_bytes = 0;
  std::chrono::seconds idle_timeout{30};
  std::mutex mu;
  bool stopped = false;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
};

class SessionBase : public Exchange, public std::enable_shared_from_this<SessionBase> {
 public:
  virtual void Close() = 0;
};

// One connection: reads a request, lets the handler answer it, and reads the next, until the
// client closes, a streamed response ends, or the listener stops. Everything runs on the
// connection's strand; the Exchange methods post to it.
template <typename Stream>
class Session final : public SessionBase {
 public:
  Session(Stream stream, std::shared_ptr<Shared> shared)
      : stream_(std::move(stream)), shared_(std::move(shared)) {
    peer_ = PeerString(beast::get_lowest_layer(stream_).socket());
  }
  ~Session() override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->sessions.erase(this);
  }

  // Registers the session (false once the listener stopped) and starts it.
  void Start() {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      if (shared_->stopped) return;
      shared_->sessions[this] = shared_from_this();
    }
    asio::dispatch(stream_.get_executor(), [self = Self()] { self->Handshake(); });
  }

  const Request& request() const override { return request_; }
  const std::string& peer() const override { return peer_; }
  const std::string& client_certificate_pem() const override { return certificate_pem_; }

  void Respond(Response response) override {
    asio::post(stream_.get_executor(), [self = Self(), r = std::move(response)]() mutable {
      self->DoRespond(std::move(r));
    });
  }
  void StartStream(Response header, std::function<void(bool)> done) override {
    asio::post(stream_.get_executor(),
               [self = Self(), h = std::move(header), done = std::move(done)]() mutable {
                 self->DoStartStream(std::move(h), std::move(done));
               });
  }
  void WriteChunk(std::string data, std::function<void(bool)> done) override {
    asio::post(stream_.get_executor(),
               [self = Self(), d = std::move(data), done = std::move(done)]() mutable {
                 self->DoWriteChunk(std::move(d), std::move(done));
               });
  }
  void EndStream() override {
    asio::post(stream_.get_executor(), [self = Self()] { self->DoEndStream(); });
  }
  void OnGone(std::function<void()> gone) override {
    asio::post(stream_.get_executor(), [self = Self(), gone = std::move(gone)]() mutable {
      if (self->closed_) {
        if (self->streaming_ && !self->ended_) gone();
        return;
      }
      self->gone_ = std::move(gone);
    });
  }
  void Close() override {
    asio::post(stream_.get_executor(), [self = Self()] { self->DoClose(); });
  }

 private:
  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  void Handshake() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      Tcp().expires_after(shared_->idle_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = Self()](beast::error_code ec) {
        if (ec) return self->DoClose();
        self->certificate_pem_ = PeerCertificatePem(self->stream_.native_handle());
        self->Read();
      });
    } else {
      Read();
    }
  }

  void Read() {
    if (closed_) return;
    parser_.emplace();
    parser_->body_limit(shared_->max_request_bytes);
    Tcp().expires_after(shared_->idle_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = Self()](beast::error_code ec, size_t) {
                               if (ec) return self->DoClose();
                               self->OnHeader();
                             });
  }

  void OnHeader() {
    const auto& header = parser_->get();
    if (auto length = parser_->content_length(); length && *length > shared_->max_request_bytes) {
      return RefuseTooLarge();
    }
    if (beast::iequals(header[bhttp::field::expect], "100-continue")) {
      auto proceed = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                          header.version());
      bhttp::async_write(stream_, *proceed, [self = Self(), proceed](beast::error_code ec, size_t) {
        if (ec) return self->DoClose();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_, [self = Self()](beast::error_code ec, size_t) {
      if (ec == bhttp::error::body_limit) return self->RefuseTooLarge();
      if (ec) return self->DoClose();
      self->request_ = self->parser_->release();
      self->Tcp().expires_never();
      self->shared_->handler(self);
    });
  }

  void RefuseTooLarge() {
    request_ = {};
    request_.keep_alive(false);
    Response r{bhttp::status::payload_too_large, 11};
    r.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    r.body() = absl::StrCat("the request is larger than ", shared_->max_request_bytes, " bytes\n");
    DoRespond(std::move(r));
  }

  void DoRespond(Response response) {
    if (closed_) return;
    auto r = std::make_shared<Response>(std::move(response));
    r->version(11);
    r->set(bhttp::field::server, "gridline-server");
    r->keep_alive(request_.keep_alive());
    r->prepare_payload();
    Tcp().expires_after(shared_->idle_timeout);
    bhttp::async_write(stream_, *r, [self = Self(), r](beast::error_code ec, size_t) {
      if (ec) return self->DoClose();
      if (r->keep_alive()) {
        self->Read();
      } else {
        self->Finish();
      }
    });
  }

  void DoStartStream(Response header, std::function<void(bool)> done) {
    if (closed_) return done(false);
    streaming_ = true;
    stream_header_ = std::make_unique<bhttp::response<bhttp::empty_body>>(header.result(), 11);
    for (const auto& field : header) stream_header_->set(field.name_string(), field.value());
    stream_header_->set(bhttp::field::server, "gridline-server");
    stream_header_->keep_alive(false);  // the connection ends with the stream
    stream_header_->chunked(true);
    serializer_ = std::make_unique<bhttp::response_serializer<bhttp::empty_body>>(*stream_header_);
    Tcp().expires_after(shared_->idle_timeout);
    bhttp::async_write_header(
        stream_, *serializer_,
        [self = Self(), done = std::move(done)](beast::error_code ec, size_t) {
          self->Tcp().expires_never();
          if (ec) {
            self->DoClose();
            return done(false);
          }
          self->WatchForGone();
          done(true);
        });
  }

  // While a stream is open the client sends nothing more; a read that ends means it is gone.
  void WatchForGone() {
    stream_.async_read_some(asio::buffer(discard_), [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->DoClose();
      self->WatchForGone();
    });
  }

  void DoWriteChunk(std::string data, std::function<void(bool)> done) {
    if (closed_ || ended_) return done(false);
    if (data.empty()) return done(true);  // an empty chunk would end the body
    chunk_ = std::move(data);
    Tcp().expires_after(shared_->idle_timeout);  // a client that takes nothing is cut off
    asio::async_write(stream_, bhttp::make_chunk(asio::buffer(chunk_)),
                      [self = Self(), done = std::move(done)](beast::error_code ec, size_t) {
                        self->Tcp().expires_never();
                        if (ec) {
                          self->DoClose();
                          return done(false);
                        }
                        done(true);
                      });
  }

  void DoEndStream() {
    if (closed_ || ended_) return;
    ended_ = true;
    gone_ = nullptr;
    Tcp().expires_after(shared_->idle_timeout);
    asio::async_write(stream_, bhttp::make_chunk_last(),
                      [self = Self()](beast::error_code, size_t) { self->Finish(); });
  }

  // The end of a response after which the connection closes.
  void Finish() {
    if (closed_) return;
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      Tcp().expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = Self()](beast::error_code) { self->DoClose(); });
    } else {
      beast::error_code ec;
      Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
      DoClose();
    }
  }

  void DoClose() {
    if (closed_) return;
    closed_ = true;
    if (streaming_ && !ended_ && gone_) {
      auto gone = std::move(gone_);
      gone_ = nullptr;
      gone();
    }
    Tcp().close();
  }

  Stream stream_;
  const std::shared_ptr<Shared> shared_;
  std::string peer_;
  std::string certificate_pem_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  bool closed_ = false;
  bool streaming_ = false;
  bool ended_ = false;
  std::function<void()> gone_;
  std::unique_ptr<bhttp::response<bhttp::empty_body>> stream_header_;
  std::unique_ptr<bhttp::response_serializer<bhttp::empty_body>> serializer_;
  std::string chunk_;
  char discard_[512];
};

}  // namespace

absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address,
                                                          const std::string& what) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(what, " '", address, "' is not HOST:PORT"));
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host.empty() ? std::string("0.0.0.0") : host, port);
}

struct Listener::Impl {
  asio::io_context io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  // On a strand of its own: accepted on the threads, closed from StopAccepting.
  tcp::acceptor acceptor{asio::make_strand(io)};
  std::optional<ssl::context> tls;
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  int port = 0;
  std::vector<std::thread> threads;
  std::mutex mu;
  bool stopped = false;

  void Accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;  // stopping
      if (!ec) {
        if (tls) {
          std::make_shared<Session<TlsStream>>(TlsStream(std::move(socket), *tls), shared)->Start();
        } else {
          std::make_shared<Session<PlainStream>>(PlainStream(std::move(socket)), shared)->Start();
        }
      }
      Accept();
    });
  }
};

absl::StatusOr<std::unique_ptr<Listener>> Listener::Start(ListenerOptions options,
                                                          Handler handler) {
  auto split = SplitHostPort(options.address, options.what);
  if (!split.ok()) return split.status();
  auto impl = std::make_unique<Impl>();
  impl->shared->handler = std::move(handler);
  impl->shared->max_request_bytes = options.max_request_bytes;
  impl->shared->idle_timeout = options.idle_timeout;
  if (options.tls) {
    try {
      ssl::context ctx(ssl::context::tls_server);
      ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      ctx.use_certificate_chain(asio::buffer(options.tls->cert_chain_pem));
      ctx.use_private_key(asio::buffer(options.tls->private_key_pem), ssl::context::pem);
      if (options.tls->client_certificates != TlsFiles::kOff) {
        ctx.add_certificate_authority(asio::buffer(options.tls->client_ca_pem));
        ctx.set_verify_mode(ssl::verify_peer |
                            (options.tls->client_certificates == TlsFiles::kRequired
                                 ? ssl::verify_fail_if_no_peer_cert
                                 : 0));
      }
      impl->tls.emplace(std::move(ctx));
    } catch (const boost::system::system_error& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(options.what, ": the TLS certificate or key was refused: ", e.what()));
    }
  }
  beast::error_code ec;
  const auto ip = asio::ip::make_address(split->first, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(options.what, " '", options.address, "': '",
                                                   split->first, "' is not an IP address"));
  }
  const tcp::endpoint endpoint(ip, static_cast<unsigned short>(split->second));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.what, " ", options.address, ": ", ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->work.emplace(impl->io.get_executor());
  impl->Accept();
  Impl* raw = impl.get();
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    impl->threads.emplace_back([raw] { raw->io.run(); });
  }
  return std::unique_ptr<Listener>(new Listener(std::move(impl)));
}

Listener::Listener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Listener::~Listener() { Stop(); }

int Listener::port() const { return impl_->port; }

void Listener::StopAccepting() {
  if (impl_->threads.empty()) return;  // stopped: the acceptor is closed
  std::promise<void> closed;
  asio::post(impl_->acceptor.get_executor(), [this, &closed] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    closed.set_value();
  });
  // The acceptor is used only on the listener's threads; wait until it is closed there.
  closed.get_future().wait();
}

void Listener::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
  }
  StopAccepting();
  std::vector<std::shared_ptr<SessionBase>> open;
  {
    std::lock_guard<std::mutex> lock(impl_->shared->mu);
    impl_->shared->stopped = true;
    for (auto& [raw, weak] : impl_->shared->sessions) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  for (auto& s : open) s->Close();
  open.clear();
  impl_->work.reset();  // run() returns once every connection is closed
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace gridline::http
