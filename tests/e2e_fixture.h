// The fixture of the end-to-end suites: real gridline-server processes on SQLite or on the MariaDB
// started by the test command, real gRPC channels on loopback, and the demo organisation's tokens.
#ifndef GRIDLINE_TESTS_E2E_FIXTURE_H_
#define GRIDLINE_TESTS_E2E_FIXTURE_H_

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "server/store/mysql_driver.h"
#include "server/store/sql.h"
#include "tests/test_support.h"

namespace gridline::testing {

namespace v1 = ::gridline::v1;

// Demo users (deploy/demo/organisation.textproto).
inline constexpr char kLeader1[] = "demo-leader-1-a5afbedb015471db";  // cell 410184001001001
inline constexpr char kLeader2[] = "demo-leader-2-fafc65828dd1790f";  // same street, other cell
inline constexpr char kLeader3[] = "demo-leader-3-28a208d63296ca03";  // cell 410184002001001
inline constexpr char kDispatcher1[] = "demo-dispatcher-1-1a9ab5fd58ee6af0";  // street 410184001
inline constexpr char kDispatcher2[] = "demo-dispatcher-2-307768525ca53ff4";  // street 410184002
inline constexpr char kStaffCg[] = "demo-staff-cg-1-98f49d09d6b91fff";
inline constexpr char kStaffSz[] = "demo-staff-sz-1-7df0788b89946940";
inline constexpr char kStaffSw[] = "demo-staff-sw-1-e7ddcbb327a9268c";
inline constexpr char kStaffCgStation[] = "demo-staff-cgzd-1-96de6d8c58fd8e67";
inline constexpr char kStaffJd1[] = "demo-staff-jd-1-24017fb786699890";
inline constexpr char kSupervisor[] = "demo-supervisor-1-64529550376b9282";
inline constexpr char kOperator[] = "demo-operator-1-65fead962ef3e005";
inline constexpr char kCell1[] = "410184001001001";

// The fields named by the google.rpc.BadRequest detail of `status`.
inline std::vector<std::string> FieldsOf(const grpc::Status& status) {
  std::vector<std::string> fields;
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return fields;
  for (const auto& any : rich.details()) {
    google::rpc::BadRequest bad;
    if (any.UnpackTo(&bad)) {
      for (const auto& v : bad.field_violations()) fields.push_back(v.field());
    }
  }
  return fields;
}

struct Violation {
  std::string type;
  std::string subject;
  std::string description;
};

// The violations of the google.rpc.PreconditionFailure detail of `status`.
inline std::vector<Violation> PreconditionsOf(const grpc::Status& status) {
  std::vector<Violation> out;
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return out;
  for (const auto& any : rich.details()) {
    google::rpc::PreconditionFailure pf;
    if (any.UnpackTo(&pf)) {
      for (const auto& v : pf.violations()) out.push_back({v.type(), v.subject(), v.description()});
    }
  }
  return out;
}

// One unary call as the user of `token`, with a deadline (generous: a loaded 2-core machine
// runs several servers at once).
template <typename Stub, typename Req, typename Resp, typename Method>
grpc::Status Call(Stub* stub, Method m, const std::string& token, const Req& req, Resp* resp) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return (stub->*m)(&ctx, req, resp);
}

class E2eTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kMariaDb) {
      auto opts = testing::MysqlForTest(GetParam());
      if (!opts) return;  // skipped or failed
      mysql_ = *opts;
      std::ofstream(dir_.path() + "/mysql.pw") << mysql_->password << "\n";
    }
    std::ofstream(dir_.path() + "/server.textproto")
        << "watch { heartbeat_interval_ms: 200 poll_interval_ms: 50 reauth_interval_ms: 300 }\n"
        << "shutdown_grace_ms: 3000\n"
        << "health_check_interval_ms: 200\n"
        << "worker_threads: 4\n";
  }

  std::vector<std::string> StoreArgs() {
    if (mysql_) {
      return {"--mysql_host",           mysql_->host,
              "--mysql_port",           std::to_string(mysql_->port),
              "--mysql_user",           mysql_->user,
              "--mysql_password_file",  dir_.path() + "/mysql.pw",
              "--mysql_database",       mysql_->database,
              "--mysql_create_database"};
    }
    return {"--sqlite", dir_.path() + "/gridline.db"};
  }

  // Starts a server process on a fresh port.
  std::unique_ptr<ServerProcess> StartServer(int* port_out) {
    int port = testing::FreePort();
    auto server = StartServerAt(port);
    if (server) *port_out = port;
    return server;
  }

  // Starts a server process on `port` (e.g. again after stopping one there), loading
  // `organisation_file` (default: the demo organisation).
  std::unique_ptr<ServerProcess> StartServerAt(int port, std::string organisation_file = "") {
    if (organisation_file.empty()) organisation_file = testing::DemoOrganisationFile();
    return StartServerWith(port, {"--organisation", organisation_file, "--demo"});
  }

  // A server as a real installation runs it: no demo mode, no organisation file.
  std::unique_ptr<ServerProcess> StartRealServerAt(int port) { return StartServerWith(port, {}); }

  // The config and store arguments every server of the test shares, `port`, and `extra`.
  std::vector<std::string> ServerArgs(const std::vector<std::string>& extra) {
    std::vector<std::string> args;
    if (std::find(extra.begin(), extra.end(), "--config") == extra.end()) {
      args = {"--config", dir_.path() + "/server.textproto"};
    }
    args.insert(args.end(), extra.begin(), extra.end());
    for (auto& a : StoreArgs()) args.push_back(a);
    return args;
  }

  std::unique_ptr<ServerProcess> StartServerWith(int port, std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"--listen", absl::StrCat("127.0.0.1:", port)});
    std::vector<std::string> args = ServerArgs(extra);
    auto server = std::make_unique<ServerProcess>(
        args, absl::StrCat(dir_.path(), "/server-", ++started_, ".log"));
    server->set_tls_root_certificates(tls_root_certificates_);
    server->set_tls_client_certificate(tls_client_certificate_, tls_client_key_);
    bool ok = server->Start(port);
    EXPECT_TRUE(ok) << server->Log();
    if (!ok) return nullptr;
    return server;
  }

  // A demo server on `port` whose whole config file is `config` (ServerConfig in text format),
  // e.g. with a test clock offset (test_clock_offset_seconds) to run it in the past.
  std::unique_ptr<ServerProcess> StartConfiguredServer(int port, const std::string& config) {
    const std::string path = absl::StrCat(dir_.path(), "/config-", started_ + 1, ".textproto");
    std::ofstream(path) << config;
    return StartServerWith(
        port, {"--config", path, "--organisation", testing::DemoOrganisationFile(), "--demo"});
  }

  static std::shared_ptr<grpc::Channel> Channel(int port) {
    // Reconnect soon after a refused connection (a server restarting), but leave the connect
    // timeout at gRPC's 20 s: "grpc.testing.fixed_reconnect_backoff_ms" would make it 100 ms
    // too, and on a loaded machine (ctest -j2) a connect can take longer than that ("tcp
    // handshaker shutdown").
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                     grpc::InsecureChannelCredentials(), args);
  }

  static void Authorize(grpc::ClientContext* ctx, const std::string& token,
                        int timeout_ms = 10000) {
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  }

  static v1::SubmitReportRequest Report(const std::string& request_id,
                                        const std::string& text = "路面塌陷，深约30厘米") {
    v1::SubmitReportRequest r;
    r.set_request_id(request_id);
    r.set_category_code("C01_ROAD_DAMAGE");
    r.set_description(text);
    r.mutable_location()->set_grid_code(kCell1);
    r.mutable_location()->mutable_coordinates()->set_latitude(34.396);
    r.mutable_location()->mutable_coordinates()->set_longitude(113.739);
    r.mutable_location()->set_address("新郑市郑韩路18号");
    r.set_urgency(v1::URGENT);
    return r;
  }

  static grpc::Status Submit(v1::ReportService::Stub* stub, const v1::SubmitReportRequest& req,
                             v1::SubmitReportResponse* resp, const std::string& token = kLeader1) {
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    return stub->SubmitReport(&ctx, req, resp);
  }

  static grpc::Status GetCase(v1::ReportService::Stub* stub, const std::string& id, v1::Case* out,
                              const std::string& token = kLeader1) {
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    v1::GetCaseRequest req;
    req.set_case_id(id);
    return stub->GetCase(&ctx, req, out);
  }

  // A raw connection to the store the servers share, for what no RPC may do.
  std::unique_ptr<store::SqlConnection> Raw() {
    std::unique_ptr<store::SqlDatabase> db;
    if (mysql_) {
      db = *store::MakeMysqlDatabase(*mysql_);
    } else {
      db = store::MakeSqliteDatabase(dir_.path() + "/gridline.db");
    }
    auto conn = db->Connect();
    EXPECT_TRUE(conn.ok()) << conn.status();
    return conn.ok() ? *std::move(conn) : nullptr;
  }

  // After a test has edited case rows with raw SQL (to place a history in the past), the
  // figures are added again from the cases, as an operator does after a repair by hand (README,
  // "Operations"): drop the marker, open the store (opening adds them again), close it.
  void RefigureAfterRawEdits() {
    auto raw = Raw();
    ASSERT_TRUE(raw);
    ASSERT_TRUE(
        raw->Execute("DELETE FROM store_meta WHERE name = 'figures_utc_offset_minutes'").ok());
    store::SqliteOptions sqlite;
    sqlite.path = dir_.path() + "/gridline.db";
    auto reopened = mysql_ ? store::OpenMysqlStore(*mysql_) : store::OpenSqliteStore(sqlite);
    ASSERT_TRUE(reopened.ok()) << reopened.status();
  }

  testing::TempDir dir_;
  std::optional<store::MysqlOptions> mysql_;
  // For a suite that adds `tls { … }` to server.textproto: the PEM roots that sign the servers'
  // certificate, so that StartServerAt can probe their health. Empty: plain text.
  std::string tls_root_certificates_;
  // With it, a client certificate and key for the probe of a server that requires them.
  std::string tls_client_certificate_;
  std::string tls_client_key_;
  int started_ = 0;
};

}  // namespace gridline::testing

#endif  // GRIDLINE_TESTS_E2E_FIXTURE_H_
