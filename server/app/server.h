// Assembles a gridline server from its config: store, worker pool, event hub, gRPC services,
// health and reflection. Used by main() and, in-process, by tests.
#ifndef GRIDLINE_SERVER_APP_SERVER_H_
#define GRIDLINE_SERVER_APP_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "gridline/config/v1/server_config.pb.h"
#include "server/app/config.h"
#include "server/http/tls_files.h"
#include "server/store/store.h"

namespace gridline::app {

// ServerConfig, ParseServerConfig, LoadServerConfig, FinalizeServerConfig.
using ::gridline::app::ServerConfig;

// What `--check_config` checks beyond FinalizeServerConfig, on a finalized config: the TLS
// certificate and key load, and the organisation file reads and parses. (The store is not
// contacted.)
absl::Status CheckServerConfig(const ServerConfig& config);

// The store the config names (SQLite or MySQL), opened and migrated; `config` is finalized.
struct OpenedStore {
  std::unique_ptr<store::Store> store;
  std::string description;  // "sqlite PATH" or "mysql USER@HOST:PORT/DB"
};
absl::StatusOr<OpenedStore> OpenConfiguredStore(const ServerConfig& config);

// `gridline-server bootstrap`: creates the first operator of an installation in the configured
// store and one token for them, written to `token_file` (created with mode 0600; an existing
// file is refused). FAILED_PRECONDITION when an operator exists already.
absl::Status Bootstrap(const ServerConfig& config, const std::string& operator_id,
                       const std::string& display_name, const std::string& token_file);

class GridlineServer {
 public:
  // Opens the store (running migrations), loads the organisation file, and starts serving.
  static absl::StatusOr<std::unique_ptr<GridlineServer>> Start(const ServerConfig& config);
  ~GridlineServer();

  int port() const { return port_; }
  std::string store_description() const { return store_description_; }
  // Lines to print in demo mode: one per demo user with their token.
  const std::vector<std::string>& demo_token_lines() const { return demo_token_lines_; }
  // Outside demo mode: how many stored demo tokens (active, from an earlier demo start) are
  // refused.
  int64_t disabled_demo_tokens() const { return disabled_demo_tokens_; }
  // The port of the metrics endpoint (ServerConfig.metrics_listen_address), 0 without one.
  int metrics_port() const { return metrics_port_; }
  // The port of the HTTP (Connect) endpoint (ServerConfig.http.listen_address), 0 without one.
  int http_port() const { return http_port_; }

  // Ends open streams with UNAVAILABLE (gRPC and Connect alike), lets in-flight calls finish
  // within the grace period, then stops. Idempotent.
  void Shutdown();

 private:
  struct Impl;
  explicit GridlineServer(std::unique_ptr<Impl> impl);
  // The metric families (util::DefaultMetrics) and the gauges that read this server's parts.
  static void DeclareMetrics(Impl* s);
  static void ForgetMetrics();
  // The HTTP (Connect) endpoint of ServerConfig.http, on the running gRPC server.
  static absl::Status StartHttp(Impl* s, std::optional<http::TlsFiles> tls);

  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::string store_description_;
  std::vector<std::string> demo_token_lines_;
  int64_t disabled_demo_tokens_ = 0;
  int metrics_port_ = 0;
  int http_port_ = 0;
};

// The server's version, as --version and gridline_build_info say it.
inline constexpr char kVersion[] = "0.1.0";

}  // namespace gridline::app

#endif  // GRIDLINE_SERVER_APP_SERVER_H_
