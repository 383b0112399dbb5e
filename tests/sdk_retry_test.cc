// The SDK's retry rule over real gRPC, against a scripted in-process server (the SDK's transport
// is what is tested here, not gridline's server): UNAVAILABLE is retried on every call with the
// same request, DEADLINE_EXCEEDED only on idempotent calls, anything else never, and every
// attempt carries the token and a deadline.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "gridline/client/department_client.h"
#include "gridline/client/report_client.h"
#include "gridline/v1/department_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "tests/sdk_test_data.h"

namespace gridline::testing {
namespace {

namespace gc = ::gridline::client;
using std::chrono::milliseconds;

// Answers the first `fail` calls with `failure` (or, for DEADLINE_EXCEEDED, by outliving the
// client's deadline), then succeeds.
struct Script {
  int fail = 0;
  grpc::StatusCode failure = grpc::StatusCode::UNAVAILABLE;
};

class ScriptedReportService final : public v1::ReportService::Service {
 public:
  Script script;
  std::mutex mu;
  std::vector<std::string> request_ids;
  std::vector<std::string> tokens;
  std::vector<bool> had_deadline;

  grpc::Status SubmitReport(grpc::ServerContext* context, const v1::SubmitReportRequest* request,
                            v1::SubmitReportResponse* response) override {
    int call;
    {
      std::lock_guard<std::mutex> lock(mu);
      request_ids.push_back(request->request_id());
      auto auth = context->client_metadata().find("authorization");
      tokens.emplace_back(auth == context->client_metadata().end()
                              ? ""
                              : std::string(auth->second.data(), auth->second.size()));
      had_deadline.push_back(context->deadline() != std::chrono::system_clock::time_point::max());
      call = static_cast<int>(request_ids.size());
    }
    if (call <= script.fail) return Fail(context);
    response->mutable_case_()->set_case_id("c-" + request->request_id());
    return grpc::Status::OK;
  }

  grpc::Status Fail(grpc::ServerContext* context) {
    if (script.failure == grpc::StatusCode::DEADLINE_EXCEEDED) {
      while (!context->IsCancelled()) std::this_thread::sleep_for(milliseconds(5));
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "too slow");
    }
    return grpc::Status(script.failure, "scripted failure");
  }
};

class ScriptedDepartmentService final : public v1::DepartmentService::Service {
 public:
  Script script;
  std::atomic<int> calls{0};
  grpc::Status AddProgress(grpc::ServerContext* context, const v1::AddProgressRequest*,
                           v1::Case* response) override {
    if (++calls <= script.fail) {
      if (script.failure == grpc::StatusCode::DEADLINE_EXCEEDED) {
        while (!context->IsCancelled()) std::this_thread::sleep_for(milliseconds(5));
        return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "too slow");
      }
      return grpc::Status(script.failure, "scripted failure");
    }
    response->set_case_id("c-1");
    return grpc::Status::OK;
  }
};

class SdkRetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&report_);
    builder.RegisterService(&department_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now()); }

  gc::Options Options(int retries) {
    return gc::Options{}
        .set<gc::EndpointOption>("127.0.0.1:" + std::to_string(port_))
        .set<gc::AuthTokenOption>("tok-1")
        .set<gc::InsecureChannelOption>(true)
        .set<gc::TimeoutOption>(milliseconds(1000))
        .set<gc::RetryPolicyOption>(std::make_shared<gc::LimitedErrorCountRetryPolicy>(retries))
        .set<gc::BackoffPolicyOption>(
            std::make_shared<gc::ExponentialBackoffPolicy>(milliseconds(1), milliseconds(5)));
  }

  int port_ = 0;
  ScriptedReportService report_;
  ScriptedDepartmentService department_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(SdkRetryTest, UnavailableIsRetriedWithTheSameRequestIdTokenAndADeadline) {
  report_.script = {2, grpc::StatusCode::UNAVAILABLE};
  gc::ReportClient client(gc::MakeReportConnection(Options(3)));
  auto r = client.SubmitReport(NumberedReport(1));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(report_.request_ids.size(), 3u);
  EXPECT_FALSE(report_.request_ids[0].empty());
  EXPECT_EQ(report_.request_ids[1], report_.request_ids[0]);
  EXPECT_EQ(report_.request_ids[2], report_.request_ids[0]);
  EXPECT_EQ(r->case_().case_id(), "c-" + report_.request_ids[0]);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(report_.tokens[i], "Bearer tok-1");
    EXPECT_TRUE(report_.had_deadline[i]);
  }
}

TEST_F(SdkRetryTest, TheRetryPolicyBoundsTheAttempts) {
  report_.script = {100, grpc::StatusCode::UNAVAILABLE};
  gc::ReportClient client(gc::MakeReportConnection(Options(2)));
  auto r = client.SubmitReport(NumberedReport(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(report_.request_ids.size(), 3u) << "the first attempt and two retries";
}

TEST_F(SdkRetryTest, AnIdempotentCallIsRetriedAfterItsDeadline) {
  report_.script = {1, grpc::StatusCode::DEADLINE_EXCEEDED};
  gc::ReportClient client(gc::MakeReportConnection(Options(3)));
  auto r = client.SubmitReport(NumberedReport(1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(report_.request_ids.size(), 2u);
  EXPECT_EQ(report_.request_ids[0], report_.request_ids[1]);
}

TEST_F(SdkRetryTest, AWriteWithoutExpectedVersionIsNotRetriedAfterItsDeadline) {
  department_.script = {1, grpc::StatusCode::DEADLINE_EXCEEDED};
  gc::DepartmentClient client(gc::MakeDepartmentConnection(Options(3)));
  v1::AddProgressRequest request;
  request.set_case_id("c-1");
  request.set_note("进展");
  auto r = client.AddProgress(request);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(department_.calls.load(), 1) << "the note may have been added: not repeated";

  // With expected_version a repeat cannot apply twice, so it is retried.
  department_.calls = 0;
  request.set_expected_version(7);
  auto again = client.AddProgress(request);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(department_.calls.load(), 2);
}

TEST_F(SdkRetryTest, UnavailableIsRetriedEvenForAWriteAndOtherErrorsNever) {
  department_.script = {1, grpc::StatusCode::UNAVAILABLE};
  gc::DepartmentClient client(gc::MakeDepartmentConnection(Options(3)));
  v1::AddProgressRequest request;
  request.set_case_id("c-1");
  ASSERT_TRUE(client.AddProgress(request).ok());
  EXPECT_EQ(department_.calls.load(), 2);

  for (auto code : {grpc::StatusCode::INVALID_ARGUMENT, grpc::StatusCode::ABORTED,
                    grpc::StatusCode::INTERNAL, grpc::StatusCode::RESOURCE_EXHAUSTED}) {
    department_.calls = 0;
    department_.script = {1, code};
    request.set_expected_version(3);  // idempotent: still only UNAVAILABLE/DEADLINE are retried
    auto r = client.AddProgress(request);
    EXPECT_EQ(static_cast<int>(r.status().code()), static_cast<int>(code));
    EXPECT_EQ(department_.calls.load(), 1) << code;
  }
}

}  // namespace
}  // namespace gridline::testing
