// End to end over real gRPC on loopback: a real gridline-server process, on SQLite and on the
// MariaDB started by the test command, driven by a real client channel.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "server/store/mysql_driver.h"
#include "server/util/sha256.h"
#include "tests/e2e_fixture.h"
#include "tests/test_support.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using testing::Backend;
using testing::ServerProcess;

using testing::FieldsOf;
using testing::kCell1;
using testing::kDispatcher1;
using testing::kLeader1;
using testing::kLeader3;

class ServerTest : public testing::E2eTest {};

// Reads a watch stream on its own thread so a test can wait for events with a deadline.
class Watcher {
 public:
  Watcher(const std::shared_ptr<grpc::Channel>& channel, const std::string& token,
          const std::string& after_cursor)
      : stub_(v1::ReportService::NewStub(channel)) {
    ctx_.AddMetadata("authorization", "Bearer " + token);
    ctx_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::WatchCasesRequest req;
    req.set_after_cursor(after_cursor);
    reader_ = stub_->WatchCases(&ctx_, req);
    thread_ = std::thread([this] {
      v1::WatchEvent ev;
      while (reader_->Read(&ev)) {
        std::lock_guard<std::mutex> lock(mu_);
        if (ev.has_event()) events_.push_back(ev.event());
        if (ev.has_heartbeat()) ++heartbeats_;
        cv_.notify_all();
      }
      grpc::Status s = reader_->Finish();
      std::lock_guard<std::mutex> lock(mu_);
      status_ = s;
      cv_.notify_all();
    });
  }
  ~Watcher() {
    ctx_.TryCancel();
    thread_.join();
  }
  // Waits until `n` events arrived (or the stream ended); returns what arrived.
  std::vector<v1::CaseEvent> WaitForEvents(size_t n, int timeout_ms = 10000) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                 [&] { return events_.size() >= n || status_.has_value(); });
    return events_;
  }
  bool WaitForHeartbeat(int timeout_ms = 10000) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      return heartbeats_ > 0 || status_.has_value();
    }) && heartbeats_ > 0;
  }
  std::optional<grpc::Status> WaitForEnd(int timeout_ms = 20000) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return status_.has_value(); });
    return status_;
  }

 private:
  std::unique_ptr<v1::ReportService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::CaseEvent> events_;
  int heartbeats_ = 0;
  std::optional<grpc::Status> status_;
};

TEST_P(ServerTest, SubmittedReportBecomesACaseAndReachesTheWatcher) {
  int port;
  auto server = StartServer(&port);
  ASSERT_TRUE(server);
  auto channel = Channel(port);
  auto stub = v1::ReportService::NewStub(channel);
  Watcher watch(channel, kLeader1, "");
  ASSERT_TRUE(watch.WaitForHeartbeat()) << "the stream is registered once it beats";

  v1::SubmitReportResponse resp;
  grpc::Status s = Submit(stub.get(), Report("req-" + util::RandomHex(8)), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const v1::Case& c = resp.case_();
  EXPECT_FALSE(c.case_id().empty());
  EXPECT_EQ(c.state(), v1::PENDING_TRIAGE);
  EXPECT_EQ(c.reporter_user_id(), "u-leader-001");
  EXPECT_EQ(c.urgency(), v1::URGENT);

  v1::Case got;
  s = GetCase(stub.get(), c.case_id(), &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.description(), "路面塌陷，深约30厘米");
  EXPECT_EQ(got.location().address(), "新郑市郑韩路18号");
  EXPECT_EQ(got.location().grid_code(), kCell1);

  auto events = watch.WaitForEvents(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].case_id(), c.case_id());
  EXPECT_EQ(events[0].type(), v1::REPORTED);
  EXPECT_EQ(events[0].to_state(), v1::PENDING_TRIAGE);
  EXPECT_EQ(events[0].cursor(), resp.event_cursor());

  grpc::ClientContext ctx;
  Authorize(&ctx, kLeader1);
  v1::ListCaseEventsRequest hreq;
  hreq.set_case_id(c.case_id());
  v1::ListCaseEventsResponse history;
  ASSERT_TRUE(stub->ListCaseEvents(&ctx, hreq, &history).ok());
  ASSERT_EQ(history.events_size(), 1);
  EXPECT_EQ(history.events(0).actor_user_id(), "u-leader-001");
}

TEST_P(ServerTest, SameRequestIdTwiceYieldsOneCaseAndTheSameAnswer) {
  int port;
  auto server = StartServer(&port);
  ASSERT_TRUE(server);
  auto stub = v1::ReportService::NewStub(Channel(port));
  auto req = Report("retry-" + util::RandomHex(8));
  v1::SubmitReportResponse first, second;
  ASSERT_TRUE(Submit(stub.get(), req, &first).ok());
  ASSERT_TRUE(Submit(stub.get(), req, &second).ok());
  EXPECT_EQ(first.SerializeAsString(), second.SerializeAsString());

  // Concurrent retries, as a flaky network produces them.
  auto req2 = Report("burst-" + util::RandomHex(8));
  std::vector<std::future<std::string>> ids;
  for (int i = 0; i < 6; ++i) {
    ids.push_back(std::async(std::launch::async, [&] {
      v1::SubmitReportResponse r;
      grpc::Status s = Submit(stub.get(), req2, &r);
      return s.ok() ? r.case_().case_id() : s.error_message();
    }));
  }
  std::set<std::string> distinct;
  for (auto& f : ids) distinct.insert(f.get());
  EXPECT_EQ(distinct.size(), 1u);

  // The same id with other content is a client bug, not a retry.
  auto other = Report(req.request_id(), "另一个问题");
  v1::SubmitReportResponse third;
  grpc::Status s = Submit(stub.get(), other, &third);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();

  // Two reports, two events: the retries left nothing behind.
  Watcher watch(Channel(port), kLeader1, "g1-0");
  auto events = watch.WaitForEvents(3, 1500);
  EXPECT_EQ(events.size(), 2u);
}

TEST_P(ServerTest, BadInputGetsFieldViolationsAndStoresNothing) {
  int port;
  auto server = StartServer(&port);
  ASSERT_TRUE(server);
  auto stub = v1::ReportService::NewStub(Channel(port));
  v1::SubmitReportRequest bad = Report("bad-1", "");
  bad.set_category_code("NO_SUCH_CATEGORY");
  bad.mutable_location()->set_grid_code("999999");
  bad.mutable_location()->mutable_coordinates()->set_latitude(91);
  bad.mutable_location()->mutable_coordinates()->set_longitude(-181);
  v1::SubmitReportResponse resp;
  grpc::Status s = Submit(stub.get(), bad, &resp);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto fields = FieldsOf(s);
  for (const char* f : {"description", "category_code", "location.grid_code",
                        "location.coordinates.latitude", "location.coordinates.longitude"}) {
    EXPECT_NE(std::find(fields.begin(), fields.end(), f), fields.end()) << f;
  }

  v1::SubmitReportRequest big = Report("bad-2", std::string(2001, 'x'));
  EXPECT_EQ(Submit(stub.get(), big, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::SubmitReportRequest no_id = Report("");
  s = Submit(stub.get(), no_id, &resp);
  EXPECT_EQ(FieldsOf(s), std::vector<std::string>{"request_id"});
  v1::SubmitReportRequest future = Report("bad-3");
  future.mutable_observe_time()->set_seconds(time(nullptr) + 3600);
  EXPECT_EQ(FieldsOf(Submit(stub.get(), future, &resp)), std::vector<std::string>{"observe_time"});
  v1::SubmitReportRequest photo = Report("bad-4");
  photo.add_attachment_ids(std::string(64, 'a'));
  EXPECT_EQ(FieldsOf(Submit(stub.get(), photo, &resp)), std::vector<std::string>{"attachment_ids"});

  // Nothing half-written: the first good report is the first event of the log.
  ASSERT_TRUE(Submit(stub.get(), Report("good"), &resp).ok());
  Watcher watch(Channel(port), kLeader1, "g1-0");
  auto events = watch.WaitForEvents(2, 1500);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].case_id(), resp.case_().case_id());
}

TEST_P(ServerTest, CallersAreAuthenticatedAndScoped) {
  int port;
  auto server = StartServer(&port);
  ASSERT_TRUE(server);
  auto channel = Channel(port);
  auto stub = v1::ReportService::NewStub(channel);
  v1::SubmitReportResponse resp;
  EXPECT_EQ(Submit(stub.get(), Report("a1"), &resp, "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Submit(stub.get(), Report("a1"), &resp, "not-a-token").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Submit(stub.get(), Report("a1"), &resp, kDispatcher1).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Submit(stub.get(), Report("a1"), &resp).ok());

  v1::Case got;
  EXPECT_EQ(GetCase(stub.get(), resp.case_().case_id(), &got, kLeader3).error_code(),
            grpc::StatusCode::NOT_FOUND)
      << "a grid leader of another grid must not read it";
  EXPECT_TRUE(GetCase(stub.get(), resp.case_().case_id(), &got, kDispatcher1).ok())
      << "the dispatcher of the case's street may";
  EXPECT_EQ(GetCase(stub.get(), "c-missing", &got).error_code(), grpc::StatusCode::NOT_FOUND);

  Watcher other(channel, kLeader3, "g1-0");
  Watcher own(channel, kLeader1, "g1-0");
  ASSERT_EQ(own.WaitForEvents(1).size(), 1u);
  ASSERT_TRUE(other.WaitForHeartbeat());
  EXPECT_TRUE(other.WaitForEvents(1, 300).empty()) << "the stream hides other grids' cases";

  Watcher anonymous(channel, "", "");
  auto end = anonymous.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_P(ServerTest, SigkillAfterAcknowledgedSubmitLosesNothing) {
  int port;
  auto server = StartServer(&port);
  ASSERT_TRUE(server);
  auto req = Report("durable-" + util::RandomHex(8));
  v1::SubmitReportResponse resp;
  {
    auto stub = v1::ReportService::NewStub(Channel(port));
    ASSERT_TRUE(Submit(stub.get(), req, &resp).ok());
  }
  server->Stop(SIGKILL);  // right after the acknowledgement

  server = StartServer(&port);
  ASSERT_TRUE(server);
  auto stub = v1::ReportService::NewStub(Channel(port));
  v1::Case got;
  grpc::Status s = GetCase(stub.get(), resp.case_().case_id(), &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.description(), req.description());
  v1::SubmitReportResponse again;
  ASSERT_TRUE(Submit(stub.get(), req, &again).ok());
  EXPECT_EQ(again.case_().case_id(), resp.case_().case_id()) << "a retry after a crash";
}

TEST_P(ServerTest, WatchResumesFromItsCursorAcrossARestart) {
  int port;
  auto server = StartServer(&port);
  ASSERT_TRUE(server);
  v1::SubmitReportResponse a, b, c;
  {
    auto stub = v1::ReportService::NewStub(Channel(port));
    ASSERT_TRUE(Submit(stub.get(), Report("A"), &a).ok());
    ASSERT_TRUE(Submit(stub.get(), Report("B"), &b).ok());
  }
  server->Stop(SIGKILL);
  server = StartServer(&port);
  ASSERT_TRUE(server);
  auto channel = Channel(port);
  auto stub = v1::ReportService::NewStub(channel);
  ASSERT_TRUE(Submit(stub.get(), Report("C"), &c).ok());
  Watcher watch(channel, kLeader1, a.event_cursor());
  auto events = watch.WaitForEvents(3, 1500);
  ASSERT_EQ(events.size(), 2u) << "B and C, once each";
  EXPECT_EQ(events[0].case_id(), b.case_().case_id());
  EXPECT_EQ(events[1].case_id(), c.case_().case_id());

  Watcher garbage(channel, kLeader1, "not-a-cursor");
  auto end = garbage.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_P(ServerTest, AWatchOnOneReplicaSeesAReportMadeThroughAnother) {
  int port_a, port_b;
  auto a = StartServer(&port_a);
  auto b = StartServer(&port_b);
  ASSERT_TRUE(a && b);
  Watcher watch(Channel(port_a), kLeader1, "");
  ASSERT_TRUE(watch.WaitForHeartbeat());
  auto stub_b = v1::ReportService::NewStub(Channel(port_b));
  v1::SubmitReportResponse resp;
  ASSERT_TRUE(Submit(stub_b.get(), Report("via-b"), &resp).ok());
  auto events = watch.WaitForEvents(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].case_id(), resp.case_().case_id());
}

TEST_P(ServerTest, SigtermEndsStreamsWithUnavailableAndExitsCleanly) {
  int port;
  auto server = StartServer(&port);
  ASSERT_TRUE(server);
  Watcher watch(Channel(port), kLeader1, "");
  ASSERT_TRUE(watch.WaitForHeartbeat());
  auto stopping = std::async(std::launch::async, [&] { return server->Stop(SIGTERM); });
  auto end = watch.WaitForEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAVAILABLE) << end->error_message();
  EXPECT_EQ(stopping.get(), 0) << server->Log();
}

TEST_P(ServerTest, BadConfigOrUnreachableDatabaseExitsWithAMessage) {
  std::ofstream(dir_.path() + "/broken.textproto") << "listen_address: 12\nnot_a_field: true\n";
  ServerProcess bad({"--config", dir_.path() + "/broken.textproto"}, dir_.path() + "/bad.log");
  EXPECT_EQ(bad.RunToExit(std::chrono::seconds(20)), 2);
  EXPECT_NE(bad.Log().find("line"), std::string::npos) << bad.Log();

  int closed_port = testing::FreePort();
  ServerProcess nodb(
      {"--mysql_host", "127.0.0.1", "--mysql_port", std::to_string(closed_port), "--mysql_user",
       "nobody", "--listen", absl::StrCat("127.0.0.1:", testing::FreePort())},
      dir_.path() + "/nodb.log");
  EXPECT_EQ(nodb.RunToExit(std::chrono::seconds(30)), 1);
  EXPECT_NE(nodb.Log().find("cannot connect"), std::string::npos) << nodb.Log();
}

TEST_P(ServerTest, HealthIsServingOnlyWhileTheStoreAnswers) {
  if (GetParam() != Backend::kMariaDb) GTEST_SKIP() << "needs a database that can shut us out";
  // The server gets a database user of its own, so locking it out disturbs nothing else.
  store::MysqlOptions admin_options = *mysql_;
  auto admin_db = store::MakeMysqlDatabase(admin_options);
  ASSERT_TRUE(admin_db.ok());
  auto admin = (*admin_db)->Connect();
  ASSERT_TRUE(admin.ok()) << admin.status();
  const std::string user = "glh_" + util::RandomHex(4);
  const std::string account = absl::StrCat("'", user, "'@'127.0.0.1'");
  ASSERT_TRUE(
      (*admin)->Execute(absl::StrCat("CREATE USER ", account, " IDENTIFIED BY 'pw-h'")).ok());
  ASSERT_TRUE(
      (*admin)->Execute(absl::StrCat("GRANT ALL ON `", mysql_->database, "`.* TO ", account)).ok());
  mysql_->user = user;
  std::ofstream(dir_.path() + "/mysql.pw") << "pw-h\n";

  int port;
  auto server = StartServer(&port);
  ASSERT_TRUE(server);
  auto channel = Channel(port);
  using Health = grpc::health::v1::HealthCheckResponse;
  testing::HealthWatch health(channel);
  EXPECT_TRUE(health.WaitFor(Health::SERVING, std::chrono::seconds(5)));

  // The database shuts the server out: existing connections die, new ones are refused.
  ASSERT_TRUE((*admin)->Execute(absl::StrCat("ALTER USER ", account, " ACCOUNT LOCK")).ok());
  auto ids =
      (*admin)->Query("SELECT id FROM information_schema.processlist WHERE user = ?", {user});
  ASSERT_TRUE(ids.ok()) << ids.status();
  for (const auto& row : *ids) {
    (*admin)->Execute(absl::StrCat("KILL ", row.Int(0))).IgnoreError();
  }
  EXPECT_TRUE(health.WaitFor(Health::NOT_SERVING, std::chrono::seconds(15)))
      << "health must drop to NOT_SERVING while the store does not answer";

  ASSERT_TRUE((*admin)->Execute(absl::StrCat("ALTER USER ", account, " ACCOUNT UNLOCK")).ok());
  EXPECT_TRUE(health.WaitFor(Health::SERVING, std::chrono::seconds(15)))
      << "and come back once it answers again";
  server->Stop(SIGTERM);
  (*admin)->Execute(absl::StrCat("DROP USER ", account)).IgnoreError();
}

INSTANTIATE_TEST_SUITE_P(Backends, ServerTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
