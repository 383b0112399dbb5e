#include "server/app/server.h"

#include <fcntl.h>
#include <google/protobuf/text_format.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gridline/v1/admin_service.grpc.pb.h"
#include "gridline/v1/department_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "server/api/admin_service.h"
#include "server/api/case_services.h"
#include "server/api/convert.h"
#include "server/api/parse_errors.h"
#include "server/api/patrol_service.h"
#include "server/api/peer_service.h"
#include "server/api/report_service.h"
#include "server/app/config.h"
#include "server/app/metrics_server.h"
#include "server/app/tls.h"
#include "server/domain/organisation.h"
#include "server/http/connect.h"
#include "server/http/listener.h"
#include "server/http/open311.h"
#include "server/http/static_site.h"
#include "server/runtime/event_hub.h"
#include "server/runtime/peer_notifier.h"
#include "server/runtime/worker_pool.h"
#include "server/service/admin_service.h"
#include "server/service/attachments.h"
#include "server/service/guard.h"
#include "server/service/org_import.h"
#include "server/store/blob_store.h"
#include "server/store/mysql_driver.h"
#include "server/util/log.h"
#include "server/util/metrics.h"
#include "server/util/sha256.h"

namespace gridline::app {
namespace {

// The public services: the parse-error interceptor covers them, the Connect endpoint serves them.
const std::set<std::string>& PublicServices() {
  static const auto* services = new std::set<std::string>{
      "gridline.v1.ReportService", "gridline.v1.DispatchService", "gridline.v1.DepartmentService",
      "gridline.v1.AdminService", "gridline.v1.PatrolService"};
  return *services;
}

service::TokenPolicy TokenPolicyOf(const ServerConfig& config) {
  service::TokenPolicy p;
  p.default_lifetime =
      static_cast<domain::Micros>(config.tokens().default_lifetime_days()) * 24 * 3600 * 1000000;
  p.rotation_grace =
      static_cast<domain::Micros>(config.tokens().rotation_grace_hours()) * 3600 * 1000000;
  return p;
}

// The limits of `in` over `base`: only the fields set replace.
service::CallLimitRules LimitsOf(const config::v1::CallLimits& in, service::CallLimitRules base) {
  if (in.has_writes_per_second()) base.writes.per_second = in.writes_per_second();
  if (in.has_write_burst()) base.writes.burst = in.write_burst();
  if (in.has_upload_bytes_per_hour()) {
    base.upload_bytes.per_second = static_cast<double>(in.upload_bytes_per_hour()) / 3600;
    base.upload_bytes.burst = static_cast<double>(in.upload_bytes_per_hour());
  }
  if (in.has_stream_opens_per_minute())
    base.stream_opens.per_second = in.stream_opens_per_minute() / 60;
  if (in.has_stream_open_burst()) base.stream_opens.burst = in.stream_open_burst();
  return base;
}

service::GuardConfig GuardConfigOf(const ServerConfig& config) {
  const auto& r = config.rate_limits();
  service::GuardConfig g;
  g.enabled = r.enabled();
  g.demo = config.demo();
  g.per_token = LimitsOf(r.per_token(), g.per_token);
  g.per_peer = LimitsOf(r.per_peer(), g.per_peer);
  for (const auto& role_limits : r.per_role()) {
    v1::Role role = v1::ROLE_UNSPECIFIED;
    v1::Role_Parse(role_limits.role(), &role);  // checked by FinalizeServerConfig
    g.per_role[static_cast<domain::Role>(role)] = LimitsOf(role_limits.limits(), g.per_token);
  }
  g.max_streams_per_user = r.max_streams_per_user();
  g.lockout.failures_before_lockout = r.auth_failures_before_lockout();
  g.lockout.first_lockout = static_cast<domain::Micros>(r.lockout_seconds()) * 1000000;
  g.lockout.max_lockout = static_cast<domain::Micros>(r.max_lockout_seconds()) * 1000000;
  return g;
}

}  // namespace

struct GridlineServer::Impl {
  ServerConfig config;
  api::CallLog* call_log = nullptr;  // owned by the gRPC server
  std::atomic<bool> serving{true};
  std::unique_ptr<MetricsServer> metrics;
  std::unique_ptr<util::SystemClock> clock;
  std::unique_ptr<store::Store> store;
  // Declared before the gRPC server: open streams hold places in it until they end.
  std::unique_ptr<service::Guard> guard;
  // Before the pool, which may still run its batches while it joins.
  std::unique_ptr<api::StreamRechecks> rechecks;
  std::unique_ptr<runtime::WorkerPool> pool;
  std::unique_ptr<runtime::EventHub> hub;
  // The cluster (ServerConfig.cluster): after the hub, so that they go first.
  std::unique_ptr<api::GrpcPeerTransport> peer_transport;
  std::unique_ptr<runtime::PeerNotifier> peer_notifier;
  std::unique_ptr<api::PeerServiceImpl> peer_service;
  std::unique_ptr<grpc::Server> peer_server;
  std::unique_ptr<service::CaseService> cases;
  std::unique_ptr<store::BlobStore> blobs;
  std::unique_ptr<service::AttachmentService> attachments;
  std::unique_ptr<service::EvaluationService> evaluations;
  std::unique_ptr<service::PatrolService> patrols;
  std::unique_ptr<service::AccountabilityService> accountability;
  std::unique_ptr<api::ReportServiceImpl> report_service;
  std::unique_ptr<api::PatrolServiceImpl> patrol_service;
  std::unique_ptr<v1::DispatchService::CallbackService> dispatch_service;
  std::unique_ptr<v1::DepartmentService::CallbackService> department_service;
  std::unique_ptr<v1::AdminService::CallbackService> admin_service;
  std::unique_ptr<grpc::Server> server;
  // The HTTP (Connect) endpoint, after the gRPC server it calls in-process: it goes first.
  std::unique_ptr<http::ConnectEndpoint> connect_endpoint;
  std::unique_ptr<http::Open311Endpoint> open311_endpoint;  // http.open311; null when off
  std::unique_ptr<http::Listener> http_listener;
  std::unique_ptr<http::StaticSite> console;  // HttpConfig.console_dir

  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool shut_down = false;
  std::thread health;
  std::thread attachment_cleanup;
  std::thread deadline_warnings;

  // grpc.health.v1 says SERVING only while the store answers.
  void HealthLoop() {
    auto* health_service = server->GetHealthCheckService();
    std::unique_lock<std::mutex> lock(mu);
    bool was_ok = true;  // SERVING since the start
    while (!stopping) {
      lock.unlock();
      const absl::Status ping = store->Ping();
      const bool ok = ping.ok();
      health_service->SetServingStatus(ok);
      serving = ok;
      if (ok != was_ok) {
        util::Log(ok ? util::LogLevel::kInfo : util::LogLevel::kError, "health",
                  {{"status", ok ? "SERVING" : "NOT_SERVING"},
                   {"detail", ok ? "the store answers again" : std::string(ping.message())}});
        was_ok = ok;
      }
      lock.lock();
      cv.wait_for(lock, std::chrono::milliseconds(config.health_check_interval_ms()),
                  [&] { return stopping; });
    }
  }

  void DeadlineLoop();

  // Deletes photos no case uses once they are past the grace period; on its own thread, since
  // a sweep of the photo directory may take a while.
  void AttachmentCleanupLoop() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stopping) {
      cv.wait_for(lock, std::chrono::seconds(config.attachments().cleanup_interval_seconds()),
                  [&] { return stopping; });
      if (stopping) break;
      lock.unlock();
      auto deleted = attachments->Cleanup(clock->NowMicros());
      if (!deleted.ok()) {
        std::fprintf(stderr, "gridline: photo cleanup failed: %s\n",
                     std::string(deleted.status().message()).c_str());
      }
      lock.lock();
    }
  }
};

// The overdue warnings of every replica: on its own thread, with the store work done here.
void GridlineServer::Impl::DeadlineLoop() {
  const auto& d = config.deadline_warnings();
  std::unique_lock<std::mutex> lock(mu);
  while (!stopping) {
    cv.wait_for(lock, std::chrono::seconds(d.check_interval_seconds()), [&] { return stopping; });
    if (stopping) break;
    lock.unlock();
    auto written = cases->WarnDeadlines(
        clock->NowMicros(), static_cast<domain::Micros>(d.warn_before_minutes()) * 60 * 1000000);
    if (!written.ok()) {
      std::fprintf(stderr, "gridline: deadline warnings failed: %s\n",
                   std::string(written.status().message()).c_str());
    }
    auto escalated = cases->EscalateSupervisionOrders(
        clock->NowMicros(),
        static_cast<domain::Micros>(config.supervision().escalation_interval_minutes()) * 60 *
            1000000);
    if (!escalated.ok()) {
      std::fprintf(stderr, "gridline: supervision escalation failed: %s\n",
                   std::string(escalated.status().message()).c_str());
    }
    lock.lock();
  }
}

namespace {
// The gauges read the parts of one server; ForgetMetrics drops them when it stops.
constexpr const char* kGauges[] = {
    "gridline_open_streams",          "gridline_worker_queue_depth", "gridline_hub_lag_events",
    "gridline_health_serving",        "gridline_build_info",         "gridline_peers_heard",
    "gridline_store_mysql_host_index"};
}  // namespace

void GridlineServer::DeclareMetrics(Impl* s) {
  util::Metrics& m = util::DefaultMetrics();
  m.DeclareCounter("gridline_rpc_requests_total",
                   "Calls finished, by full method name and gRPC status code.");
  m.DeclareHistogram("gridline_rpc_duration_seconds",
                     "Time from a call's start to its status, by full method name.",
                     util::LatencyBuckets());
  m.DeclareHistogram("gridline_store_transaction_duration_seconds",
                     "Time of a store write transaction, retries included.",
                     util::LatencyBuckets());
  m.DeclareHistogram("gridline_store_commit_duration_seconds",
                     "Time of a store write transaction's COMMIT alone (on SQLite: the WAL's "
                     "fsync).",
                     {0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1});
  m.DeclareHistogram("gridline_store_lock_wait_seconds",
                     "Time a SQLite statement waited for another connection's lock.",
                     util::LatencyBuckets());
  m.DeclareHistogram("gridline_store_group_commit_size",
                     "Reports written by one group commit (one transaction, one commit).",
                     {1, 2, 4, 8, 16, 32, 64, 128, 256});
  m.DeclareCounter("gridline_store_group_reruns_total",
                   "Group commits run again with a savepoint per report, after a report failed "
                   "in the first try or a retried request met its stored case.");
  m.DeclareCounter("gridline_store_transaction_conflicts_total",
                   "Store transactions that met a deadlock, a lock wait timeout or a lost "
                   "connection.");
  m.DeclareCounter("gridline_store_transaction_retries_total",
                   "Store transactions run again after a conflict.");
  m.DeclareCounter("gridline_store_mysql_failovers_total",
                   "Moves of the MySQL store to another of store.mysql.hosts (the current one "
                   "failed or was not ready).");
  m.DeclareGauge("gridline_store_mysql_host_index",
                 "The index in store.mysql.hosts (from 0) of the server the MySQL store sends "
                 "its work to, labelled with the database and that host.",
                 [] { return store::MysqlCurrentHosts(); });
  m.DeclareCounter("gridline_auth_failures_total",
                   "Calls refused UNAUTHENTICATED by the token check (missing, unknown, revoked, "
                   "expired, demo outside demo mode, or without its bound certificate).");
  m.DeclareCounter("gridline_denied_calls_total",
                   "Calls that ended UNAUTHENTICATED or PERMISSION_DENIED, by code.");
  m.DeclareCounter("gridline_rate_limited_total",
                   "Calls refused RESOURCE_EXHAUSTED by a rate limit or lockout, by limit.");
  m.DeclareCounter("gridline_feed_polls_total",
                   "Reads of the event table by the event hub, by what caused them: interval (the "
                   "regular poll), commit (a commit through this replica), peer (another "
                   "replica's notification), retry (following up a notification that was ahead "
                   "of the table).");
  m.DeclareCounter("gridline_peer_notifications_sent_total",
                   "Notifications of commits sent to each peer (cluster.peers), by result: ok, "
                   "failed, dropped (cluster.test_drop_notifications).");
  m.DeclareCounter("gridline_peer_notifications_received_total",
                   "Notifications received from peers, by outcome: new (ahead of this replica: "
                   "it reads the table), known (nothing new: a keepalive or a repeat), refused "
                   "(no or a wrong cluster secret), invalid.");
  m.DeclareGauge("gridline_peers_heard",
                 "Peer replicas heard from within cluster.silence_ms; while fewer than "
                 "cluster.peers lists, the hub polls every watch.poll_interval_ms.",
                 [s] {
                   return std::vector<std::pair<util::MetricLabels, double>>{
                       {{}, static_cast<double>(s->hub->peers_heard())}};
                 });
  m.DeclareGauge("gridline_open_streams", "Streaming calls open, by service.", [s] {
    std::vector<std::pair<util::MetricLabels, double>> out;
    for (const auto& [service, n] : s->call_log->OpenStreams()) {
      out.push_back({{{"service", service}}, static_cast<double>(n)});
    }
    return out;
  });
  m.DeclareGauge("gridline_worker_queue_depth", "Tasks waiting for a worker thread.", [s] {
    return std::vector<std::pair<util::MetricLabels, double>>{
        {{}, static_cast<double>(s->pool->queued())}};
  });
  m.DeclareGauge(
      "gridline_hub_lag_events",
      "Events committed to the store but not yet routed to the streams (newest committed "
      "sequence number minus newest delivered); absent while the store does not answer.",
      [s] {
        std::vector<std::pair<util::MetricLabels, double>> out;
        auto last = s->store->LastEventSeq();
        if (last.ok()) {
          out.push_back(
              {{}, static_cast<double>(std::max<int64_t>(0, *last - s->hub->routed_head()))});
        }
        return out;
      });
  m.DeclareGauge(
      "gridline_health_serving", "1 while grpc.health.v1 says SERVING (the store answers), else 0.",
      [s] {
        return std::vector<std::pair<util::MetricLabels, double>>{{{}, s->serving ? 1.0 : 0.0}};
      });
  m.DeclareGauge("gridline_build_info", "The server's version and schema version (always 1).", [] {
    return std::vector<std::pair<util::MetricLabels, double>>{
        {{{"version", kVersion}, {"schema_version", std::to_string(store::LatestSchemaVersion())}},
         1.0}};
  });
}

void GridlineServer::ForgetMetrics() {
  for (const char* name : kGauges) util::DefaultMetrics().DeclareGauge(name, "", nullptr);
}

absl::Status CheckServerConfig(const ServerConfig& config) {
  if (auto credentials = MakeServerCredentials(config); !credentials.ok()) {
    return credentials.status();
  }
  if (config.http().has_tls()) {
    if (auto files = LoadTlsFiles(config.http().tls(), "http.tls"); !files.ok()) {
      return files.status();
    }
  }
  if (!config.organisation_file().empty()) {
    auto text = ReadWholeFile(config.organisation_file());
    if (!text.ok()) return text.status();
    v1::Organisation org;
    if (absl::Status s = ParseTextMessage(*text, &org, config.organisation_file()); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<OpenedStore> OpenConfiguredStore(const ServerConfig& config) {
  OpenedStore out;
  if (config.store().has_mysql()) {
    const auto& m = config.store().mysql();
    store::MysqlOptions o;
    o.host = m.host();
    o.port = m.port();
    o.user = m.user();
    o.password = m.password();
    o.database = m.database();
    o.pool_size = m.pool_size();
    o.create_database = m.create_database();
    o.connect_timeout_seconds = m.connect_timeout_seconds();
    o.read_timeout_seconds = m.read_timeout_seconds();
    for (const std::string& entry : m.hosts()) {
      auto host = ParseHostPort(entry);  // checked by FinalizeServerConfig
      if (!host.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("store.mysql.hosts: '", entry, "': ", host.status().message()));
      }
      o.hosts.push_back({host->first, host->second});
    }
    o.figures_utc_offset_minutes = config.evaluation().utc_offset_minutes();
    auto store = store::OpenMysqlStore(o);
    if (!store.ok()) return store.status();
    out.store = *std::move(store);
    const std::string where =
        m.hosts().empty() ? absl::StrCat(m.host(), ":", m.port()) : absl::StrJoin(m.hosts(), ",");
    out.description = absl::StrCat("mysql ", m.user(), "@", where, "/", m.database());
  } else {
    store::SqliteOptions o;
    o.path = config.store().sqlite().path();
    // Readers; writes take the one writer connection (ConnectionPool::AcquireWriter). Each may
    // cache 16 MiB of pages, and most threads wait for a group commit rather than read.
    o.pool_size = std::min(config.worker_threads() + 2, 16);
    o.figures_utc_offset_minutes = config.evaluation().utc_offset_minutes();
    auto store = store::OpenSqliteStore(o);
    if (!store.ok()) return store.status();
    out.store = *std::move(store);
    out.description = absl::StrCat("sqlite ", o.path);
  }
  return out;
}

absl::Status Bootstrap(const ServerConfig& config_in, const std::string& operator_id,
                       const std::string& display_name, const std::string& token_file) {
  ServerConfig config = config_in;
  if (absl::Status s = FinalizeServerConfig(&config); !s.ok()) return s;
  if (token_file.empty()) return absl::InvalidArgumentError("--token_file is required");
  if (operator_id.empty()) return absl::InvalidArgumentError("--operator is required");
  // The file first, so that a token is never created that nobody can read; never over another.
  const int fd =
      ::open(token_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot create ", token_file, ": ", std::strerror(errno),
        errno == EEXIST ? " (it exists; bootstrap never overwrites a token file)" : ""));
  }
  auto fail = [&](absl::Status s) {
    ::close(fd);
    ::unlink(token_file.c_str());
    return s;
  };
  auto opened = OpenConfiguredStore(config);
  if (!opened.ok()) return fail(opened.status());
  util::SystemClock clock(config.test_clock_offset_seconds() * 1000000);
  service::AdminService admin(opened->store.get(), opened->store.get(), opened->store.get(), &clock,
                              TokenPolicyOf(config));
  auto issued = admin.Bootstrap(operator_id, display_name);
  if (!issued.ok()) return fail(issued.status());
  const std::string line = issued->token + "\n";
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) ||
      ::fsync(fd) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return absl::DataLossError(
        absl::StrCat("the operator ", operator_id, " and token ", issued->info.token_id,
                     " were created, but writing ", token_file, " failed (", why,
                     "): revoke that token from the store and issue another"));
  }
  ::close(fd);
  return absl::OkStatus();
}

namespace {

// The Open311 facade (http.open311): like Connect, it calls the gRPC server in-process.
std::unique_ptr<http::Open311Endpoint> MakeOpen311(const config::v1::HttpConfig& h, bool tls,
                                                   std::shared_ptr<grpc::Channel> channel,
                                                   const util::Clock* clock) {
  const auto& o = h.open311();
  http::Open311Options options;
  options.path_prefix = o.path_prefix();
  options.jurisdiction_id = o.jurisdiction_id();
  if (!o.anonymous_api_key_file().empty()) {  // checked readable by FinalizeServerConfig
    std::ifstream in(o.anonymous_api_key_file());
    std::getline(in, options.anonymous_api_key);
    options.anonymous_api_key = std::string(absl::StripAsciiWhitespace(options.anonymous_api_key));
  }
  options.contact = o.contact();
  options.key_service = o.key_service();
  options.max_requests = o.max_requests();
  options.tls = tls;
  options.cors_allowed_origins.assign(h.cors_allowed_origins().begin(),
                                      h.cors_allowed_origins().end());
  options.clock = clock;
  return std::make_unique<http::Open311Endpoint>(std::move(channel), std::move(options));
}

}  // namespace

// The HTTP endpoint: every Connect call goes to the gRPC server through its in-process channel,
// so it meets the same interceptors (call log, parse errors) and handlers as a gRPC call.
absl::Status GridlineServer::StartHttp(Impl* s, std::optional<http::TlsFiles> tls) {
  const auto& h = s->config.http();
  http::ConnectOptions options;
  options.services = PublicServices();
  options.cors_allowed_origins.assign(h.cors_allowed_origins().begin(),
                                      h.cors_allowed_origins().end());
  options.serve_metrics = h.serve_metrics();
  options.serving = [s] { return s->serving.load(); };
  s->connect_endpoint = std::make_unique<http::ConnectEndpoint>(
      s->server->InProcessChannel(grpc::ChannelArguments()), std::move(options));
  http::ListenerOptions listen;
  listen.address = h.listen_address();
  listen.what = "http.listen_address";
  listen.threads = h.threads();
  listen.tls = std::move(tls);
  listen.max_request_bytes = static_cast<uint64_t>(h.max_request_bytes());
  listen.idle_timeout = std::chrono::seconds(h.idle_timeout_seconds());
  if (h.open311().enabled()) {
    s->open311_endpoint =
        MakeOpen311(h, listen.tls.has_value(),
                    s->server->InProcessChannel(grpc::ChannelArguments()), s->clock.get());
  }
  if (!h.console_dir().empty()) {
    auto console = http::StaticSite::Load({h.console_dir(), h.console_tile_url()});
    if (!console.ok()) return console.status();
    s->console = *std::move(console);
  }
  http::ConnectEndpoint* endpoint = s->connect_endpoint.get();
  http::Open311Endpoint* open311 = s->open311_endpoint.get();
  const http::StaticSite* console = s->console.get();
  // By path: Open311's prefix, then the Connect API's routes, then the console's files (GET and
  // HEAD of any other path).
  auto listener = http::Listener::Start(
      std::move(listen), [endpoint, open311, console](std::shared_ptr<http::Exchange> exchange) {
        if (open311 != nullptr && open311->Serves(std::string(exchange->request().target()))) {
          return open311->Handle(std::move(exchange));
        }
        if (console != nullptr && console->Serves(exchange->request())) {
          return exchange->Respond(console->Answer(exchange->request()));
        }
        endpoint->Handle(std::move(exchange));
      });
  if (!listener.ok()) return listener.status();
  s->http_listener = *std::move(listener);
  return absl::OkStatus();
}

GridlineServer::GridlineServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GridlineServer::~GridlineServer() { Shutdown(); }

absl::StatusOr<std::unique_ptr<GridlineServer>> GridlineServer::Start(
    const ServerConfig& config_in) {
  auto impl = std::make_unique<Impl>();
  impl->config = config_in;
  if (absl::Status s = FinalizeServerConfig(&impl->config); !s.ok()) return s;
  const ServerConfig& config = impl->config;
  util::SetLogLevel(static_cast<util::LogLevel>(config.log().level()));
  // Tests only (see ServerConfig.test_clock_offset_seconds): every time the server takes
  // follows this clock.
  impl->clock = std::make_unique<util::SystemClock>(config.test_clock_offset_seconds() * 1000000);
  const util::Clock* clock = impl->clock.get();
  if (config.test_clock_offset_seconds() != 0) {
    std::fprintf(stderr, "gridline-server: TEST CLOCK: %lld s off the machine's clock\n",
                 static_cast<long long>(config.test_clock_offset_seconds()));
  }
  // Before the store: a bad certificate should not wait for migrations to be reported.
  auto credentials = MakeServerCredentials(config);
  if (!credentials.ok()) return credentials.status();
  std::optional<TlsFiles> http_tls;
  if (!config.http().listen_address().empty() && config.http().has_tls()) {
    auto files = LoadTlsFiles(config.http().tls(), "http.tls");
    if (!files.ok()) return files.status();
    http_tls = *std::move(files);
  }

  auto opened = OpenConfiguredStore(config);
  if (!opened.ok()) return opened.status();
  impl->store = std::move(opened->store);
  const std::string store_description = opened->description;

  std::vector<std::string> token_lines;
  if (!config.organisation_file().empty()) {
    auto text = ReadWholeFile(config.organisation_file());
    if (!text.ok()) return text.status();
    v1::Organisation org;
    if (absl::Status s = ParseTextMessage(*text, &org, config.organisation_file()); !s.ok()) {
      return s;
    }
    auto lines = service::LoadOrganisation(impl->store.get(), impl->store.get(),
                                           api::FromProto(org), config.demo(), clock->NowMicros());
    if (!lines.ok()) {
      return absl::Status(lines.status().code(),
                          absl::StrCat(config.organisation_file(), ": ", lines.status().message()));
    }
    token_lines = *std::move(lines);
  }
  int64_t disabled_demo_tokens = 0;
  if (!config.demo()) {
    // Demo tokens stored by an earlier start in demo mode are refused now: say how many.
    auto tokens = impl->store->ListTokens("", false, clock->NowMicros());
    if (!tokens.ok()) return tokens.status();
    for (const auto& t : *tokens) disabled_demo_tokens += t.demo ? 1 : 0;
  }

  auto blobs = store::BlobStore::Open(config.attachments().directory());
  if (!blobs.ok()) return blobs.status();
  impl->blobs = *std::move(blobs);

  impl->pool = std::make_unique<runtime::WorkerPool>(
      config.worker_threads(), static_cast<size_t>(config.max_queued_calls()));
  runtime::EventHub::Options hub_options;
  hub_options.poll_interval_ms = config.watch().poll_interval_ms();
  hub_options.heartbeat_interval_ms = config.watch().heartbeat_interval_ms();
  hub_options.retention_days = config.watch().retention_days();
  hub_options.slow_consumer_timeout_ms = config.watch().slow_consumer_timeout_ms();
  hub_options.reauth_interval_ms = config.watch().reauth_interval_ms();
  hub_options.clock = clock;
  const auto& cluster = config.cluster();
  if (!cluster.peers().empty()) {
    // Commits are told to the peers by the notifier's own thread; the hub only hands it the seq.
    std::vector<std::string> peers(cluster.peers().begin(), cluster.peers().end());
    impl->peer_transport = std::make_unique<api::GrpcPeerTransport>(
        peers, cluster.secret(), util::RandomHex(8), cluster.notify_deadline_ms());
    runtime::PeerNotifier::Options n;
    n.peers = peers;
    n.keepalive_interval_ms = cluster.keepalive_interval_ms();
    n.test_drop = cluster.test_drop_notifications();
    n.test_duplicate = cluster.test_duplicate_notifications();
    n.test_delay_ms = cluster.test_delay_notifications_ms();
    Impl* raw = impl.get();
    impl->peer_notifier = std::make_unique<runtime::PeerNotifier>(
        impl->peer_transport.get(), n, [raw] { return raw->hub->head(); });
    runtime::PeerNotifier* notifier = impl->peer_notifier.get();
    hub_options.on_commit = [notifier](int64_t head) { notifier->Committed(head); };
    hub_options.peers = cluster.peers_size();
  }
  hub_options.peer_poll_interval_ms = cluster.poll_interval_ms();
  hub_options.peer_silence_ms = cluster.silence_ms();
  hub_options.min_notified_poll_interval_ms = cluster.min_notified_poll_interval_ms();
  hub_options.early_notification_wait_ms = cluster.early_notification_wait_ms();
  impl->hub = std::make_unique<runtime::EventHub>(impl->store.get(), hub_options);
  if (absl::Status s = impl->hub->Start(); !s.ok()) return s;
  store::Store* s = impl->store.get();
  impl->cases = std::make_unique<service::CaseService>(
      s, s, s, impl->hub.get(), config.evaluation().utc_offset_minutes(), s, s);
  impl->patrols = std::make_unique<service::PatrolService>(s, s, s);
  impl->attachments = std::make_unique<service::AttachmentService>(
      s, s, impl->blobs.get(), config.attachments().max_bytes(),
      config.attachments().orphan_grace_seconds() * 1000000);

  impl->guard = std::make_unique<service::Guard>(s, s, GuardConfigOf(config));
  auto call_log = std::make_unique<api::CallLog>(config.log().calls(), impl->guard.get(), clock);
  impl->call_log = call_log.get();
  api::ServiceContext deps{impl->store.get(), impl->pool.get(), impl->hub.get(), impl->cases.get()};
  deps.call_log = call_log.get();
  deps.guard = impl->guard.get();
  impl->rechecks =
      std::make_unique<api::StreamRechecks>(impl->guard.get(), impl->pool.get(), clock);
  deps.rechecks = impl->rechecks.get();
  deps.token_policy = TokenPolicyOf(config);
  deps.attachments = impl->attachments.get();
  deps.demo = config.demo();
  deps.clock = clock;
  {
    const auto& a = config.accountability();
    domain::AccountabilityRules rules;
    rules.find_radius_metres = a.find_radius_metres();
    rules.find_window = static_cast<domain::Micros>(a.find_window_hours()) * 3600 * 1000000;
    rules.triage_limit = static_cast<domain::Micros>(a.triage_limit_minutes()) * 60 * 1000000;
    rules.recurrence_radius_metres = a.recurrence_radius_metres();
    rules.recurrence_window =
        static_cast<domain::Micros>(a.recurrence_window_days()) * 24 * 3600 * 1000000;
    rules.leader_weight = a.leader_weight();
    rules.media_weight = a.media_weight();
    rules.public_weight = a.public_weight();
    impl->accountability = std::make_unique<service::AccountabilityService>(
        s, s, rules, config.evaluation().utc_offset_minutes());
  }
  deps.flags.red_on_time_rate = config.evaluation().red_on_time_rate();
  deps.flags.black_on_time_rate = config.evaluation().black_on_time_rate();
  deps.flags.red_rework_rate = config.evaluation().red_rework_rate();
  deps.flags.black_rework_rate = config.evaluation().black_rework_rate();
  deps.flags.utc_offset_minutes = config.evaluation().utc_offset_minutes();
  deps.flags.black_accountability_weight = config.evaluation().black_accountability_weight();
  if (config.evaluation().has_red_max_accountability_weight()) {
    deps.flags.red_max_accountability_weight = config.evaluation().red_max_accountability_weight();
  }
  deps.flags.red_min_patrol_coverage = config.evaluation().red_min_patrol_coverage();
  service::EvaluationExtras extras;
  extras.patrols = s;
  service::AccountabilityService* accountability = impl->accountability.get();
  const util::Clock* eval_clock = clock;
  extras.records = [accountability, eval_clock](int year, int month) {
    return accountability->ActiveRecords(year, month, eval_clock->NowMicros());
  };
  impl->evaluations = std::make_unique<service::EvaluationService>(
      s, s, deps.flags, 600LL * 1000000, std::move(extras));
  deps.evaluations = impl->evaluations.get();
  deps.patrols = impl->patrols.get();
  deps.accountability = impl->accountability.get();
  impl->report_service = std::make_unique<api::ReportServiceImpl>(deps);
  impl->patrol_service = std::make_unique<api::PatrolServiceImpl>(deps);
  impl->dispatch_service = std::make_unique<api::DispatchServiceImpl>(deps);
  impl->department_service = std::make_unique<api::DepartmentServiceImpl>(deps);
  impl->admin_service = std::make_unique<api::AdminServiceImpl>(deps);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen_address(), *credentials, &port);
  // gRPC sets SO_REUSEPORT by default, so a second server on a bound address would "listen" and
  // take half the connections to another database. Off, the second bind fails and we exit.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, config.keepalive().time_ms());
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, config.keepalive().timeout_ms());
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             config.keepalive().min_client_ping_interval_ms());
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(
        api::MakeParseErrorInterceptor({PublicServices().begin(), PublicServices().end()}));
    creators.push_back(std::move(call_log));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  builder.RegisterService(impl->report_service.get());
  builder.RegisterService(impl->dispatch_service.get());
  builder.RegisterService(impl->department_service.get());
  builder.RegisterService(impl->admin_service.get());
  builder.RegisterService(impl->patrol_service.get());
  impl->server = builder.BuildAndStart();
  if (!impl->server || port == 0) {
    impl->hub->BeginShutdown();
    impl->hub->Stop();
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen_address(),
                     ": the address is in use (another gridline-server?) or not local"));
  }
  int peer_port = 0;
  if (!cluster.listen_address().empty()) {
    // The peers' port: plain text, tiny messages, few calls at once, none of the API's
    // interceptors (no tokens to check, nothing for the call log).
    impl->peer_service = std::make_unique<api::PeerServiceImpl>(impl->hub.get(), cluster.secret());
    grpc::ServerBuilder peer_builder;
    peer_builder.AddListeningPort(cluster.listen_address(), grpc::InsecureServerCredentials(),
                                  &peer_port);
    peer_builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    peer_builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 16);
    peer_builder.SetMaxReceiveMessageSize(1024);
    peer_builder.RegisterService(impl->peer_service.get());
    impl->peer_server = peer_builder.BuildAndStart();
    if (!impl->peer_server || peer_port == 0) {
      impl->server->Shutdown();
      impl->hub->BeginShutdown();
      impl->hub->Stop();
      return absl::UnavailableError(absl::StrCat("cannot listen on cluster.listen_address ",
                                                 cluster.listen_address(),
                                                 ": the address is in use or not local"));
    }
  }
  if (impl->peer_notifier) impl->peer_notifier->Start();
  impl->server->GetHealthCheckService()->SetServingStatus(true);
  Impl* raw = impl.get();
  impl->health = std::thread([raw] { raw->HealthLoop(); });
  impl->attachment_cleanup = std::thread([raw] { raw->AttachmentCleanupLoop(); });
  impl->deadline_warnings = std::thread([raw] { raw->DeadlineLoop(); });

  if (!config.metrics_listen_address().empty()) {
    Impl* raw_impl = impl.get();
    auto metrics = MetricsServer::Start(config.metrics_listen_address(),
                                        [raw_impl] { return raw_impl->serving.load(); });
    if (!metrics.ok()) {
      impl->server->Shutdown();
      impl->hub->BeginShutdown();
      impl->hub->Stop();
      return metrics.status();
    }
    impl->metrics = *std::move(metrics);
  }
  if (!config.http().listen_address().empty()) {
    if (absl::Status s = StartHttp(impl.get(), std::move(http_tls)); !s.ok()) {
      impl->metrics.reset();
      impl->server->Shutdown();
      impl->hub->BeginShutdown();
      impl->hub->Stop();
      return s;
    }
  }
  DeclareMetrics(impl.get());
  util::Log(util::LogLevel::kInfo, "start",
            {{"listen", config.listen_address()},
             {"port", port},
             {"tls", config.has_tls() ? "on" : "off"},
             {"store", store_description},
             {"schema_version", store::LatestSchemaVersion()},
             {"demo", config.demo() ? "on" : "off"},
             {"metrics_port", impl->metrics ? impl->metrics->port() : 0},
             {"http_port", impl->http_listener ? impl->http_listener->port() : 0},
             {"peer_port", peer_port},
             {"peers", cluster.peers_size()}});
  auto server = std::unique_ptr<GridlineServer>(new GridlineServer(std::move(impl)));
  server->port_ = port;
  server->store_description_ = store_description;
  server->demo_token_lines_ = std::move(token_lines);
  server->disabled_demo_tokens_ = disabled_demo_tokens;
  server->metrics_port_ = server->impl_->metrics ? server->impl_->metrics->port() : 0;
  server->http_port_ = server->impl_->http_listener ? server->impl_->http_listener->port() : 0;
  return server;
}

void GridlineServer::Shutdown() {
  Impl& s = *impl_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.shut_down) return;
    s.shut_down = true;
    s.stopping = true;
  }
  s.cv.notify_all();
  s.serving = false;
  if (s.http_listener) s.http_listener->StopAccepting();
  s.metrics.reset();
  ForgetMetrics();  // the gauges read this server's parts
  if (s.health.joinable()) s.health.join();
  if (s.attachment_cleanup.joinable()) s.attachment_cleanup.join();
  if (s.deadline_warnings.joinable()) s.deadline_warnings.join();
  s.server->GetHealthCheckService()->SetServingStatus(false);
  s.hub->BeginShutdown();  // open streams end with UNAVAILABLE so clients resume elsewhere
  if (s.peer_server) s.peer_server->Shutdown(std::chrono::system_clock::now());
  s.server->Shutdown(std::chrono::system_clock::now() +
                     std::chrono::milliseconds(s.config.shutdown_grace_ms()));
  if (s.http_listener) {
    // Every Connect call was a gRPC call, ended by now: let their last answers (the streams'
    // end-of-stream messages) reach the connections, then close them.
    s.connect_endpoint->WaitIdle(std::chrono::seconds(5));
    if (s.open311_endpoint) s.open311_endpoint->WaitIdle(std::chrono::seconds(5));
    s.http_listener->Stop();
  }
  s.pool->Shutdown();
  if (s.peer_notifier) s.peer_notifier->Stop();  // no commit is left to tell
  s.hub->Stop();
  util::Log(util::LogLevel::kInfo, "stop", {{"listen", s.config.listen_address()}});
}

}  // namespace gridline::app
