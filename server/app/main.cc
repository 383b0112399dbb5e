// gridline-server: reads a ServerConfig (protobuf text format), applies a few flag overrides,
// serves until SIGTERM or SIGINT, then shuts down cleanly.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/text_format.h"
#include "server/app/server.h"
#include "server/store/store.h"

namespace {

constexpr char kUsage[] =
    R"(usage: gridline-server [--config FILE] [flags]
       gridline-server bootstrap --operator USER_ID [--display_name NAME] --token_file FILE
                                 [--config FILE] [store flags]

Serves the gridline.v1 API (ReportService, DispatchService, DepartmentService, AdminService),
grpc.health.v1 and server reflection, in plain text or, with `tls` set in the config file, TLS.

flags (override the config file):
  --config FILE          ServerConfig in protobuf text format (see deploy/*.textproto)
  --listen HOST:PORT     listen address
  --metrics_listen HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics
  --http_listen HOST:PORT  serve the Connect protocol (HTTP/1.1, JSON or binary) there too
  --console_dir DIR  serve the web console's files from DIR on the HTTP endpoint (http.console_dir)
  --sqlite PATH          use the embedded SQLite store at PATH (the default store: gridline.db)
  --mysql_host HOST      use MySQL/MariaDB at HOST (with --mysql_user etc.)
  --mysql_port PORT
  --mysql_user USER
  --mysql_password_file FILE
  --mysql_database NAME
  --mysql_create_database  CREATE DATABASE IF NOT EXISTS at start
  --organisation FILE    load an organisation (gridline.v1.Organisation, text format) at start
  --demo                 demo mode: honour the organisation file's demo tokens and print them
  --worker_threads N     threads for store work
  --check_config         check the configuration (bounds, the MySQL password file, the TLS
                         certificate and key, the organisation file), print it as
                         --print_config does, and exit 0, or 2 naming what is wrong; the store
                         is not contacted (for systemd's ExecStartPre)
  --print_config         print the configuration in effect (every default filled in, the
                         password left out) and exit; the defaults and bounds are written once,
                         in proto/gridline/config/v1/server_config.proto
  --version              print the version and schema version
  --help

bootstrap: the first step of a real install (without --demo). Creates the first operator in the
configured store (migrating it first) and one token for them, written to FILE with mode 0600,
then exits. It refuses (exit 2) when an operator exists already, or when FILE exists. Then start
the server and load the organisation with `gridctl org load` using that token.
  --operator USER_ID     the operator's user id
  --display_name NAME    the operator's name (default: the user id)
  --token_file FILE      where to write the token (a new file)
)";

bool TakeValue(int argc, char** argv, int* i, const char* name, std::string* out) {
  std::string arg = argv[*i];
  std::string prefix = absl::StrCat(name, "=");
  if (arg.rfind(prefix, 0) == 0) {
    *out = arg.substr(prefix.size());
    return true;
  }
  if (arg == name) {
    if (*i + 1 >= argc) {
      std::fprintf(stderr, "gridline-server: %s needs a value\n", name);
      std::exit(2);
    }
    *out = argv[++*i];
    return true;
  }
  return false;
}

int ToInt(const std::string& flag, const std::string& v) {
  int out = 0;
  if (!absl::SimpleAtoi(v, &out)) {
    std::fprintf(stderr, "gridline-server: %s: '%s' is not a number\n", flag.c_str(), v.c_str());
    std::exit(2);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, so every absl::Mutex gRPC takes also updates a global
  // lock-order graph (GraphCycles::GetId: 12 % of the server's CPU with 19,500 idle streams, and a
  // global lock). That is a debugging aid; the server's own locks are checked by the TSan suite.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  using gridline::app::ServerConfig;
  std::string config_path;
  ServerConfig overrides;
  bool demo = false, create_db = false, print_config = false, check_config = false;
  std::string v;
  const bool bootstrap = argc > 1 && std::string(argv[1]) == "bootstrap";
  std::string operator_id, display_name, token_file;
  for (int i = bootstrap ? 2 : 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (bootstrap && (TakeValue(argc, argv, &i, "--operator", &operator_id) ||
                      TakeValue(argc, argv, &i, "--display_name", &display_name) ||
                      TakeValue(argc, argv, &i, "--token_file", &token_file))) {
      continue;
    }
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--version") {
      std::printf("gridline-server %s (schema version %d)\n", gridline::app::kVersion,
                  gridline::store::LatestSchemaVersion());
      return 0;
    } else if (arg == "--print_config") {
      print_config = true;
    } else if (arg == "--check_config") {
      check_config = true;
    } else if (arg == "--demo") {
      demo = true;
    } else if (arg == "--mysql_create_database") {
      create_db = true;
    } else if (TakeValue(argc, argv, &i, "--config", &config_path)) {
    } else if (TakeValue(argc, argv, &i, "--listen", &v)) {
      overrides.set_listen_address(v);
    } else if (TakeValue(argc, argv, &i, "--metrics_listen", &v)) {
      overrides.set_metrics_listen_address(v);
    } else if (TakeValue(argc, argv, &i, "--http_listen", &v)) {
      overrides.mutable_http()->set_listen_address(v);
    } else if (TakeValue(argc, argv, &i, "--console_dir", &v)) {
      overrides.mutable_http()->set_console_dir(v);
    } else if (TakeValue(argc, argv, &i, "--sqlite", &v)) {
      overrides.mutable_store()->mutable_sqlite()->set_path(v);
    } else if (TakeValue(argc, argv, &i, "--mysql_host", &v)) {
      overrides.mutable_store()->mutable_mysql()->set_host(v);
    } else if (TakeValue(argc, argv, &i, "--mysql_port", &v)) {
      overrides.mutable_store()->mutable_mysql()->set_port(ToInt("--mysql_port", v));
    } else if (TakeValue(argc, argv, &i, "--mysql_user", &v)) {
      overrides.mutable_store()->mutable_mysql()->set_user(v);
    } else if (TakeValue(argc, argv, &i, "--mysql_password_file", &v)) {
      overrides.mutable_store()->mutable_mysql()->set_password_file(v);
    } else if (TakeValue(argc, argv, &i, "--mysql_database", &v)) {
      overrides.mutable_store()->mutable_mysql()->set_database(v);
    } else if (TakeValue(argc, argv, &i, "--organisation", &v)) {
      overrides.set_organisation_file(v);
    } else if (TakeValue(argc, argv, &i, "--worker_threads", &v)) {
      overrides.set_worker_threads(ToInt("--worker_threads", v));
    } else {
      std::fprintf(stderr, "gridline-server: unknown argument '%s' (see --help)\n", arg.c_str());
      return 2;
    }
  }

  ServerConfig config;
  if (!config_path.empty()) {
    auto loaded = gridline::app::LoadServerConfig(config_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "gridline-server: %s\n", std::string(loaded.status().message()).c_str());
      return 2;
    }
    config = *loaded;
  }
  if (overrides.store().has_mysql() && config.store().has_mysql()) {
    // Merge field by field so that, e.g., --mysql_port alone keeps the file's host and user.
    config.mutable_store()->mutable_mysql()->MergeFrom(overrides.store().mysql());
    overrides.mutable_store()->clear_mysql();
  }
  config.MergeFrom(overrides);
  if (create_db) config.mutable_store()->mutable_mysql()->set_create_database(true);
  if (demo) config.set_demo(true);
  // The demo serves Open311 on its HTTP endpoint unless the configuration says otherwise.
  if (demo && !config.http().has_open311())
    config.mutable_http()->mutable_open311()->set_enabled(true);
  if (bootstrap) {
    absl::Status s = gridline::app::Bootstrap(
        config, operator_id, display_name.empty() ? operator_id : display_name, token_file);
    if (!s.ok()) {
      std::fprintf(stderr, "gridline-server bootstrap: %s\n", std::string(s.message()).c_str());
      return s.code() == absl::StatusCode::kInvalidArgument ||
                     s.code() == absl::StatusCode::kFailedPrecondition ||
                     s.code() == absl::StatusCode::kAlreadyExists
                 ? 2
                 : 1;
    }
    std::printf("gridline-server bootstrap: created operator %s; the token is in %s\n",
                operator_id.c_str(), token_file.c_str());
    return 0;
  }
  if (print_config || check_config) {
    absl::Status s = gridline::app::FinalizeServerConfig(&config);
    if (s.ok() && check_config) s = gridline::app::CheckServerConfig(config);
    if (!s.ok()) {
      std::fprintf(stderr, "gridline-server: %s\n", std::string(s.message()).c_str());
      return 2;
    }
    if (config.store().has_mysql()) config.mutable_store()->mutable_mysql()->clear_password();
    config.mutable_cluster()->clear_secret();
    std::string text;
    google::protobuf::TextFormat::PrintToString(config, &text);
    std::fputs(text.c_str(), stdout);
    return 0;
  }

  // Signals are taken synchronously by main's sigwait: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto server = gridline::app::GridlineServer::Start(config);
  if (!server.ok()) {
    std::fprintf(stderr, "gridline-server: cannot start: %s\n",
                 std::string(server.status().message()).c_str());
    return absl::IsInvalidArgument(server.status()) ? 2 : 1;
  }
  if (config.demo()) {
    std::printf("\nDEMO MODE: these tokens are for demonstration only.\n");
    std::printf("Call with metadata  authorization: Bearer <token>\n\n");
    for (const auto& line : (*server)->demo_token_lines()) std::printf("  %s\n", line.c_str());
    std::printf("\n");
  }
  if ((*server)->disabled_demo_tokens() > 0) {
    std::printf(
        "gridline-server: %lld demo token(s) in the store are disabled: the server is not "
        "in demo mode (revoke them with AdminService.RevokeToken to remove them)\n",
        static_cast<long long>((*server)->disabled_demo_tokens()));
  }
  std::printf("gridline-server listening on port %d (%s, %s), store: %s\n", (*server)->port(),
              config.listen_address().c_str(), config.has_tls() ? "TLS" : "plain text",
              (*server)->store_description().c_str());
  if ((*server)->http_port() != 0) {
    std::printf("gridline-server: Connect over HTTP/1.1 on port %d (%s, %s)\n",
                (*server)->http_port(), config.http().listen_address().c_str(),
                config.http().has_tls() ? "TLS" : "plain text");
  }
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("gridline-server: %s received, shutting down\n", strsignal(sig));
  std::fflush(stdout);
  (*server)->Shutdown();
  std::printf("gridline-server: stopped\n");
  return 0;
}
