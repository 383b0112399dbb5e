// Issue 13: what an operator watches a server with. One JSON line per call on stderr with the
// method, who called, the peer, the status code, the latency and the case id; lines for the
// start and the stop; never a token or a report's text. Against a real server process on both
// stores.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "server/store/store.h"
#include "tests/e2e_fixture.h"
#include "tests/test_support.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using google::protobuf::Struct;
using testing::Backend;
using testing::kLeader1;

class ObservabilityTest : public testing::E2eTest {
 protected:
  // The JSON lines of the server's log (its other lines are for people).
  std::vector<Struct> JsonLines(const std::string& log) {
    std::vector<Struct> out;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] != '{') continue;
      Struct s;
      auto st = google::protobuf::util::JsonStringToMessage(line, &s);
      EXPECT_TRUE(st.ok()) << line << ": " << st.ToString();
      if (st.ok()) out.push_back(s);
    }
    return out;
  }
  static std::string Str(const Struct& s, const std::string& key) {
    auto it = s.fields().find(key);
    return it == s.fields().end() ? "<absent>" : it->second.string_value();
  }
  static double Num(const Struct& s, const std::string& key) {
    auto it = s.fields().find(key);
    return it == s.fields().end() ? -1 : it->second.number_value();
  }
  std::vector<Struct> Calls(const std::vector<Struct>& lines, const std::string& method) {
    std::vector<Struct> out;
    for (const Struct& s : lines) {
      if (Str(s, "event") == "call" && Str(s, "method") == method) out.push_back(s);
    }
    return out;
  }
};

TEST_P(ObservabilityTest, EveryCallLogsOneJsonLineWithoutTokensOrReportText) {
  if (HasFatalFailure()) return;
  int port = 0;
  auto server = StartServer(&port);
  ASSERT_TRUE(server);
  auto stub = v1::ReportService::NewStub(Channel(port));

  const std::string secret_text = "楼道堆物 secret-description-7731";
  v1::SubmitReportResponse submitted;
  ASSERT_TRUE(Submit(stub.get(), Report("obs-1", secret_text), &submitted).ok());
  const std::string id = submitted.case_().case_id();
  v1::Case got;
  ASSERT_TRUE(GetCase(stub.get(), id, &got).ok());
  v1::Case refused;
  EXPECT_EQ(GetCase(stub.get(), id, &refused, "not-a-token-55e1").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);

  ASSERT_EQ(server->Stop(SIGTERM), 0) << server->Log();
  const std::string log = server->Log();
  // The JSON lines (demo mode also prints the demo tokens for people, on stdout).
  std::string json;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '{') json += line + "\n";
  }
  EXPECT_FALSE(absl::StrContains(json, kLeader1)) << "a token was logged";
  EXPECT_FALSE(absl::StrContains(json, "not-a-token-55e1")) << "a token was logged";
  EXPECT_FALSE(absl::StrContains(json, "secret-description-7731")) << "report text was logged";
  const std::vector<Struct> lines = JsonLines(json);

  auto submit = Calls(lines, "/gridline.v1.ReportService/SubmitReport");
  ASSERT_EQ(submit.size(), 1u) << log;
  EXPECT_EQ(Str(submit[0], "level"), "info");
  EXPECT_EQ(Str(submit[0], "user_id"), "u-leader-001");
  EXPECT_EQ(Str(submit[0], "role"), "GRID_LEADER");
  EXPECT_TRUE(absl::StrContains(Str(submit[0], "peer"), "127.0.0.1")) << Str(submit[0], "peer");
  EXPECT_EQ(Num(submit[0], "code"), 0);
  EXPECT_GE(Num(submit[0], "latency_ms"), 0);
  EXPECT_EQ(Str(submit[0], "case_id"), id) << "from the answer";
  EXPECT_EQ(Str(submit[0], "time").size(), 24u) << Str(submit[0], "time");

  auto get = Calls(lines, "/gridline.v1.ReportService/GetCase");
  ASSERT_EQ(get.size(), 2u) << log;
  EXPECT_EQ(Str(get[0], "case_id"), id) << "from the request";
  EXPECT_EQ(Num(get[0], "code"), 0);
  EXPECT_EQ(Num(get[1], "code"), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_EQ(Str(get[1], "user_id"), "") << "nobody authenticated";

  int starts = 0, stops = 0;
  for (const Struct& s : lines) {
    starts += Str(s, "event") == "start";
    stops += Str(s, "event") == "stop";
  }
  EXPECT_EQ(starts, 1) << log;
  EXPECT_EQ(stops, 1) << log;
}

// The scrape endpoint, scraped with curl as Prometheus would: the families named in the config's
// documentation, and the counters moving with a workload.
TEST_P(ObservabilityTest, AScrapeShowsTheCountersMovingAfterAWorkload) {
  if (HasFatalFailure()) return;
  std::ofstream(dir_.path() + "/server.textproto", std::ios::app)
      << "metrics_listen_address: \"127.0.0.1:0\"\n";
  int port = 0;
  auto server = StartServer(&port);
  ASSERT_TRUE(server);
  int metrics_port = 0;
  for (const Struct& s : JsonLines(server->Log())) {
    if (Str(s, "event") == "start") metrics_port = static_cast<int>(Num(s, "metrics_port"));
  }
  ASSERT_GT(metrics_port, 0) << server->Log();
  auto scrape = [&] {
    const std::string out = dir_.path() + "/scrape.txt";
    const std::string cmd = absl::StrCat("curl -sS --max-time 20 -o ", out,
                                         " http://127.0.0.1:", metrics_port, "/metrics");
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream in(out);
    std::map<std::string, double> samples;  // "name{labels}" -> value
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      const size_t space = line.rfind(' ');
      double v = 0;
      EXPECT_TRUE(absl::SimpleAtod(line.substr(space + 1), &v)) << line;
      samples[line.substr(0, space)] = v;
    }
    return samples;
  };
  auto before = scrape();
  EXPECT_EQ(before["gridline_health_serving"], 1);
  EXPECT_EQ(before[absl::StrCat("gridline_build_info{version=\"0.1.0\",schema_version=\"",
                                store::LatestSchemaVersion(), "\"}")],
            1);
  EXPECT_EQ(before.count("gridline_worker_queue_depth"), 1u);
  EXPECT_EQ(before.count("gridline_hub_lag_events"), 1u);

  auto stub = v1::ReportService::NewStub(Channel(port));
  // A watch stays open while the workload runs.
  grpc::ClientContext watch_ctx;
  Authorize(&watch_ctx, kLeader1, 60000);
  v1::WatchCasesRequest watch_req;
  auto watch = stub->WatchCases(&watch_ctx, watch_req);
  v1::WatchEvent first;
  ASSERT_TRUE(watch->Read(&first));  // the greeting: the stream is open
  for (int i = 0; i < 3; ++i) {
    v1::SubmitReportResponse r;
    ASSERT_TRUE(Submit(stub.get(), Report(absl::StrCat("m-", i)), &r).ok());
  }
  v1::Case missing;
  EXPECT_EQ(GetCase(stub.get(), "no-such-case", &missing).error_code(),
            grpc::StatusCode::NOT_FOUND);

  auto after = scrape();
  const std::string submit = "method=\"/gridline.v1.ReportService/SubmitReport\"";
  EXPECT_EQ(after[absl::StrCat("gridline_rpc_requests_total{", submit, ",code=\"OK\"}")], 3);
  EXPECT_EQ(after["gridline_rpc_requests_total{method=\"/gridline.v1.ReportService/GetCase\","
                  "code=\"NOT_FOUND\"}"],
            1);
  EXPECT_EQ(after[absl::StrCat("gridline_rpc_duration_seconds_count{", submit, "}")], 3);
  EXPECT_EQ(after[absl::StrCat("gridline_rpc_duration_seconds_bucket{", submit, ",le=\"+Inf\"}")],
            3);
  EXPECT_EQ(after["gridline_open_streams{service=\"gridline.v1.ReportService\"}"], 1);
  const std::string dialect = GetParam() == Backend::kMariaDb ? "mysql" : "sqlite";
  const std::string tx =
      absl::StrCat("gridline_store_transaction_duration_seconds_count{dialect=\"", dialect, "\"}");
  EXPECT_GE(after[tx] - before[tx], 3) << "each report is one write transaction at least";
  const std::string commits =
      absl::StrCat("gridline_store_commit_duration_seconds_count{dialect=\"", dialect, "\"}");
  EXPECT_GE(after[commits] - before[commits], 3) << "each write transaction commits";

  watch_ctx.TryCancel();
  v1::WatchEvent ignored;
  while (watch->Read(&ignored)) {
  }
  (void)watch->Finish();
  // Other paths are not served.
  const std::string cmd =
      absl::StrCat("curl -s -o /dev/null -w '%{http_code}' --max-time 20 ",
                   "http://127.0.0.1:", metrics_port, "/other > ", dir_.path(), "/code.txt");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string code;
  std::getline(std::ifstream(dir_.path() + "/code.txt"), code);
  EXPECT_EQ(code, "404");
  // The health as a balancer checks it over HTTP/1.1.
  const std::string health =
      absl::StrCat("curl -sS --max-time 20 -o ", dir_.path(),
                   "/healthz.txt http://127.0.0.1:", metrics_port, "/healthz");
  ASSERT_EQ(std::system(health.c_str()), 0);
  std::string serving;
  std::getline(std::ifstream(dir_.path() + "/healthz.txt"), serving);
  EXPECT_EQ(serving, "SERVING");
}

INSTANTIATE_TEST_SUITE_P(Backends, ObservabilityTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
