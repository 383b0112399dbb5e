// The client SDK against real gridline-server processes on SQLite and MariaDB: the offline outbox
// through an outage and app restarts, exactly-once delivery, resumable watches across a server
// restart, photos, and errors as the SDK reports them.
#include <google/protobuf/util/time_util.h>
#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "gridline/client/department_client.h"
#include "gridline/client/dispatch_client.h"
#include "gridline/client/outbox.h"
#include "gridline/client/report_client.h"
#include "tests/e2e_fixture.h"
#include "tests/sdk_test_data.h"

namespace gridline::testing {
namespace {

namespace gc = ::gridline::client;
using std::chrono::milliseconds;

class SdkE2eTest : public E2eTest {
 protected:
  // Runs the handset app (a separate process) to completion; returns its exit code.
  int RunApp(std::vector<std::string> args, const std::string& token = "") {
    if (!token.empty()) setenv("GRIDLINE_TOKEN", token.c_str(), 1);
    ServerProcess app(std::move(args), absl::StrCat(dir_.path(), "/app-", ++app_runs_, ".log"),
                      GRIDLINE_SDK_OUTBOX_APP);
    int code = app.RunToExit(std::chrono::seconds(120));
    unsetenv("GRIDLINE_TOKEN");
    last_app_log_ = app.Log();
    return code;
  }

  // Every case grid leader 1 sees, by id.
  std::map<std::string, v1::Case> LeaderCases(gc::ReportClient& client) {
    std::map<std::string, v1::Case> out;
    v1::ListMyCasesRequest request;
    request.set_page_size(50);
    for (;;) {
      auto page = client.ListMyCases(request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) return out;
      for (const auto& c : page->cases()) out[c.case_id()] = c;
      if (page->next_page_token().empty()) return out;
      request.set_page_token(page->next_page_token());
    }
  }

  int app_runs_ = 0;
  std::string last_app_log_;
};

TEST_P(SdkE2eTest, OutboxDeliversEveryOfflineReportExactlyOnceAcrossAnOutageAndRestarts) {
  const int port = FreePort();
  const std::string outbox = dir_.path() + "/handset-outbox.db";
  const std::string endpoint = absl::StrCat("127.0.0.1:", port);

  // Offline: the app queues 60 reports, is restarted, tries to send (nothing there), queues 40.
  ASSERT_EQ(RunApp({"enqueue", outbox, "0", "60"}), 0) << last_app_log_;
  EXPECT_EQ(RunApp({"flush", outbox, endpoint}, kLeader1), 3) << last_app_log_;
  EXPECT_NE(last_app_log_.find("sent=0 failed=0 pending=60 stopped=UNAVAILABLE"), std::string::npos)
      << last_app_log_;
  ASSERT_EQ(RunApp({"enqueue", outbox, "60", "40"}), 0) << last_app_log_;

  // The app will die after the server filed everything but before the outbox noted it: keep
  // the outbox file as it is now (the app's processes have ended, so it holds everything).
  ASSERT_FALSE(std::filesystem::exists(outbox + "-wal"));
  std::filesystem::copy_file(outbox, outbox + ".before-flush");

  // The server comes up; the restarted app sends everything.
  auto server = StartServerAt(port);
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(RunApp({"flush", outbox, endpoint}, kLeader1), 0) << last_app_log_;
  EXPECT_NE(last_app_log_.find("sent=100 failed=0 pending=0"), std::string::npos) << last_app_log_;
  std::vector<std::string> first_case_ids;
  {
    auto opened = gc::Outbox::Open(outbox);
    ASSERT_TRUE(opened.ok()) << opened.status();
    auto listed = (*opened)->List();
    ASSERT_TRUE(listed.ok()) << listed.status();
    for (const auto& e : *listed) first_case_ids.push_back(e.case_id);
  }

  // Back to the file from before the flush: every report is pending again, and all 100 are sent
  // again with their request ids.
  std::filesystem::remove(outbox + "-wal");
  std::filesystem::remove(outbox + "-shm");
  std::filesystem::copy_file(outbox + ".before-flush", outbox,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(RunApp({"flush", outbox, endpoint}, kLeader1), 0) << last_app_log_;
  EXPECT_NE(last_app_log_.find("sent=100 failed=0 pending=0"), std::string::npos) << last_app_log_;

  // The photos' bytes left the device with their reports.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(outbox.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* count = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM outbox_photo", -1, &count, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(count), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(count, 0), 0);
    sqlite3_finalize(count);
    sqlite3_close(db);
  }

  // Exactly 100 cases, in the order queued, each with its two photos; the outbox names each.
  gc::ReportClient client(gc::MakeReportConnection(OptionsFor(port, kLeader1)));
  auto cases = LeaderCases(client);
  EXPECT_EQ(cases.size(), 100u);
  auto opened = gc::Outbox::Open(outbox);
  ASSERT_TRUE(opened.ok()) << opened.status();
  auto entries = (*opened)->List();
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 100u);
  std::set<std::string> case_ids;
  for (size_t i = 0; i < entries->size(); ++i) {
    const auto& e = (*entries)[i];
    EXPECT_EQ(e.case_id, first_case_ids.at(i)) << "the same case both times, " << i;
    EXPECT_EQ(e.state, gc::OutboxState::kSent) << i;
    EXPECT_EQ(e.photo_count, 2) << i;
    case_ids.insert(e.case_id);
    auto it = cases.find(e.case_id);
    ASSERT_NE(it, cases.end()) << "entry " << i << " names no case of the leader";
    const v1::Case& c = it->second;
    EXPECT_EQ(c.description(), NumberedReport(static_cast<int>(i)).description());
    ASSERT_EQ(c.before_photos_size(), 2) << i;
    EXPECT_EQ(c.before_photos(0).attachment_id(),
              gc::Sha256Hex(NumberedPhoto(static_cast<int>(i), 0).bytes));
    EXPECT_EQ(c.before_photos(1).attachment_id(),
              gc::Sha256Hex(NumberedPhoto(static_cast<int>(i), 1).bytes));
    if (i > 0) {
      // Sent in order: each case was reported no earlier than the one queued before it.
      const auto& before = cases[(*entries)[i - 1].case_id];
      EXPECT_LE(google::protobuf::util::TimeUtil::TimestampToMicroseconds(before.create_time()),
                google::protobuf::util::TimeUtil::TimestampToMicroseconds(c.create_time()))
          << i;
    }
  }
  EXPECT_EQ(case_ids.size(), 100u);

  // A photo comes back byte for byte.
  auto photo = client.DownloadPhoto(gc::Sha256Hex(NumberedPhoto(7, 1).bytes));
  ASSERT_TRUE(photo.ok()) << photo.status();
  EXPECT_EQ(photo->bytes, NumberedPhoto(7, 1).bytes);
  EXPECT_EQ(photo->attachment.content_type(), "image/png");
}

TEST_P(SdkE2eTest, OutboxMarksRefusedReportsFailedWithTheReasonAndGoesOn) {
  int port = 0;
  auto server = StartServer(&port);
  ASSERT_NE(server, nullptr);
  auto outbox = gc::Outbox::Open(dir_.path() + "/outbox.db");
  ASSERT_TRUE(outbox.ok()) << outbox.status();

  ASSERT_TRUE((*outbox)->Enqueue(NumberedReport(1)).ok());
  auto bad = NumberedReport(2);
  bad.set_category_code("NO_SUCH_CATEGORY");
  auto refused = (*outbox)->Enqueue(bad);
  ASSERT_TRUE(refused.ok()) << refused.status();
  auto not_an_image = (*outbox)->Enqueue(NumberedReport(3), {gc::Photo{"plain text", "x.txt"}});
  ASSERT_TRUE(not_an_image.ok());
  ASSERT_TRUE((*outbox)->Enqueue(NumberedReport(4)).ok());

  // Checked offline: nothing is queued.
  auto empty = NumberedReport(5);
  empty.set_description("");
  auto offline_check = (*outbox)->Enqueue(empty);
  EXPECT_EQ(offline_check.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(gc::GetErrorDetails(offline_check.status()).field_violations.size(), 1u);
  EXPECT_EQ(gc::GetErrorDetails(offline_check.status()).field_violations[0].field, "description");

  gc::ReportClient client(gc::MakeReportConnection(OptionsFor(port, kLeader1)));
  auto result = (*outbox)->Flush(client);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->sent, 2);
  EXPECT_EQ(result->failed, 2);
  EXPECT_EQ(result->pending, 0);
  EXPECT_TRUE(result->stopped_by.ok()) << result->stopped_by;

  auto category = (*outbox)->Get(refused->request_id);
  ASSERT_TRUE(category.ok());
  EXPECT_EQ(category->state, gc::OutboxState::kFailed);
  EXPECT_EQ(category->error.code(), absl::StatusCode::kInvalidArgument);
  auto fields = gc::GetErrorDetails(category->error).field_violations;
  ASSERT_FALSE(fields.empty()) << category->error;
  EXPECT_EQ(fields[0].field, "category_code");
  auto image = (*outbox)->Get(not_an_image->request_id);
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->state, gc::OutboxState::kFailed);
  EXPECT_EQ(image->error.code(), absl::StatusCode::kInvalidArgument) << image->error;

  // A second flush sends nothing again and does not retry the failed ones.
  auto again = (*outbox)->Flush(client);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->sent + again->failed, 0);
  EXPECT_EQ(LeaderCases(client).size(), 2u);

  // A bad token stops the flush and keeps the report pending: the token is the problem.
  ASSERT_TRUE((*outbox)->Enqueue(NumberedReport(6)).ok());
  gc::ReportClient stranger(gc::MakeReportConnection(OptionsFor(port, "not-a-token")));
  auto unauthenticated = (*outbox)->Flush(stranger);
  ASSERT_TRUE(unauthenticated.ok());
  EXPECT_EQ(unauthenticated->stopped_by.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(unauthenticated->pending, 1);
  auto later = (*outbox)->Flush(client);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->sent, 1);
}

TEST_P(SdkE2eTest, OutboxSenderDeliversInTheBackgroundWhenTheServerComesBack) {
  const int port = FreePort();
  auto outbox = gc::Outbox::Open(dir_.path() + "/outbox.db");
  ASSERT_TRUE(outbox.ok());
  gc::ReportClient client(gc::MakeReportConnection(OptionsFor(port, kLeader1)));
  gc::OutboxSender sender(
      **outbox, client,
      std::make_shared<gc::ExponentialBackoffPolicy>(milliseconds(50), milliseconds(300)));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE((*outbox)->Enqueue(NumberedReport(i)).ok());
  sender.Wake();
  auto server = StartServerAt(port);
  ASSERT_NE(server, nullptr);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && *(*outbox)->PendingCount() > 0) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(*(*outbox)->PendingCount(), 0);
  EXPECT_EQ(LeaderCases(client).size(), 5u);
}

// Collects a watch's updates on a thread.
class Collector {
 public:
  explicit Collector(std::unique_ptr<gc::Watch> watch) : watch_(std::move(watch)) {
    thread_ = std::thread([this] {
      end_ = watch_->Run([this](const gc::WatchUpdate& u) {
        std::lock_guard<std::mutex> lock(mu_);
        updates_.push_back(u);
        cv_.notify_all();
        return true;
      });
    });
  }
  ~Collector() { Stop(); }
  void Stop() {
    watch_->Cancel();
    if (thread_.joinable()) thread_.join();
  }
  // Waits until `n` REPORTED events arrived (or 60 s).
  bool WaitForReported(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(60),
                        [&] { return ReportedLocked().size() >= n; });
  }
  std::vector<std::string> Reported() {
    std::lock_guard<std::mutex> lock(mu_);
    return ReportedLocked();
  }
  std::vector<std::string> ReportedLocked() {
    std::vector<std::string> ids;
    for (const auto& u : updates_) {
      if (u.kind == gc::WatchUpdate::Kind::kEvent && u.event.type() == v1::REPORTED) {
        ids.push_back(u.event.case_id());
      }
    }
    return ids;
  }
  std::vector<gc::WatchUpdate> updates() {
    std::lock_guard<std::mutex> lock(mu_);
    return updates_;
  }
  gc::Watch& watch() { return *watch_; }

 private:
  std::unique_ptr<gc::Watch> watch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<gc::WatchUpdate> updates_;
  gc::Status end_;
  std::thread thread_;
};

TEST_P(SdkE2eTest, WatchSurvivesAServerRestartWithoutLosingOrRepeatingAnEvent) {
  // Two replicas on one store: the watch uses A; reports keep arriving through B while A is down.
  int port_a = 0, port_b = 0;
  auto a = StartServer(&port_a);
  auto b = StartServer(&port_b);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  gc::ReportClient via_b(gc::MakeReportConnection(OptionsFor(port_b, kLeader1)));
  auto first = via_b.SubmitReport(NumberedReport(0));
  ASSERT_TRUE(first.ok()) << first.status();

  const std::string cursor_file = dir_.path() + "/watch.cursor";
  gc::ReportClient via_a(gc::MakeReportConnection(OptionsFor(port_a, kLeader1)));
  gc::WatchOptions options;
  options.after_cursor = first->event_cursor();
  options.cursor_file = cursor_file;
  auto collector = std::make_unique<Collector>(via_a.WatchCases(options));

  std::vector<std::string> submitted;
  auto submit = [&](int i) {
    auto r = via_b.SubmitReport(NumberedReport(i));
    ASSERT_TRUE(r.ok()) << r.status();
    submitted.push_back(r->case_().case_id());
  };
  for (int i = 1; i <= 5; ++i) submit(i);
  ASSERT_TRUE(collector->WaitForReported(5));

  ASSERT_EQ(a->Stop(SIGTERM), 0) << a->Log();
  for (int i = 6; i <= 10; ++i) submit(i);  // while the watch's server is down
  a = StartServerAt(port_a);
  ASSERT_NE(a, nullptr);
  for (int i = 11; i <= 15; ++i) submit(i);
  ASSERT_TRUE(collector->WaitForReported(15)) << collector->Reported().size();

  // Killed without a goodbye this time.
  ASSERT_EQ(a->Stop(SIGKILL), 128 + SIGKILL);
  for (int i = 16; i <= 18; ++i) submit(i);
  a = StartServerAt(port_a);
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(collector->WaitForReported(18)) << collector->Reported().size();
  EXPECT_GE(collector->watch().reconnects(), 2);
  const std::string last_cursor = collector->watch().cursor();
  collector->Stop();

  EXPECT_EQ(collector->Reported(), submitted) << "every report exactly once, in order";
  std::set<std::string> cursors;
  for (const auto& u : collector->updates()) {
    ASSERT_EQ(u.kind, gc::WatchUpdate::Kind::kEvent);
    EXPECT_TRUE(cursors.insert(u.event.cursor()).second) << "repeated " << u.event.cursor();
  }

  // The app restarts: a new watch resumes from the saved cursor and sees only what is new.
  for (int i = 19; i <= 20; ++i) submit(i);
  gc::WatchOptions resume;
  resume.cursor_file = cursor_file;
  Collector restarted(via_a.WatchCases(resume));
  ASSERT_TRUE(restarted.WaitForReported(2));
  EXPECT_EQ(restarted.Reported(), (std::vector<std::string>{submitted[18], submitted[19]}));
  EXPECT_FALSE(last_cursor.empty());
}

TEST_P(SdkE2eTest, HandsetAndDepartmentClientsCarryACaseToClosed) {
  int port = 0;
  auto server = StartServer(&port);
  ASSERT_NE(server, nullptr);
  gc::ReportClient handset(gc::MakeReportConnection(OptionsFor(port, kLeader1)));
  gc::DispatchClient center(gc::MakeDispatchConnection(OptionsFor(port, kDispatcher1)));
  gc::DepartmentClient department(gc::MakeDepartmentConnection(OptionsFor(port, kStaffSz)));

  auto categories = handset.ListReportCategories();
  ASSERT_TRUE(categories.ok()) << categories.status();
  EXPECT_FALSE(categories->empty());

  auto submitted = handset.SubmitReport(NumberedReport(1), {NumberedPhoto(1, 0)});
  ASSERT_TRUE(submitted.ok()) << submitted.status();
  const std::string id = submitted->case_().case_id();

  // A resubmission with the same request id is the same case.
  v1::SubmitReportRequest again = NumberedReport(1);
  again.set_request_id("fixed-request-id-1");
  auto once = handset.SubmitReport(again);
  auto twice = handset.SubmitReport(again);
  ASSERT_TRUE(once.ok() && twice.ok());
  EXPECT_EQ(once->case_().case_id(), twice->case_().case_id());

  v1::AcceptCaseRequest accept;
  accept.set_case_id(id);
  auto filed = center.AcceptCase(accept);
  ASSERT_TRUE(filed.ok()) << filed.status();
  ASSERT_EQ(filed->state(), v1::DISPATCHED);

  // Department staff of the routed department take it and resolve it with an after-photo.
  gc::DepartmentClient lead(gc::MakeDepartmentConnection(
      OptionsFor(port, filed->lead_department_code() == "SZ" ? kStaffSz : kStaffCg)));
  v1::AcceptAssignmentRequest take;
  take.set_case_id(id);
  auto taken = lead.AcceptAssignment(take);
  ASSERT_TRUE(taken.ok()) << taken.status() << " lead " << filed->lead_department_code();
  v1::ResolveCaseRequest resolve;
  resolve.set_case_id(id);
  resolve.set_result("已修复路面");
  auto resolved = lead.ResolveCase(resolve, {NumberedPhoto(1, 9)});
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->after_photos_size(), 1);

  // Wrong state: the SDK keeps the server's precondition details.
  auto early = handset.VerifyCase(NumberedReport(1).request_id(), true, "");
  EXPECT_FALSE(early.ok());
  auto twice_resolved = lead.ResolveCase(resolve);
  ASSERT_EQ(twice_resolved.status().code(), absl::StatusCode::kFailedPrecondition);
  auto pre = gc::GetErrorDetails(twice_resolved.status()).precondition_violations;
  ASSERT_EQ(pre.size(), 1u);
  EXPECT_EQ(pre[0].type, "CASE_STATE");
  EXPECT_EQ(pre[0].subject, "RESOLVED");

  auto closed = handset.VerifyCase(id, true, "现场核查通过");
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->state(), v1::CLOSED);
  auto history = handset.ListCaseEvents(id);
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->back().type(), v1::VERIFICATION_PASSED);
}

TEST_P(SdkE2eTest, CallsFailCleanlyWhenTheServerIsAwayOrTheOptionsAreWrong) {
  const int port = FreePort();  // nobody listens
  auto options =
      OptionsFor(port, kLeader1)
          .set<gc::RetryPolicyOption>(std::make_shared<gc::LimitedErrorCountRetryPolicy>(3));
  gc::ReportClient away(gc::MakeReportConnection(options));
  auto started = std::chrono::steady_clock::now();
  auto r = away.SubmitReport(NumberedReport(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));

  gc::ReportClient nowhere(gc::MakeReportConnection(gc::Options{}));
  EXPECT_EQ(nowhere.GetCase("x").status().code(), absl::StatusCode::kInvalidArgument);
  auto watch = nowhere.WatchCases();
  EXPECT_EQ(watch->Next().status().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, SdkE2eTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace gridline::testing
