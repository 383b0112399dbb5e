// The SDK's own logic, without a server, through the gMock connections vendors use: request ids,
// the retry rule, backoff, the watch's resume/dedupe/re-sync/idle handling, list-then-watch and
// the outbox's classification of failures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gridline/client/department_client.h"
#include "gridline/client/dispatch_client.h"
#include "gridline/client/mocks/mock_department_connection.h"
#include "gridline/client/mocks/mock_dispatch_connection.h"
#include "gridline/client/mocks/mock_report_connection.h"
#include "gridline/client/options.h"
#include "gridline/client/outbox.h"
#include "gridline/client/report_client.h"
#include "tests/sdk_test_data.h"
#include "tests/test_support.h"

namespace gridline::testing {
namespace {

namespace gc = ::gridline::client;
using std::chrono::milliseconds;
using ::testing::_;
using ::testing::Invoke;
using ::testing::Return;

TEST(SdkBasics, RequestIdsAreFreshVersion4Uuids) {
  std::set<std::string> ids;
  const std::regex uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  for (int i = 0; i < 1000; ++i) {
    auto id = gc::NewRequestId();
    EXPECT_TRUE(std::regex_match(id, uuid)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(SdkBasics, Sha256IsTheLowercaseHexDigest) {
  EXPECT_EQ(gc::Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(SdkBasics, OnlyUnavailableAndDeadlineOnIdempotentCallsAreRetried) {
  for (auto code : {absl::StatusCode::kInvalidArgument, absl::StatusCode::kAborted,
                    absl::StatusCode::kInternal, absl::StatusCode::kUnauthenticated,
                    absl::StatusCode::kFailedPrecondition, absl::StatusCode::kResourceExhausted}) {
    EXPECT_FALSE(gc::IsRetryable(gc::Status(code, ""), gc::Idempotency::kIdempotent)) << code;
  }
  EXPECT_TRUE(gc::IsRetryable(absl::UnavailableError(""), gc::Idempotency::kNonIdempotent));
  EXPECT_TRUE(gc::IsRetryable(absl::DeadlineExceededError(""), gc::Idempotency::kIdempotent));
  EXPECT_FALSE(gc::IsRetryable(absl::DeadlineExceededError(""), gc::Idempotency::kNonIdempotent));
}

TEST(SdkBasics, ExponentialBackoffStaysWithinItsGrowingCap) {
  gc::ExponentialBackoffPolicy policy(milliseconds(100), milliseconds(1000), 2.0);
  const int caps[] = {100, 200, 400, 800, 1000, 1000};
  for (int cap : caps) {
    auto d = policy.OnCompletion();
    EXPECT_GE(d.count(), 0);
    EXPECT_LE(d.count(), cap);
  }
  gc::LimitedErrorCountRetryPolicy retry(2);
  EXPECT_TRUE(retry.OnFailure(absl::UnavailableError("")));
  EXPECT_TRUE(retry.OnFailure(absl::UnavailableError("")));
  EXPECT_FALSE(retry.OnFailure(absl::UnavailableError("")));
  EXPECT_TRUE(retry.IsExhausted());
}

TEST(SdkBasics, OptionsKeepTypedValuesAndDefaultsFillTheRest) {
  auto o = gc::Options{}.set<gc::EndpointOption>("h:1").set<gc::TimeoutOption>(milliseconds(5));
  EXPECT_EQ(o.get<gc::EndpointOption>(), "h:1");
  EXPECT_FALSE(o.has<gc::AuthTokenOption>());
  EXPECT_EQ(o.get<gc::AuthTokenOption>(), "");
  auto d = gc::DefaultOptions(o);
  EXPECT_EQ(d.get<gc::TimeoutOption>(), milliseconds(5));
  EXPECT_EQ(d.get<gc::TransferTimeoutOption>(), milliseconds(300000));
  EXPECT_NE(d.get<gc::RetryPolicyOption>(), nullptr);
  EXPECT_NE(d.get<gc::BackoffPolicyOption>(), nullptr);
}

TEST(SdkMocks, ReportClientFillsTheRequestIdAndUploadsPhotosWithTheirDigest) {
  auto mock = std::make_shared<gc::MockReportConnection>();
  gc::PhotoUpload uploaded;
  EXPECT_CALL(*mock, UploadAttachment(_)).WillOnce(Invoke([&](const gc::PhotoUpload& p) {
    uploaded = p;
    v1::Attachment a;
    a.set_attachment_id(p.sha256);
    return a;
  }));
  v1::SubmitReportRequest seen;
  EXPECT_CALL(*mock, SubmitReport(_)).WillOnce(Invoke([&](const v1::SubmitReportRequest& r) {
    seen = r;
    v1::SubmitReportResponse response;
    response.mutable_case_()->set_case_id("c-1");
    return response;
  }));
  gc::ReportClient client(mock);
  auto photo = NumberedPhoto(1, 0);
  auto r = client.SubmitReport(NumberedReport(1), {photo});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->case_().case_id(), "c-1");
  EXPECT_FALSE(seen.request_id().empty());
  EXPECT_EQ(uploaded.sha256, gc::Sha256Hex(photo.bytes));
  ASSERT_EQ(seen.attachment_ids_size(), 1);
  EXPECT_EQ(seen.attachment_ids(0), uploaded.sha256);
}

// A scripted stream: hands out `events`, then ends with `end`; or, when `hang`, blocks until
// cancelled.
class ScriptedStream : public gc::EventStream {
 public:
  // `blocked`, when given, is set (and notified) once a Read hangs.
  struct Blocked {
    std::mutex mu;
    std::condition_variable cv;
    bool now = false;
  };
  ScriptedStream(std::vector<v1::WatchEvent> events, gc::Status end, bool hang = false,
                 std::shared_ptr<Blocked> blocked = nullptr)
      : events_(events.begin(), events.end()),
        end_(std::move(end)),
        hang_(hang),
        blocked_(std::move(blocked)) {}
  std::optional<v1::WatchEvent> Read() override {
    std::unique_lock<std::mutex> lock(mu_);
    if (!events_.empty()) {
      auto e = events_.front();
      events_.pop_front();
      return e;
    }
    if (hang_) {
      if (blocked_) {
        std::lock_guard<std::mutex> b(blocked_->mu);
        blocked_->now = true;
        blocked_->cv.notify_all();
      }
      cv_.wait(lock, [this] { return cancelled_; });
    }
    return std::nullopt;
  }
  gc::Status Finish() override {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled_ ? absl::CancelledError("cancelled") : end_;
  }
  void Cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<v1::WatchEvent> events_;
  gc::Status end_;
  bool hang_;
  std::shared_ptr<Blocked> blocked_;
  bool cancelled_ = false;
};

v1::WatchEvent Event(int seq, const std::string& case_id = "c") {
  v1::WatchEvent e;
  e.mutable_event()->set_cursor(absl::StrCat("g1-", seq));
  e.mutable_event()->set_case_id(case_id);
  return e;
}
v1::WatchEvent Heartbeat(int seq) {
  v1::WatchEvent e;
  e.mutable_heartbeat()->set_cursor(absl::StrCat("g1-", seq));
  return e;
}

gc::Status CursorExpired() {
  google::rpc::ErrorInfo info;
  info.set_reason("CURSOR_EXPIRED");
  google::rpc::Status rich;
  rich.add_details()->PackFrom(info);
  gc::Status s = absl::OutOfRangeError("cursor expired");
  s.SetPayload("type.googleapis.com/google.rpc.Status", absl::Cord(rich.SerializeAsString()));
  return s;
}

gc::WatchOptions FastWatch() {
  gc::WatchOptions o;
  o.backoff = std::make_shared<gc::ExponentialBackoffPolicy>(milliseconds(1), milliseconds(5));
  return o;
}

TEST(SdkWatch, ResumesAfterTheLastCursorAndDropsRepeats) {
  auto mock = std::make_shared<gc::MockReportConnection>();
  std::vector<std::string> opened_at;
  int opens = 0;
  auto blocked = std::make_shared<ScriptedStream::Blocked>();
  EXPECT_CALL(*mock, WatchCases(_))
      .WillRepeatedly(
          Invoke([&](const v1::WatchCasesRequest& r) -> std::unique_ptr<gc::EventStream> {
            opened_at.push_back(r.after_cursor());
            switch (opens++) {
              case 0:
                return std::make_unique<ScriptedStream>(
                    std::vector<v1::WatchEvent>{Event(11), Event(12), Heartbeat(14)},
                    absl::UnavailableError("server shutting down"));
              case 1:  // a replica that repeats what was delivered
                return std::make_unique<ScriptedStream>(
                    std::vector<v1::WatchEvent>{Event(12), Event(13), Event(15), Event(16)},
                    absl::UnavailableError("network"));
              default:
                return std::make_unique<ScriptedStream>(std::vector<v1::WatchEvent>{}, gc::Status(),
                                                        /*hang=*/true, blocked);
            }
          }));
  EXPECT_CALL(*mock, options()).WillRepeatedly(Return(gc::Options{}));
  gc::ReportClient client(mock);
  auto options = FastWatch();
  options.after_cursor = "g1-10";
  std::vector<std::string> broke;
  options.on_reconnect = [&](const gc::Status& why) { broke.emplace_back(why.message()); };
  auto watch = client.WatchCases(options);
  std::vector<std::string> got;
  for (int i = 0; i < 4; ++i) {
    auto u = watch->Next();
    ASSERT_TRUE(u.ok()) << u.status();
    got.push_back(u->event.cursor());
  }
  EXPECT_EQ(got, (std::vector<std::string>{"g1-11", "g1-12", "g1-15", "g1-16"}));
  EXPECT_EQ(opened_at, (std::vector<std::string>{"g1-10", "g1-14"}));
  EXPECT_EQ(watch->reconnects(), 1);
  std::thread canceller([&] {
    // Cancel while Next() is blocked in a read.
    std::unique_lock<std::mutex> lock(blocked->mu);
    blocked->cv.wait(lock, [&] { return blocked->now; });
    watch->Cancel();
  });
  EXPECT_EQ(watch->Next().status().code(), absl::StatusCode::kCancelled);
  canceller.join();
  EXPECT_EQ(broke, (std::vector<std::string>{"server shutting down", "network"}))
      << "the app is told before each reconnect";
}

TEST(SdkWatch, AnExpiredCursorAsksForAResyncAndWatchesOnFromNow) {
  auto mock = std::make_shared<gc::MockReportConnection>();
  std::vector<std::string> opened_at;
  EXPECT_CALL(*mock, options()).WillRepeatedly(Return(gc::Options{}));
  EXPECT_CALL(*mock, WatchCases(_))
      .WillOnce(Invoke([&](const v1::WatchCasesRequest& r) -> std::unique_ptr<gc::EventStream> {
        opened_at.push_back(r.after_cursor());
        return std::make_unique<ScriptedStream>(std::vector<v1::WatchEvent>{}, CursorExpired());
      }))
      .WillOnce(Invoke([&](const v1::WatchCasesRequest& r) -> std::unique_ptr<gc::EventStream> {
        opened_at.push_back(r.after_cursor());
        return std::make_unique<ScriptedStream>(std::vector<v1::WatchEvent>{Event(3)},
                                                absl::PermissionDeniedError("disabled"));
      }));
  gc::ReportClient client(mock);
  auto options = FastWatch();
  options.after_cursor = "g1-900";
  auto watch = client.WatchCases(options);
  auto first = watch->Next();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->kind, gc::WatchUpdate::Kind::kResyncRequired);
  EXPECT_TRUE(gc::IsCursorExpired(first->reason));
  auto second = watch->Next();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->event.cursor(), "g1-3") << "positions restart after a re-sync";
  // A permanent error ends the watch, and stays.
  EXPECT_EQ(watch->Next().status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(watch->Next().status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(opened_at, (std::vector<std::string>{"g1-900", ""}));
}

TEST(SdkWatch, ASilentStreamIsReplacedAfterTheIdleTimeout) {
  auto mock = std::make_shared<gc::MockReportConnection>();
  EXPECT_CALL(*mock, options()).WillRepeatedly(Return(gc::Options{}));
  EXPECT_CALL(*mock, WatchCases(_))
      .WillOnce(Invoke([](const v1::WatchCasesRequest&) -> std::unique_ptr<gc::EventStream> {
        return std::make_unique<ScriptedStream>(std::vector<v1::WatchEvent>{Event(1)}, gc::Status(),
                                                /*hang=*/true);
      }))
      .WillOnce(Invoke([](const v1::WatchCasesRequest& r) -> std::unique_ptr<gc::EventStream> {
        EXPECT_EQ(r.after_cursor(), "g1-1");
        return std::make_unique<ScriptedStream>(std::vector<v1::WatchEvent>{Event(2)}, gc::Status(),
                                                /*hang=*/true);
      }));
  gc::ReportClient client(mock);
  auto options = FastWatch();
  options.idle_timeout = milliseconds(200);
  auto watch = client.WatchCases(options);
  ASSERT_EQ(watch->Next()->event.cursor(), "g1-1");
  ASSERT_EQ(watch->Next()->event.cursor(), "g1-2");
  EXPECT_EQ(watch->reconnects(), 1);
  watch->Cancel();
}

TEST(SdkWatch, TheCursorFileHoldsWhatTheAppHasHandled) {
  TempDir dir;
  const std::string file = dir.path() + "/cursor";
  auto mock = std::make_shared<gc::MockReportConnection>();
  EXPECT_CALL(*mock, options()).WillRepeatedly(Return(gc::Options{}));
  std::vector<std::string> opened_at;
  EXPECT_CALL(*mock, WatchCases(_))
      .WillRepeatedly(
          Invoke([&](const v1::WatchCasesRequest& r) -> std::unique_ptr<gc::EventStream> {
            opened_at.push_back(r.after_cursor());
            return std::make_unique<ScriptedStream>(std::vector<v1::WatchEvent>{Event(5), Event(6)},
                                                    gc::Status(), /*hang=*/true);
          }));
  gc::ReportClient client(mock);
  auto options = FastWatch();
  options.cursor_file = file;
  {
    auto watch = client.WatchCases(options);
    ASSERT_EQ(watch->Next()->event.cursor(), "g1-5");
    ASSERT_EQ(watch->Next()->event.cursor(), "g1-6");  // saves g1-5: handled
    watch->Cancel();
  }
  std::ifstream in(file);
  std::string saved;
  std::getline(in, saved);
  EXPECT_EQ(saved, "g1-5") << "g1-6 was delivered but not yet handled when the app stopped";
  auto again = client.WatchCases(options);
  ASSERT_EQ(again->Next()->event.cursor(), "g1-6") << "the unhandled event comes again";
  again->Cancel();
  EXPECT_EQ(opened_at, (std::vector<std::string>{"", "g1-5"}));
}

// ---- list, then watch ----

v1::Case ListedCase(const std::string& id, int64_t version) {
  v1::Case c;
  c.set_case_id(id);
  c.set_version(version);
  return c;
}

v1::WatchEvent VersionedEvent(int seq, const std::string& case_id, int64_t case_version) {
  v1::WatchEvent e = Event(seq, case_id);
  e.mutable_event()->set_case_version(case_version);
  return e;
}

std::vector<std::string> CaseIds(const std::vector<v1::Case>& cases) {
  std::vector<std::string> ids;
  for (const auto& c : cases) ids.push_back(c.case_id());
  return ids;
}

TEST(SdkListAndWatch, ListsEveryPageThenWatchesFromTheFirstPagesCursorSkippingWhatWasListed) {
  auto mock = std::make_shared<gc::MockReportConnection>();
  EXPECT_CALL(*mock, options()).WillRepeatedly(Return(gc::Options{}));
  std::vector<v1::ListMyCasesRequest> list_requests;
  EXPECT_CALL(*mock, ListMyCases(_))
      .WillOnce(Invoke([&](const v1::ListMyCasesRequest& r) {
        list_requests.push_back(r);
        v1::ListMyCasesResponse page;
        *page.add_cases() = ListedCase("a", 2);
        *page.add_cases() = ListedCase("b", 4);
        page.set_next_page_token("p2");
        page.set_feed_cursor("g1-10");
        return gc::StatusOr<v1::ListMyCasesResponse>(page);
      }))
      .WillOnce(Invoke([&](const v1::ListMyCasesRequest& r) {
        list_requests.push_back(r);
        v1::ListMyCasesResponse page;
        *page.add_cases() = ListedCase("b", 5);  // changed while the pages were read, and moved
        *page.add_cases() = ListedCase("d", 7);
        page.set_feed_cursor("g1-12");  // later than the first page's: not where the watch starts
        return gc::StatusOr<v1::ListMyCasesResponse>(page);
      }));
  std::vector<std::string> opened_at;
  auto blocked = std::make_shared<ScriptedStream::Blocked>();
  EXPECT_CALL(*mock, WatchCases(_))
      .WillOnce(Invoke([&](const v1::WatchCasesRequest& r) -> std::unique_ptr<gc::EventStream> {
        opened_at.push_back(r.after_cursor());
        return std::make_unique<ScriptedStream>(
            std::vector<v1::WatchEvent>{
                Heartbeat(10), VersionedEvent(11, "b", 5),  // in the list (page 2): skipped
                VersionedEvent(12, "c", 1),                 // a case the list did not show
                VersionedEvent(13, "d", 7),                 // in the list: skipped
            },
            absl::UnavailableError("network"));
      }))
      .WillOnce(Invoke([&](const v1::WatchCasesRequest& r) -> std::unique_ptr<gc::EventStream> {
        opened_at.push_back(r.after_cursor());
        return std::make_unique<ScriptedStream>(
            std::vector<v1::WatchEvent>{
                VersionedEvent(14, "a", 3),  // newer than the list
                VersionedEvent(15, "d", 0),  // no case_version: cannot tell, so delivered
                VersionedEvent(16, "d", 8),
            },
            gc::Status(), /*hang=*/true, blocked);
      }));
  gc::ReportClient client(mock);
  v1::ListMyCasesRequest request;
  request.set_page_size(2);
  request.set_page_token("stale");  // ignored: the list starts at the first page
  request.add_states(v1::DISPATCHED);
  auto options = FastWatch();
  options.after_cursor = "g1-1";  // replaced by the list's cursor
  auto listed = client.ListAndWatchCases(request, options);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(list_requests.size(), 2u);
  EXPECT_EQ(list_requests[0].page_token(), "");
  EXPECT_EQ(list_requests[1].page_token(), "p2");
  EXPECT_EQ(list_requests[1].page_size(), 2);
  ASSERT_EQ(list_requests[1].states_size(), 1);
  EXPECT_EQ(CaseIds(listed->items), (std::vector<std::string>{"a", "b", "d"}))
      << "each case once, in its first place";
  EXPECT_EQ(listed->items[1].version(), 5) << "with its newest version";
  EXPECT_EQ(listed->feed_cursor, "g1-10");
  ASSERT_NE(listed->watch, nullptr);
  EXPECT_TRUE(opened_at.empty()) << "nothing is opened before the first Next()";

  std::vector<std::string> got;
  for (int i = 0; i < 4; ++i) {
    auto u = listed->watch->Next();
    ASSERT_TRUE(u.ok()) << u.status();
    ASSERT_EQ(u->kind, gc::WatchUpdate::Kind::kEvent);
    got.push_back(absl::StrCat(u->event.case_id(), "@", u->event.case_version()));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"c@1", "a@3", "d@0", "d@8"}));
  EXPECT_EQ(opened_at, (std::vector<std::string>{"g1-10", "g1-13"}))
      << "the watch starts at the first page's cursor and resumes past the skipped events";
  std::thread canceller([&] {
    std::unique_lock<std::mutex> lock(blocked->mu);
    blocked->cv.wait(lock, [&] { return blocked->now; });
    listed->watch->Cancel();
  });
  EXPECT_EQ(listed->watch->Next().status().code(), absl::StatusCode::kCancelled);
  canceller.join();
}

TEST(SdkListAndWatch, TheQueueWatchIsNarrowedToTheListedGridAndSkippedEventsMoveTheCursor) {
  TempDir dir;
  const std::string file = dir.path() + "/cursor";
  auto mock = std::make_shared<gc::MockDispatchConnection>();
  EXPECT_CALL(*mock, options()).WillRepeatedly(Return(gc::Options{}));
  EXPECT_CALL(*mock, ListTriageQueue(_)).WillOnce(Invoke([](const v1::ListTriageQueueRequest& r) {
    EXPECT_EQ(r.grid_code(), "410184001");
    v1::ListTriageQueueResponse page;
    auto* item = page.add_items();
    *item->mutable_case_() = ListedCase("q1", 3);
    item->set_return_reason("not ours");
    *page.add_items()->mutable_case_() = ListedCase("q2", 1);
    page.set_feed_cursor("g1-20");
    return gc::StatusOr<v1::ListTriageQueueResponse>(page);
  }));
  v1::WatchQueueRequest watched;
  EXPECT_CALL(*mock, WatchQueue(_))
      .WillOnce(Invoke([&](const v1::WatchQueueRequest& r) -> std::unique_ptr<gc::EventStream> {
        watched = r;
        return std::make_unique<ScriptedStream>(
            std::vector<v1::WatchEvent>{Heartbeat(20), VersionedEvent(21, "q1", 3),
                                        VersionedEvent(22, "q2", 2)},
            gc::Status(), /*hang=*/true);
      }));
  gc::DispatchClient client(mock);
  v1::ListTriageQueueRequest request;
  request.set_grid_code("410184001");
  auto options = FastWatch();
  options.cursor_file = file;
  auto listed = client.ListAndWatchQueue(request, options);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->items.size(), 2u);
  EXPECT_EQ(listed->items[0].case_().case_id(), "q1");
  EXPECT_EQ(listed->items[0].return_reason(), "not ours");
  auto u = listed->watch->Next();
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->event.case_id(), "q2");
  EXPECT_EQ(watched.after_cursor(), "g1-20");
  EXPECT_EQ(watched.grid_code(), "410184001");
  EXPECT_EQ(listed->watch->cursor(), "g1-22");
  std::ifstream in(file);
  std::string saved;
  std::getline(in, saved);
  EXPECT_EQ(saved, "g1-21") << "the skipped event needs no handling; q2's is not handled yet";
  listed->watch->Cancel();
}

TEST(SdkListAndWatch, AssignmentsFollowIncludeAssistingAndAFailedListOpensNoWatch) {
  auto mock = std::make_shared<gc::MockDepartmentConnection>();
  EXPECT_CALL(*mock, options()).WillRepeatedly(Return(gc::Options{}));
  EXPECT_CALL(*mock, ListAssignedCases(_))
      .WillOnce(Invoke([](const v1::ListAssignedCasesRequest& r) {
        EXPECT_TRUE(r.include_assisting());
        v1::ListAssignedCasesResponse page;
        *page.add_cases() = ListedCase("x", 4);
        page.set_feed_cursor("g1-7");
        return gc::StatusOr<v1::ListAssignedCasesResponse>(page);
      }))
      .WillOnce(Return(gc::StatusOr<v1::ListAssignedCasesResponse>(
          absl::PermissionDeniedError("not department staff"))));
  v1::WatchAssignmentsRequest watched;
  EXPECT_CALL(*mock, WatchAssignments(_))
      .WillOnce(
          Invoke([&](const v1::WatchAssignmentsRequest& r) -> std::unique_ptr<gc::EventStream> {
            watched = r;
            return std::make_unique<ScriptedStream>(
                std::vector<v1::WatchEvent>{VersionedEvent(8, "x", 4), VersionedEvent(9, "x", 5)},
                absl::PermissionDeniedError("token revoked"));
          }));
  gc::DepartmentClient client(mock);
  v1::ListAssignedCasesRequest request;
  request.set_include_assisting(true);
  auto listed = client.ListAndWatchAssignments(request, FastWatch());
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(CaseIds(listed->items), (std::vector<std::string>{"x"}));
  auto u = listed->watch->Next();
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->event.case_version(), 5);
  EXPECT_EQ(watched.after_cursor(), "g1-7");
  EXPECT_TRUE(watched.include_assisting());
  EXPECT_EQ(listed->watch->Next().status().code(), absl::StatusCode::kPermissionDenied);

  auto refused = client.ListAndWatchAssignments();
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(SdkOutbox, SendsInOrderStopsOnTransientFailuresAndGivesUpOnRefusals) {
  TempDir dir;
  auto outbox = gc::Outbox::Open(dir.path() + "/o.db", gc::OutboxOptions{2});
  ASSERT_TRUE(outbox.ok()) << outbox.status();
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    auto e = (*outbox)->Enqueue(NumberedReport(i));
    ASSERT_TRUE(e.ok());
    ids.push_back(e->request_id);
  }
  auto mock = std::make_shared<gc::MockReportConnection>();
  std::vector<std::string> calls;
  std::deque<gc::Status> script = {
      gc::Status(),                                // 0 sent
      absl::InvalidArgumentError("unknown grid"),  // 1 failed for good
      absl::UnavailableError("offline"),           // 2 stop, pending
      gc::Status(),                                // 2 sent
      absl::InternalError("boom"),                 // 3 stop, counted (1 of 2)
      absl::InternalError("boom"),                 // 3 failed: the second unexpected one
  };
  EXPECT_CALL(*mock, SubmitReport(_))
      .WillRepeatedly(
          Invoke([&](const v1::SubmitReportRequest& r) -> gc::StatusOr<v1::SubmitReportResponse> {
            calls.push_back(r.request_id());
            gc::Status s = script.front();
            script.pop_front();
            if (!s.ok()) return s;
            v1::SubmitReportResponse response;
            response.mutable_case_()->set_case_id("case-" + r.request_id());
            return response;
          }));
  gc::ReportClient client(mock);
  auto first = (*outbox)->Flush(client);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->sent, 1);
  EXPECT_EQ(first->failed, 1);
  EXPECT_EQ(first->pending, 2);
  EXPECT_EQ(first->stopped_by.code(), absl::StatusCode::kUnavailable);
  auto second = (*outbox)->Flush(client);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->sent, 1);
  EXPECT_EQ(second->stopped_by.code(), absl::StatusCode::kInternal);
  auto third = (*outbox)->Flush(client);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->failed, 1);
  EXPECT_EQ(third->pending, 0);
  EXPECT_EQ(calls, (std::vector<std::string>{ids[0], ids[1], ids[2], ids[2], ids[3], ids[3]}))
      << "in order, each retry with the same request id";

  auto list = (*outbox)->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 4u);
  EXPECT_EQ((*list)[0].state, gc::OutboxState::kSent);
  EXPECT_EQ((*list)[0].case_id, "case-" + ids[0]);
  EXPECT_EQ((*list)[1].state, gc::OutboxState::kFailed);
  EXPECT_EQ((*list)[1].error.message(), "unknown grid");
  EXPECT_EQ((*list)[2].state, gc::OutboxState::kSent);
  EXPECT_EQ((*list)[2].attempts, 2);
  EXPECT_EQ((*list)[3].state, gc::OutboxState::kFailed);
  EXPECT_EQ((*list)[3].error.code(), absl::StatusCode::kInternal);

  EXPECT_TRUE((*outbox)->Remove(ids[1]).ok());
  EXPECT_EQ((*outbox)->Remove(ids[1]).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ((*outbox)->List()->size(), 3u);
  auto dup = NumberedReport(9);
  dup.set_request_id(ids[0]);
  EXPECT_EQ((*outbox)->Enqueue(dup).status().code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace gridline::testing
