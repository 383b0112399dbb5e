// Issue 12: the worker pool is bounded. A server with one worker and room for one waiting call,
// whose worker is stuck on a store lock the test holds, refuses further new calls at once with
// RESOURCE_EXHAUSTED and a RetryInfo, instead of queueing them without bound; the calls it took
// finish once the lock is released, and the refused ones succeed when retried.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "tests/e2e_fixture.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using testing::Backend;
using testing::kLeader1;

class OverloadTest : public testing::E2eTest {};

// The RetryInfo delay of a status, in milliseconds (-1 without one).
int64_t RetryDelayMs(const grpc::Status& s) {
  google::rpc::Status rich;
  if (!rich.ParseFromString(s.error_details())) return -1;
  for (const auto& d : rich.details()) {
    google::rpc::RetryInfo retry;
    if (d.UnpackTo(&retry)) {
      return retry.retry_delay().seconds() * 1000 + retry.retry_delay().nanos() / 1000000;
    }
  }
  return -1;
}

TEST_P(OverloadTest, NewCallsBeyondTheQueueAreRefusedWithRetryInfoAndNothingTakenIsLost) {
  const std::string config = dir_.path() + "/busy.textproto";
  std::ofstream(config) << "worker_threads: 1\nmax_queued_calls: 1\nshutdown_grace_ms: 3000\n"
                        << "health_check_interval_ms: 200\n";
  const int port = testing::FreePort();
  std::vector<std::string> args = {"--config",       config,
                                   "--listen",       absl::StrCat("127.0.0.1:", port),
                                   "--organisation", testing::DemoOrganisationFile(),
                                   "--demo"};
  for (auto& a : StoreArgs()) args.push_back(a);
  testing::ServerProcess server(args, dir_.path() + "/busy.log");
  ASSERT_TRUE(server.Start(port)) << server.Log();
  auto stub = v1::ReportService::NewStub(Channel(port));

  // Hold the store's write lock, so that the one worker blocks on the first report's write.
  auto lock = Raw();
  ASSERT_TRUE(lock);
  ASSERT_TRUE(lock->Begin(true).ok());
  if (GetParam() == Backend::kMariaDb) {
    ASSERT_TRUE(lock->Query("SELECT last_seq FROM event_sequence WHERE id = 1 FOR UPDATE").ok());
  } else {
    ASSERT_TRUE(lock->Execute("UPDATE store_meta SET value = value WHERE name = 'x'").ok());
  }

  constexpr int kCalls = 5;
  grpc::CompletionQueue cq;
  struct Call {
    grpc::ClientContext ctx;
    v1::SubmitReportResponse resp;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncResponseReader<v1::SubmitReportResponse>> rpc;
  };
  std::vector<std::unique_ptr<Call>> calls;
  for (int i = 0; i < kCalls; ++i) {
    auto c = std::make_unique<Call>();
    Authorize(&c->ctx, kLeader1, 60000);
    c->rpc = stub->AsyncSubmitReport(&c->ctx, Report(absl::StrCat("overload-", i)), &cq);
    c->rpc->Finish(&c->resp, &c->status, reinterpret_cast<void*>(static_cast<intptr_t>(i)));
    calls.push_back(std::move(c));
  }
  // While the lock is held, only refusals come back: at most one call runs and one waits, so at
  // least kCalls - 2 are refused before anything can finish. (If all calls arrive before the
  // worker has taken the first, only that one is taken and a fourth is refused too.)
  std::vector<int> refused;
  auto next = [&](std::chrono::seconds within) -> int {
    void* tag = nullptr;
    bool ok = false;
    auto got = cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + within);
    if (got != grpc::CompletionQueue::GOT_EVENT) return -1;
    return static_cast<int>(reinterpret_cast<intptr_t>(tag));
  };
  auto expect_refused = [&](int i) {
    EXPECT_EQ(calls[i]->status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << "call " << i << ": " << calls[i]->status.error_message();
    EXPECT_EQ(RetryDelayMs(calls[i]->status), 1000) << "call " << i;
    refused.push_back(i);
  };
  while (static_cast<int>(refused.size()) < kCalls - 2) {
    const int i = next(std::chrono::seconds(20));
    ASSERT_GE(i, 0) << "no answer while the worker is stuck; refused so far: " << refused.size();
    expect_refused(i);
  }
  // Once the lock is gone the calls it took finish: the first always (the queue was empty when it
  // came), the one that waited if there was one; the last answer may be the late fourth refusal.
  ASSERT_TRUE(lock->Rollback().ok());
  int filed = 0;
  for (int done = 0; done < 2; ++done) {
    const int i = next(std::chrono::seconds(30));
    ASSERT_GE(i, 0) << "a call the server took never finished";
    if (calls[i]->status.ok()) {
      ++filed;
    } else {
      expect_refused(i);
    }
  }
  EXPECT_GE(filed, 1) << "the call the worker was stuck on was not filed";
  // Retried, the refused ones are filed.
  for (int i : refused) {
    v1::SubmitReportResponse resp;
    auto s = Submit(stub.get(), Report(absl::StrCat("overload-", i)), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, OverloadTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
