// The server's HTTP/1.1 ports (the metrics port, the Connect endpoint): Boost.Beast over Asio, in
// plain text or TLS, on threads of their own. A Listener accepts connections and reads requests;
// a Handler answers each one, at once or later from any thread, with a whole response or a
// stream of chunks (Transfer-Encoding: chunked) that is flushed chunk by chunk.
#ifndef GRIDLINE_SERVER_HTTP_LISTENER_H_
#define GRIDLINE_SERVER_HTTP_LISTENER_H_

#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "server/http/tls_files.h"

namespace gridline::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// One request and its answer. Every method may be called from any thread. A handler calls either
// Respond once, or StartStream, then WriteChunk (one at a time: the next after `done`), then
// EndStream once. A streamed response closes the connection at its end.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual const Request& request() const = 0;
  // The client's address as gRPC spells peers: "ipv4:10.0.0.7:51234", "ipv6:[::1]:51234".
  virtual const std::string& peer() const = 0;
  // The certificate the client presented in the TLS handshake (verified against the client CA),
  // PEM; empty without one.
  virtual const std::string& client_certificate_pem() const = 0;

  virtual void Respond(Response response) = 0;
  // Sends `header` (its body ignored) with chunked transfer encoding. `done(false)`: the client is
  // gone.
  virtual void StartStream(Response header, std::function<void(bool ok)> done) = 0;
  virtual void WriteChunk(std::string data, std::function<void(bool ok)> done) = 0;
  virtual void EndStream() = 0;
  // `gone` runs once if the client closes the connection or the listener stops while a stream is
  // open (at most once, on the listener's thread; not after EndStream).
  virtual void OnGone(std::function<void()> gone) = 0;
};

using Handler = std::function<void(std::shared_ptr<Exchange>)>;

struct ListenerOptions {
  std::string address;  // "host:port"; port 0 picks one
  std::string what;     // the config field, for messages ("http.listen_address")
  int threads = 1;      // threads that run the connections
  std::optional<TlsFiles> tls;
  uint64_t max_request_bytes = 1 << 20;   // larger: 413
  std::chrono::seconds idle_timeout{30};  // between requests, and for one write
};

class Listener {
 public:
  // Listens and serves until Stop or destruction. INVALID_ARGUMENT for an address that is not
  // IP:PORT or bad TLS material, UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<Listener>> Start(ListenerOptions options, Handler handler);
  ~Listener();
  int port() const;
  // Accepts no more connections; those open go on.
  void StopAccepting();
  // Closes every connection (an open stream's `gone` runs) and joins the threads. Handlers may
  // still call their exchanges afterwards: nothing more is sent. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit Listener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "HOST:PORT" (HOST an IP address, "[v6]" or empty for any) as an address and port; `what` names
// the field in the message.
absl::StatusOr<std::pair<std::string, int>> SplitHostPort(const std::string& address,
                                                          const std::string& what);

}  // namespace gridline::http

#endif  // GRIDLINE_SERVER_HTTP_LISTENER_H_
