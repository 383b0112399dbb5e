// Regression tests of the defects found by testing from outside (issue 10), each over real gRPC
// against a real gridline-server process, on SQLite and on the MariaDB started by the test
// command. Every test here failed on the code before its fix.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gridline/v1/admin_service.grpc.pb.h"
#include "gridline/v1/department_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "tests/e2e_fixture.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using testing::Backend;
using testing::FieldsOf;
using testing::kDispatcher1;
using testing::kLeader1;
using testing::kOperator;
using testing::kStaffSz;

// Seconds of a time in the year ~586,000: × 10⁶ it overflows int64 and used to wrap around.
constexpr int64_t kOverflowingSeconds = 18'500'000'000'000;
// 9999-12-31T23:59:59Z, the largest valid google.protobuf.Timestamp.
constexpr int64_t kLastValidSeconds = 253402300799;

class DefectsTest : public testing::E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    server_ = StartServer(&port_);
    ASSERT_TRUE(server_);
    Connect(port_);
  }

  void Connect(int port) {
    // Default channel arguments on purpose: what any client gets, including the 8 KiB limit
    // on received metadata.
    auto channel =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials());
    report_ = v1::ReportService::NewStub(channel);
    dispatch_ = v1::DispatchService::NewStub(channel);
    dept_ = v1::DepartmentService::NewStub(channel);
    admin_ = v1::AdminService::NewStub(channel);
  }

  // Starts a server on this test's store with `--demo` only when `demo`, and with the demo
  // organisation file only when `organisation`.
  std::unique_ptr<testing::ServerProcess> StartPlain(int port, bool demo, bool organisation) {
    std::vector<std::string> args = {"--config", dir_.path() + "/server.textproto", "--listen",
                                     absl::StrCat("127.0.0.1:", port)};
    if (organisation) {
      args.push_back("--organisation");
      args.push_back(testing::DemoOrganisationFile());
    }
    if (demo) args.push_back("--demo");
    for (auto& a : StoreArgs()) args.push_back(a);
    auto server = std::make_unique<testing::ServerProcess>(
        args, absl::StrCat(dir_.path(), "/server-", ++started_, ".log"));
    bool ok = server->Start(port);
    EXPECT_TRUE(ok) << server->Log();
    if (!ok) return nullptr;
    return server;
  }

  grpc::Status SubmitAs(const std::string& token, const v1::SubmitReportRequest& req,
                        v1::SubmitReportResponse* resp) {
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    return report_->SubmitReport(&ctx, req, resp);
  }

  static v1::SubmitReportRequest StreetLight(const std::string& request_id) {
    v1::SubmitReportRequest r = Report(request_id, "路灯不亮，整条街漆黑");
    r.set_category_code("C04_STREET_LIGHT_OUT");  // auto-accepted: filed and routed to SZ
    return r;
  }

  // Executes `sql` on the shared store (test-only fault injection).
  void RawExecute(const std::string& sql) {
    auto raw = Raw();
    ASSERT_TRUE(raw);
    auto st = raw->Execute(sql, {});
    ASSERT_TRUE(st.ok()) << sql << ": " << st.status();
  }

  int port_ = 0;
  std::unique_ptr<testing::ServerProcess> server_;
  std::unique_ptr<v1::ReportService::Stub> report_;
  std::unique_ptr<v1::DispatchService::Stub> dispatch_;
  std::unique_ptr<v1::DepartmentService::Stub> dept_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
};

// Defect 2: a store failure while filing an auto-accepted report was swallowed, and the report
// was acknowledged as PENDING_TRIAGE with no number and no deadline. Now the call fails
// retryably, and the retry (same request id) files the case as documented.
TEST_P(DefectsTest, AutoAcceptIsDispatchedOrFailsRetryably) {
  // Every case update fails: the report can be stored, but not filed.
  RawExecute(mysql_ ? "CREATE TRIGGER fail_case_update BEFORE UPDATE ON cases FOR EACH ROW "
                      "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'"
                    : "CREATE TRIGGER fail_case_update BEFORE UPDATE ON cases "
                      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  const v1::SubmitReportRequest req = StreetLight("auto-accept-fault-1");
  v1::SubmitReportResponse resp;
  grpc::Status s = SubmitAs(kLeader1, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();

  RawExecute("DROP TRIGGER fail_case_update");
  s = SubmitAs(kLeader1, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.case_().state(), v1::DISPATCHED);
  EXPECT_FALSE(resp.case_().case_number().empty());
  EXPECT_TRUE(resp.case_().has_deadline_time());
  EXPECT_EQ(resp.case_().lead_department_code(), "SZ");
  // The same answer again: idempotent, nothing filed twice.
  v1::SubmitReportResponse again;
  ASSERT_TRUE(SubmitAs(kLeader1, req, &again).ok());
  EXPECT_EQ(again.case_().case_id(), resp.case_().case_id());
  EXPECT_EQ(again.case_().case_number(), resp.case_().case_number());
  EXPECT_EQ(again.case_().version(), resp.case_().version());
}

// Defect 3: seconds × 10⁶ overflowed, so far-future values wrapped around and passed
// validation. Each RPC that takes a time or a duration now rejects them by field.
TEST_P(DefectsTest, TimesOutsideTheProtobufRangeAreInvalidArguments) {
  {  // SubmitReport.observe_time in the year ~586,000 was stored as "now".
    v1::SubmitReportRequest req = Report("far-future-observe");
    req.mutable_observe_time()->set_seconds(kOverflowingSeconds);
    v1::SubmitReportResponse resp;
    grpc::Status s = SubmitAs(kLeader1, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_EQ(FieldsOf(s), std::vector<std::string>{"observe_time"});
  }
  // A case with a department and a deadline, for the extension.
  v1::SubmitReportResponse filed;
  ASSERT_TRUE(SubmitAs(kLeader1, StreetLight("far-future-ext"), &filed).ok());
  ASSERT_EQ(filed.case_().state(), v1::DISPATCHED);
  {  // RequestExtension.requested_deadline_time wrapped to about +4 days (under the 90-day cap).
    v1::RequestExtensionRequest req;
    req.set_case_id(filed.case_().case_id());
    req.set_reason("需要更换整条线路");
    req.mutable_requested_deadline_time()->set_seconds(kOverflowingSeconds);
    v1::ExtensionRequest resp;
    grpc::ClientContext ctx;
    Authorize(&ctx, kStaffSz);
    grpc::Status s = dept_->RequestExtension(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_EQ(FieldsOf(s), std::vector<std::string>{"requested_deadline_time"});
  }
  for (int64_t seconds : {kOverflowingSeconds, kLastValidSeconds}) {
    // IssueToken.expire_time wrapped to about +1 h (under the 2-year cap); the last valid
    // time converts exactly and is over the cap.
    v1::IssueTokenRequest req;
    req.set_user_id("u-leader-001");
    req.set_label("far future");
    req.mutable_expire_time()->set_seconds(seconds);
    v1::IssueTokenResponse resp;
    grpc::ClientContext ctx;
    Authorize(&ctx, kOperator);
    grpc::Status s = admin_->IssueToken(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << seconds << " " << s.error_message();
    EXPECT_EQ(FieldsOf(s), std::vector<std::string>{"expire_time"}) << seconds;
  }
  {  // SuggestDuplicates.time_window wrapped to 0.45 s.
    v1::SuggestDuplicatesRequest req;
    req.set_case_id(filed.case_().case_id());
    req.mutable_time_window()->set_seconds(kOverflowingSeconds);
    v1::SuggestDuplicatesResponse resp;
    grpc::ClientContext ctx;
    Authorize(&ctx, kDispatcher1);
    grpc::Status s = dispatch_->SuggestDuplicates(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_EQ(FieldsOf(s), std::vector<std::string>{"time_window"});
  }
  {  // ListCases: a start that wrapped negative skipped the start-after-end check.
    v1::ListCasesRequest req;
    req.mutable_observe_start_time()->set_seconds(kOverflowingSeconds);
    req.mutable_observe_end_time()->set_seconds(1700000000);
    v1::ListCasesResponse resp;
    grpc::ClientContext ctx;
    Authorize(&ctx, kDispatcher1);
    grpc::Status s = dispatch_->ListCases(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_EQ(FieldsOf(s), std::vector<std::string>{"observe_start_time"});
  }
  {  // Negative nanos are not a valid Timestamp either.
    v1::SubmitReportRequest req = Report("negative-nanos");
    req.mutable_observe_time()->set_seconds(1700000000);
    req.mutable_observe_time()->set_nanos(-1);
    v1::SubmitReportResponse resp;
    grpc::Status s = SubmitAs(kLeader1, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  }
}

// Defect 4: errors echoed input without bound, so the status outgrew gRPC's default 8 KiB
// metadata limit and a default client saw RESOURCE_EXHAUSTED instead of the real error.
TEST_P(DefectsTest, HugeInvalidRequestsGetAReadableInvalidArgument) {
  v1::SubmitReportResponse filed;  // dispatched, so it may be routed again
  ASSERT_TRUE(SubmitAs(kLeader1, StreetLight("huge-route"), &filed).ok());
  ASSERT_EQ(filed.case_().state(), v1::DISPATCHED);
  auto expect_readable = [](const grpc::Status& s, const char* what) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << what << ": " << s.error_message();
    EXPECT_LE(s.error_message().size(), 500u) << what;
    EXPECT_FALSE(FieldsOf(s).empty()) << what;
    EXPECT_LE(FieldsOf(s).size(), 21u) << what;  // at most 20, and one "… more" entry
  };
  {
    v1::RouteCaseRequest req;
    req.set_case_id(filed.case_().case_id());
    req.set_lead_department_code("CG");
    for (int i = 0; i < 200; ++i) {
      req.add_assisting_department_codes(
          absl::StrCat("NO-SUCH-DEPARTMENT-", std::string(40, 'X'), i));
    }
    v1::Case resp;
    grpc::ClientContext ctx;
    Authorize(&ctx, kDispatcher1);
    expect_readable(dispatch_->RouteCase(&ctx, req, &resp), "RouteCase");
  }
  {
    v1::CreateRoutingRuleRequest req;
    auto* rule = req.mutable_routing_rule();
    rule->set_rule_id("R-HUGE");
    rule->set_category_code("C06_LITTER_BIN_BROKEN");
    rule->set_grid_code(testing::kCell1);  // no rule covers this pair yet
    rule->set_lead_department_code("CG");
    for (int i = 0; i < 200; ++i) {
      rule->add_assisting_department_codes(
          absl::StrCat("NO-SUCH-DEPARTMENT-", std::string(40, 'Y'), i));
    }
    v1::RoutingRule resp;
    grpc::ClientContext ctx;
    Authorize(&ctx, kOperator);
    expect_readable(admin_->CreateRoutingRule(&ctx, req, &resp), "CreateRoutingRule");
  }
  {  // A 5,000-digit watch cursor.
    v1::WatchCasesRequest req;
    req.set_after_cursor(absl::StrCat("g1-", std::string(5000, '9')));
    grpc::ClientContext ctx;
    Authorize(&ctx, kLeader1);
    auto reader = report_->WatchCases(&ctx, req);
    v1::WatchEvent ev;
    EXPECT_FALSE(reader->Read(&ev));
    grpc::Status s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
    EXPECT_LE(s.error_message().size(), 500u);
  }
}

// Defect 5: the demo tokens (public, in the repository) kept working after a restart without
// demo mode, and the demo operator could issue new tokens.
TEST_P(DefectsTest, DemoTokensAreRefusedOutsideDemoMode) {
  // Every demo user of the organisation file has one demo token.
  std::ifstream org_file(testing::DemoOrganisationFile());
  int demo_tokens = 0;
  for (std::string line; std::getline(org_file, line);) {
    if (absl::StrContains(line, "demo_token:")) ++demo_tokens;
  }
  ASSERT_GT(demo_tokens, 10);
  const std::string disabled =
      absl::StrCat(demo_tokens, " demo token(s) in the store are disabled");
  ASSERT_EQ(server_->Stop(SIGTERM), 0);
  server_.reset();
  for (bool organisation : {true, false}) {
    SCOPED_TRACE(organisation ? "with the organisation file" : "without the organisation file");
    auto plain = StartPlain(port_, /*demo=*/false, organisation);
    ASSERT_TRUE(plain);
    Connect(port_);
    grpc::ClientContext ctx;
    Authorize(&ctx, kLeader1);
    v1::ListMyCasesResponse mine;
    grpc::Status s = report_->ListMyCases(&ctx, v1::ListMyCasesRequest(), &mine);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "demo mode")) << s.error_message();

    grpc::ClientContext issue_ctx;
    Authorize(&issue_ctx, kOperator);
    v1::IssueTokenRequest issue;
    issue.set_user_id("u-leader-001");
    issue.set_label("minted with the demo operator");
    v1::IssueTokenResponse issued;
    s = admin_->IssueToken(&issue_ctx, issue, &issued);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
    ASSERT_EQ(plain->Stop(SIGTERM), 0);
    EXPECT_TRUE(absl::StrContains(plain->Log(), disabled)) << disabled << "\n" << plain->Log();
  }
  // Back in demo mode they work again (demo mode is an explicit choice).
  auto demo = StartPlain(port_, /*demo=*/true, /*organisation=*/true);
  ASSERT_TRUE(demo);
  Connect(port_);
  grpc::ClientContext ctx;
  Authorize(&ctx, kLeader1);
  v1::ListMyCasesResponse mine;
  EXPECT_TRUE(report_->ListMyCases(&ctx, v1::ListMyCasesRequest(), &mine).ok());
}

// Defect 6: gRPC's default SO_REUSEPORT let a second server bind the same address and take half
// the connections to another database. The second one must fail to start.
TEST_P(DefectsTest, ASecondServerOnTheSameAddressExitsWithAClearMessage) {
  testing::TempDir other;
  testing::ServerProcess second(
      {"--config", dir_.path() + "/server.textproto", "--listen", absl::StrCat("127.0.0.1:", port_),
       "--organisation", testing::DemoOrganisationFile(), "--demo", "--sqlite",
       other.path() + "/other.db"},
      dir_.path() + "/second.log");
  const int rc = second.RunToExit(std::chrono::seconds(60));
  EXPECT_NE(rc, 0) << second.Log();
  EXPECT_NE(rc, -1) << "the second server kept running: " << second.Log();
  EXPECT_TRUE(absl::StrContains(second.Log(), "address is in use")) << second.Log();
  // The first server is untouched.
  EXPECT_TRUE(testing::IsServing(Channel(port_)));
}

INSTANTIATE_TEST_SUITE_P(Backends, DefectsTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
