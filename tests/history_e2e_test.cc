// A case's history is permanent, and a list followed by a watch misses nothing (issue 11), over
// real gRPC against real gridline-server processes on SQLite and on the MariaDB started by the
// test command. Time is moved with the server's test clock
// (ServerConfig.test_clock_offset_seconds): a case is walked "45 days ago", then the server
// restarts in the present.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gridline/v1/admin_service.grpc.pb.h"
#include "gridline/v1/department_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "server/util/sha256.h"
#include "tests/e2e_fixture.h"
#include "tests/test_images.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using namespace testing;  // NOLINT: demo tokens

constexpr int64_t kDay = 86400;
constexpr int64_t kFortyFiveDays = 45 * kDay;

#define ASSERT_OK(expr)                                          \
  do {                                                           \
    const grpc::Status s_ = (expr);                              \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_.error_message(); \
  } while (0)

class HistoryTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (IsSkipped() || HasFailure()) return;
    port_ = FreePort();
    photos_ = dir_.path() + "/photos";
  }

  // Starts a server whose clock is `offset_seconds` off (negative: in the past).
  std::unique_ptr<ServerProcess> StartWithClock(int64_t offset_seconds) {
    auto server = StartConfiguredServer(
        port_, absl::StrCat("watch { heartbeat_interval_ms: ", heartbeat_ms_,
                            " poll_interval_ms: 50 retention_days: 30 }\n",
                            "worker_threads: 4\nhealth_check_interval_ms: 200\n",
                            "attachments { directory: '", photos_,
                            "' orphan_grace_seconds: 3600 cleanup_interval_seconds: 1 }\n",
                            "test_clock_offset_seconds: ", offset_seconds, "\n"));
    if (!server) return nullptr;
    auto channel = Channel(port_);
    report_ = v1::ReportService::NewStub(channel);
    dispatch_ = v1::DispatchService::NewStub(channel);
    dept_ = v1::DepartmentService::NewStub(channel);
    admin_ = v1::AdminService::NewStub(channel);
    return server;
  }

  std::string Upload(const std::string& token, const std::string& bytes) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::Attachment out;
    auto writer = report_->UploadAttachment(&ctx, &out);
    v1::UploadAttachmentRequest meta;
    meta.mutable_metadata()->set_sha256(util::Sha256Hex(bytes));
    meta.mutable_metadata()->set_size_bytes(static_cast<int64_t>(bytes.size()));
    writer->Write(meta);
    v1::UploadAttachmentRequest chunk;
    chunk.set_chunk(bytes);
    writer->Write(chunk);
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.attachment_id();
  }

  grpc::Status Download(const std::string& token, const std::string& id, std::string* bytes) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::DownloadAttachmentRequest req;
    req.set_attachment_id(id);
    auto reader = report_->DownloadAttachment(&ctx, req);
    v1::DownloadAttachmentResponse m;
    bytes->clear();
    while (reader->Read(&m)) {
      if (m.part_case() == v1::DownloadAttachmentResponse::kChunk) *bytes += m.chunk();
    }
    return reader->Finish();
  }

  std::vector<v1::CaseEvent> History(const std::string& id) {
    v1::ListCaseEventsRequest req;
    req.set_case_id(id);
    v1::ListCaseEventsResponse resp;
    grpc::Status s =
        Call(report_.get(), &v1::ReportService::Stub::ListCaseEvents, kLeader1, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return {resp.events().begin(), resp.events().end()};
  }

  v1::Statistics Figures(int64_t start_seconds, int64_t end_seconds) {
    v1::GetStatisticsRequest req;
    req.mutable_start_time()->set_seconds(start_seconds);
    req.mutable_end_time()->set_seconds(end_seconds);
    v1::Statistics out;
    grpc::Status s =
        Call(admin_.get(), &v1::AdminService::Stub::GetStatistics, kOperator, req, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  // The first message of a WatchCases stream opened after `cursor`, or the status that ended
  // the stream before any.
  absl::StatusOr<v1::WatchEvent> FirstMessage(const std::string& cursor) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", kLeader1));
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::WatchCasesRequest req;
    req.set_after_cursor(cursor);
    auto reader = report_->WatchCases(&ctx, req);
    v1::WatchEvent ev;
    if (reader->Read(&ev)) {
      ctx.TryCancel();
      reader->Finish().IgnoreError();
      return ev;
    }
    grpc::Status s = reader->Finish();
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  }

  int port_ = 0;
  int heartbeat_ms_ = 200;
  std::string photos_;
  std::unique_ptr<v1::ReportService::Stub> report_;
  std::unique_ptr<v1::DispatchService::Stub> dispatch_;
  std::unique_ptr<v1::DepartmentService::Stub> dept_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

// Issue 11: the watch feed's retention used to delete rows of case_events, which is the case
// history: 45 days later ListCaseEvents showed 1 of 8 events and the figures lost the
// resolution and the rework.
TEST_P(HistoryTest, ACaseWalkedFortyFiveDaysAgoKeepsItsHistoryFiguresAndPhotos) {
  auto past = StartWithClock(-kFortyFiveDays);
  ASSERT_TRUE(past);
  const std::string photo_bytes = TestPng(5000, "before-photo 45 days ago");
  const std::string photo = Upload(kLeader1, photo_bytes);
  const std::string canary = Upload(kLeader1, TestPng(5000, "a photo nothing uses"));
  ASSERT_FALSE(photo.empty());
  ASSERT_FALSE(canary.empty());

  v1::SubmitReportRequest report = Report("forty-five-days");
  report.add_attachment_ids(photo);
  v1::SubmitReportResponse submitted;
  ASSERT_OK(
      Call(report_.get(), &v1::ReportService::Stub::SubmitReport, kLeader1, report, &submitted));
  const std::string id = submitted.case_().case_id();
  const int64_t filed_at = submitted.case_().create_time().seconds();
  EXPECT_LT(filed_at, time(nullptr) - 44 * kDay) << "the server's clock is 45 days back";
  v1::Case c;
  v1::AcceptCaseRequest accept;
  accept.set_case_id(id);
  ASSERT_OK(
      Call(dispatch_.get(), &v1::DispatchService::Stub::AcceptCase, kDispatcher1, accept, &c));
  ASSERT_EQ(c.state(), v1::DISPATCHED);
  ASSERT_EQ(c.lead_department_code(), "SZ");  // by the demo organisation's routing rule
  v1::AcceptAssignmentRequest take;
  take.set_case_id(id);
  ASSERT_OK(Call(dept_.get(), &v1::DepartmentService::Stub::AcceptAssignment, kStaffSz, take, &c));
  v1::ResolveCaseRequest resolve;
  resolve.set_case_id(id);
  resolve.set_result("已修复路面");
  ASSERT_OK(Call(dept_.get(), &v1::DepartmentService::Stub::ResolveCase, kStaffSz, resolve, &c));
  v1::VerifyCaseRequest fail;
  fail.set_case_id(id);
  fail.set_passed(false);
  fail.set_note("东侧仍有坑洼");
  ASSERT_OK(Call(report_.get(), &v1::ReportService::Stub::VerifyCase, kLeader1, fail, &c));
  ASSERT_EQ(c.rework_count(), 1);
  resolve.set_result("东侧已补平");
  ASSERT_OK(Call(dept_.get(), &v1::DepartmentService::Stub::ResolveCase, kStaffSz, resolve, &c));
  v1::VerifyCaseRequest pass;
  pass.set_case_id(id);
  pass.set_passed(true);
  ASSERT_OK(Call(report_.get(), &v1::ReportService::Stub::VerifyCase, kLeader1, pass, &c));
  ASSERT_EQ(c.state(), v1::CLOSED);

  const std::vector<v1::CaseEvent> before = History(id);
  ASSERT_EQ(before.size(), 8u);
  const v1::Statistics figures_then = Figures(filed_at - 3600, filed_at + 3600);
  EXPECT_EQ(figures_then.found_count(), 1);
  EXPECT_EQ(figures_then.resolved_count(), 1);
  EXPECT_EQ(figures_then.reworked_count(), 1);
  EXPECT_EQ(past->Stop(SIGTERM), 0);

  // The present: the feed's 30-day window has moved past all of it (the server advances it
  // before it serves), and the photo clean-up runs every second.
  auto now = StartWithClock(0);
  ASSERT_TRUE(now);
  const std::vector<v1::CaseEvent> after = History(id);
  ASSERT_EQ(after.size(), before.size()) << "the whole history is still there";
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].SerializeAsString(), before[i].SerializeAsString()) << i;
  }
  const v1::Statistics figures_now = Figures(filed_at - 3600, filed_at + 3600);
  v1::Statistics a = figures_then, b = figures_now;
  a.clear_open_overdue_count();  // "open now" depends on the present, not on the range
  b.clear_open_overdue_count();
  EXPECT_EQ(a.DebugString(), b.DebugString());

  // That month's 三色旗: a supervisor sees the grid units of their subtree only (the
  // operator also the departments); a grid leader may not list them.
  const absl::CivilSecond filed_local =
      absl::ToCivilSecond(absl::FromUnixSeconds(filed_at), absl::FixedTimeZone(8 * 3600));
  v1::ListEvaluationsRequest month;
  month.set_year(static_cast<int>(filed_local.year()));
  month.set_month(filed_local.month());
  month.set_page_size(500);
  auto units = [&](const char* token, v1::ListEvaluationsResponse* out) {
    return Call(admin_.get(), &v1::AdminService::Stub::ListEvaluations, token, month, out);
  };
  v1::ListEvaluationsResponse supervised, everything, none;
  ASSERT_OK(units(kSupervisor, &supervised));
  ASSERT_OK(units(kOperator, &everything));
  ASSERT_GT(supervised.evaluations_size(), 0);
  int departments = 0;
  for (const auto& e : everything.evaluations())
    departments += e.unit_kind() == v1::DEPARTMENT_UNIT;
  EXPECT_GT(departments, 0);
  for (const auto& e : supervised.evaluations()) {
    EXPECT_EQ(e.unit_kind(), v1::GRID_UNIT) << e.unit_code();
    EXPECT_TRUE(absl::StartsWith(e.unit_code(), "410184")) << e.unit_code();
  }
  EXPECT_LT(supervised.evaluations_size(), everything.evaluations_size());
  EXPECT_EQ(units(kLeader1, &none).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  // The unused photo goes once the clean-up runs; the case's photo stays downloadable.
  const std::string canary_path = absl::StrCat(photos_, "/", canary.substr(0, 2), "/", canary);
  DeletionWatch gone;
  gone.Add(canary_path);
  EXPECT_TRUE(gone.WaitAllGone(std::chrono::seconds(30))) << "the clean-up did not run";
  std::string downloaded;
  ASSERT_OK(Download(kLeader1, photo, &downloaded));
  EXPECT_TRUE(downloaded == photo_bytes);

  // The feed's window, not the history, decides how far back a watch may resume.
  auto expired = FirstMessage(before.front().cursor());
  EXPECT_EQ(expired.status().code(), absl::StatusCode::kOutOfRange) << expired.status();
  EXPECT_TRUE(FirstMessage(before.back().cursor()).ok()) << "the newest event stays resumable";
}

// Issue 11: a new stream sent nothing until its first heartbeat (15 s by default), so a client
// could not tell when it was live. Its first message is now a heartbeat with its start cursor,
// at once: with heartbeats a minute apart, it arrives well within the wait below.
TEST_P(HistoryTest, AStreamSaysAtOnceWhereItStarts) {
  heartbeat_ms_ = 60000;
  auto server = StartWithClock(0);
  ASSERT_TRUE(server);
  v1::SubmitReportResponse submitted;
  ASSERT_OK(Call(report_.get(), &v1::ReportService::Stub::SubmitReport, kLeader1,
                 Report("greeting"), &submitted));
  v1::ListMyCasesResponse listed;
  ASSERT_OK(Call(report_.get(), &v1::ReportService::Stub::ListMyCases, kLeader1,
                 v1::ListMyCasesRequest(), &listed));
  EXPECT_EQ(listed.feed_cursor(), submitted.event_cursor()) << "nothing was written since";
  for (const std::string& after : {std::string(), listed.feed_cursor()}) {
    auto first = FirstMessage(after);
    ASSERT_TRUE(first.ok()) << "no first message within 20 s: " << first.status();
    ASSERT_TRUE(first->has_heartbeat());
    EXPECT_EQ(first->heartbeat().cursor(), listed.feed_cursor()) << "from '" << after << "'";
  }
  // GetCase carries the cursor it was read at too.
  v1::GetCaseRequest get;
  get.set_case_id(submitted.case_().case_id());
  v1::Case got;
  ASSERT_OK(Call(report_.get(), &v1::ReportService::Stub::GetCase, kLeader1, get, &got));
  EXPECT_EQ(got.feed_cursor(), listed.feed_cursor());
}

INSTANTIATE_TEST_SUITE_P(Backends, HistoryTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace gridline
