// The case lifecycle end to end over real gRPC, with real tokens, on SQLite and MariaDB: the
// seven-step loop, joint cases, triage tools, the errors of each step, scopes, and concurrent
// writers on one case from two server processes.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gridline/v1/admin_service.grpc.pb.h"
#include "gridline/v1/department_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "server/store/mysql_driver.h"
#include "server/store/sql.h"
#include "server/util/sha256.h"
#include "tests/e2e_fixture.h"
#include "tests/test_images.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using namespace testing;  // NOLINT: demo tokens

// Typed clients for one server, each call with its token and a deadline.
class Api {
 public:
  explicit Api(std::shared_ptr<grpc::Channel> ch)
      : report_(v1::ReportService::NewStub(ch)),
        dispatch_(v1::DispatchService::NewStub(ch)),
        dept_(v1::DepartmentService::NewStub(ch)) {}

  template <typename Stub, typename Req, typename Resp, typename Method>
  static grpc::Status Call(Stub* stub, Method m, const std::string& token, const Req& req,
                           Resp* resp) {
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return (stub->*m)(&ctx, req, resp);
  }

  grpc::Status Submit(const std::string& token, const v1::SubmitReportRequest& req, v1::Case* out) {
    v1::SubmitReportResponse resp;
    auto s = Call(report_.get(), &v1::ReportService::Stub::SubmitReport, token, req, &resp);
    *out = resp.case_();
    return s;
  }
  grpc::Status Get(const std::string& token, const std::string& id, v1::Case* out) {
    v1::GetCaseRequest req;
    req.set_case_id(id);
    return Call(report_.get(), &v1::ReportService::Stub::GetCase, token, req, out);
  }
  grpc::Status History(const std::string& token, const std::string& id,
                       std::vector<v1::CaseEvent>* out) {
    v1::ListCaseEventsRequest req;
    req.set_case_id(id);
    v1::ListCaseEventsResponse resp;
    auto s = Call(report_.get(), &v1::ReportService::Stub::ListCaseEvents, token, req, &resp);
    out->assign(resp.events().begin(), resp.events().end());
    return s;
  }
  grpc::Status MyCases(const std::string& token, std::vector<std::string>* ids) {
    v1::ListMyCasesRequest req;
    v1::ListMyCasesResponse resp;
    auto s = Call(report_.get(), &v1::ReportService::Stub::ListMyCases, token, req, &resp);
    for (const auto& c : resp.cases()) ids->push_back(c.case_id());
    return s;
  }
  grpc::Status Verify(const std::string& token, const std::string& id, bool passed,
                      const std::string& note, v1::Case* out, int64_t expected_version = 0) {
    v1::VerifyCaseRequest req;
    req.set_case_id(id);
    req.set_passed(passed);
    req.set_note(note);
    req.set_expected_version(expected_version);
    return Call(report_.get(), &v1::ReportService::Stub::VerifyCase, token, req, out);
  }
  grpc::Status Queue(const std::string& token, std::vector<v1::TriageItem>* items,
                     const std::string& grid = "") {
    v1::ListTriageQueueRequest req;
    req.set_grid_code(grid);
    v1::ListTriageQueueResponse resp;
    auto s = Call(dispatch_.get(), &v1::DispatchService::Stub::ListTriageQueue, token, req, &resp);
    items->assign(resp.items().begin(), resp.items().end());
    return s;
  }
  grpc::Status Cases(const std::string& token, const v1::ListCasesRequest& req,
                     v1::ListCasesResponse* out) {
    return Call(dispatch_.get(), &v1::DispatchService::Stub::ListCases, token, req, out);
  }
  grpc::Status Accept(const std::string& token, const std::string& id, v1::Case* out,
                      int64_t expected_version = 0) {
    v1::AcceptCaseRequest req;
    req.set_case_id(id);
    req.set_expected_version(expected_version);
    return Call(dispatch_.get(), &v1::DispatchService::Stub::AcceptCase, token, req, out);
  }
  grpc::Status Reject(const std::string& token, const std::string& id, const std::string& reason,
                      v1::Case* out) {
    v1::RejectCaseRequest req;
    req.set_case_id(id);
    req.set_reason(reason);
    return Call(dispatch_.get(), &v1::DispatchService::Stub::RejectCase, token, req, out);
  }
  grpc::Status Route(const std::string& token, const std::string& id, const std::string& lead,
                     std::vector<std::string> assisting, const std::string& note, v1::Case* out) {
    v1::RouteCaseRequest req;
    req.set_case_id(id);
    req.set_lead_department_code(lead);
    for (auto& a : assisting) req.add_assisting_department_codes(a);
    req.set_note(note);
    return Call(dispatch_.get(), &v1::DispatchService::Stub::RouteCase, token, req, out);
  }
  grpc::Status Correct(const std::string& token, const std::string& id, const std::string& category,
                       v1::Case* out) {
    v1::CorrectCategoryRequest req;
    req.set_case_id(id);
    req.set_category_code(category);
    return Call(dispatch_.get(), &v1::DispatchService::Stub::CorrectCategory, token, req, out);
  }
  grpc::Status Duplicates(const std::string& token, const std::string& id,
                          v1::SuggestDuplicatesResponse* out) {
    v1::SuggestDuplicatesRequest req;
    req.set_case_id(id);
    return Call(dispatch_.get(), &v1::DispatchService::Stub::SuggestDuplicates, token, req, out);
  }
  grpc::Status MarkDuplicate(const std::string& token, const std::string& id,
                             const std::string& target, v1::Case* out) {
    v1::MarkDuplicateRequest req;
    req.set_case_id(id);
    req.set_duplicate_of_case_id(target);
    return Call(dispatch_.get(), &v1::DispatchService::Stub::MarkDuplicate, token, req, out);
  }
  grpc::Status Decide(const std::string& token, const std::string& xid, bool approve,
                      const std::string& note, v1::Case* out) {
    v1::DecideExtensionRequest req;
    req.set_extension_request_id(xid);
    req.set_approve(approve);
    req.set_note(note);
    return Call(dispatch_.get(), &v1::DispatchService::Stub::DecideExtension, token, req, out);
  }
  grpc::Status Extensions(const std::string& token, std::vector<v1::ExtensionRequest>* out) {
    v1::ListExtensionRequestsRequest req;
    v1::ListExtensionRequestsResponse resp;
    auto s =
        Call(dispatch_.get(), &v1::DispatchService::Stub::ListExtensionRequests, token, req, &resp);
    out->assign(resp.extension_requests().begin(), resp.extension_requests().end());
    return s;
  }
  grpc::Status Assigned(const std::string& token, std::vector<std::string>* ids,
                        bool include_assisting = false) {
    v1::ListAssignedCasesRequest req;
    req.set_include_assisting(include_assisting);
    v1::ListAssignedCasesResponse resp;
    auto s = Call(dept_.get(), &v1::DepartmentService::Stub::ListAssignedCases, token, req, &resp);
    for (const auto& c : resp.cases()) ids->push_back(c.case_id());
    return s;
  }
  grpc::Status Take(const std::string& token, const std::string& id, v1::Case* out,
                    int64_t expected_version = 0) {
    v1::AcceptAssignmentRequest req;
    req.set_case_id(id);
    req.set_expected_version(expected_version);
    return Call(dept_.get(), &v1::DepartmentService::Stub::AcceptAssignment, token, req, out);
  }
  grpc::Status Return(const std::string& token, const std::string& id, const std::string& reason,
                      v1::Case* out) {
    v1::ReturnCaseRequest req;
    req.set_case_id(id);
    req.set_reason(reason);
    return Call(dept_.get(), &v1::DepartmentService::Stub::ReturnCase, token, req, out);
  }
  grpc::Status Extend(const std::string& token, const std::string& id, int64_t deadline_seconds,
                      const std::string& reason, v1::ExtensionRequest* out) {
    v1::RequestExtensionRequest req;
    req.set_case_id(id);
    req.mutable_requested_deadline_time()->set_seconds(deadline_seconds);
    req.set_reason(reason);
    return Call(dept_.get(), &v1::DepartmentService::Stub::RequestExtension, token, req, out);
  }
  grpc::Status Progress(const std::string& token, const std::string& id, const std::string& note,
                        v1::Case* out) {
    v1::AddProgressRequest req;
    req.set_case_id(id);
    req.set_note(note);
    return Call(dept_.get(), &v1::DepartmentService::Stub::AddProgress, token, req, out);
  }
  grpc::Status Resolve(const std::string& token, const std::string& id, const std::string& result,
                       v1::Case* out, const std::vector<std::string>& photos = {}) {
    v1::ResolveCaseRequest req;
    req.set_case_id(id);
    req.set_result(result);
    for (const auto& p : photos) req.add_attachment_ids(p);
    return Call(dept_.get(), &v1::DepartmentService::Stub::ResolveCase, token, req, out);
  }

 private:
  std::unique_ptr<v1::ReportService::Stub> report_;
  std::unique_ptr<v1::DispatchService::Stub> dispatch_;
  std::unique_ptr<v1::DepartmentService::Stub> dept_;
};

// The first PreconditionFailure violation (type, subject) of a FAILED_PRECONDITION status.
std::pair<std::string, std::string> PreconditionOf(const grpc::Status& status) {
  auto v = PreconditionsOf(status);
  if (v.empty()) return {};
  return {v[0].type, v[0].subject};
}

class LifecycleTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (IsSkipped() || HasFailure()) return;
    server_ = StartServer(&port_);
    ASSERT_TRUE(server_);
    api_ = std::make_unique<Api>(Channel(port_));
  }

  // A new report by leader 1 in cell 1 (or `cell`), in PENDING_TRIAGE unless auto-accepted.
  // Observed now, or at `observe_seconds` (Unix time) when non-zero.
  v1::Case NewReport(const std::string& category = "C01_ROAD_DAMAGE",
                     const std::string& token = kLeader1, const std::string& cell = kCell1,
                     int64_t observe_seconds = 0) {
    auto req = Report("r-" + util::RandomHex(8));
    req.set_category_code(category);
    req.mutable_location()->set_grid_code(cell);
    if (observe_seconds != 0) req.mutable_observe_time()->set_seconds(observe_seconds);
    v1::Case c;
    auto s = api_->Submit(token, req, &c);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return c;
  }

  // A token for a new user that the operator creates through the AdminService.
  std::string NewUserToken(const std::string& user_id, const std::string& display_name,
                           v1::Role role, const std::string& grid_code) {
    auto admin = v1::AdminService::NewStub(Channel(port_));
    v1::CreateUserRequest create;
    create.mutable_user()->set_user_id(user_id);
    create.mutable_user()->set_display_name(display_name);
    create.mutable_user()->set_role(role);
    create.mutable_user()->set_grid_code(grid_code);
    v1::User created;
    auto s =
        Api::Call(admin.get(), &v1::AdminService::Stub::CreateUser, kOperator, create, &created);
    EXPECT_TRUE(s.ok()) << s.error_message();
    v1::IssueTokenRequest issue;
    issue.set_user_id(user_id);
    v1::IssueTokenResponse issued;
    s = Api::Call(admin.get(), &v1::AdminService::Stub::IssueToken, kOperator, issue, &issued);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return issued.token();
  }

  // The ids of every case ListCases returns for `req`, in order, following the page tokens.
  grpc::Status AllCases(const std::string& token, v1::ListCasesRequest req,
                        std::vector<std::string>* ids, int* pages = nullptr) {
    ids->clear();
    if (pages) *pages = 0;
    for (int page = 0; page < 100; ++page) {
      v1::ListCasesResponse resp;
      auto s = api_->Cases(token, req, &resp);
      if (!s.ok()) return s;
      if (pages) ++*pages;
      for (const auto& c : resp.cases()) ids->push_back(c.case_id());
      if (resp.next_page_token().empty()) return grpc::Status::OK;
      req.set_page_token(resp.next_page_token());
    }
    return grpc::Status(grpc::StatusCode::INTERNAL, "the page tokens never end");
  }

  // Uploads `bytes` as a photo in two chunks; returns its attachment id.
  std::string Upload(const std::string& token, const std::string& bytes) {
    auto stub = v1::ReportService::NewStub(Channel(port_));
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::Attachment out;
    auto writer = stub->UploadAttachment(&ctx, &out);
    v1::UploadAttachmentRequest req;
    req.mutable_metadata()->set_sha256(util::Sha256Hex(bytes));
    req.mutable_metadata()->set_size_bytes(static_cast<int64_t>(bytes.size()));
    writer->Write(req);
    const size_t half = bytes.size() / 2;
    for (const std::string& part : {bytes.substr(0, half), bytes.substr(half)}) {
      v1::UploadAttachmentRequest chunk;
      chunk.set_chunk(part);
      writer->Write(chunk);
    }
    writer->WritesDone();
    auto s = writer->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.attachment_id();
  }

  int port_ = 0;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Api> api_;
};

#define EXPECT_OK(expr)                                                                    \
  do {                                                                                     \
    grpc::Status _s = (expr);                                                              \
    EXPECT_TRUE(_s.ok()) << #expr << ": " << _s.error_code() << " " << _s.error_message(); \
  } while (0)
#define ASSERT_OK(expr)                                                                    \
  do {                                                                                     \
    grpc::Status _s = (expr);                                                              \
    ASSERT_TRUE(_s.ok()) << #expr << ": " << _s.error_code() << " " << _s.error_message(); \
  } while (0)

TEST_P(LifecycleTest, ACaseWalksThroughEveryStepAndItsHistoryShowsThem) {
  v1::Case c = NewReport();
  ASSERT_EQ(c.state(), v1::PENDING_TRIAGE);
  EXPECT_TRUE(c.case_number().empty());
  const std::string id = c.case_id();

  // Triage: the report waits in the street's queue.
  std::vector<v1::TriageItem> queue;
  ASSERT_OK(api_->Queue(kDispatcher1, &queue));
  ASSERT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue[0].case_().case_id(), id);

  // File and dispatch by rule R-C01-ALL: 市政 (SZ) leads; URGENT C01 has a 24 h deadline.
  ASSERT_OK(api_->Accept(kDispatcher1, id, &c));
  EXPECT_EQ(c.state(), v1::DISPATCHED);
  EXPECT_EQ(c.lead_department_code(), "SZ");
  EXPECT_TRUE(absl::StartsWith(c.case_number(), "410184-20")) << c.case_number();
  EXPECT_TRUE(absl::EndsWith(c.case_number(), "-000001")) << c.case_number();
  EXPECT_GT(c.deadline_time().seconds(), c.update_time().seconds());
  queue.clear();
  ASSERT_OK(api_->Queue(kDispatcher1, &queue));
  EXPECT_TRUE(queue.empty());

  // SZ takes it, then finds it is not theirs and returns it with a reason.
  std::vector<std::string> assigned;
  ASSERT_OK(api_->Assigned(kStaffSz, &assigned));
  ASSERT_EQ(assigned, std::vector<std::string>{id});
  ASSERT_OK(api_->Take(kStaffSz, id, &c));
  EXPECT_EQ(c.state(), v1::IN_PROGRESS);
  ASSERT_OK(api_->Return(kStaffSz, id, "占道施工造成，属城管执法中队", &c));
  EXPECT_EQ(c.state(), v1::RETURNED);
  EXPECT_EQ(api_->Get(kStaffSz, id, &c).error_code(), grpc::StatusCode::NOT_FOUND)
      << "the returning department no longer holds the case";
  queue.clear();
  ASSERT_OK(api_->Queue(kDispatcher1, &queue));
  ASSERT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue[0].case_().state(), v1::RETURNED);
  EXPECT_EQ(queue[0].returned_by_department_code(), "SZ");
  EXPECT_EQ(queue[0].return_reason(), "占道施工造成，属城管执法中队");

  // The center re-routes it by hand to the stationed 城管 team, which handles it.
  ASSERT_OK(api_->Route(kDispatcher1, id, "CG-410184001", {}, "按退回意见改派", &c));
  EXPECT_EQ(c.state(), v1::DISPATCHED);
  EXPECT_EQ(c.lead_department_code(), "CG-410184001");
  ASSERT_OK(api_->Take(kStaffCgStation, id, &c));
  ASSERT_OK(api_->Progress(kStaffCgStation, id, "已到现场，设置围挡", &c));

  // Extension: requested by the department, approved by the center; the deadline moves.
  const int64_t old_deadline = c.deadline_time().seconds();
  v1::ExtensionRequest x;
  ASSERT_OK(api_->Extend(kStaffCgStation, id, old_deadline + 48 * 3600, "需协调施工单位", &x));
  EXPECT_EQ(x.state(), v1::EXTENSION_PENDING);
  std::vector<v1::ExtensionRequest> pending;
  ASSERT_OK(api_->Extensions(kDispatcher1, &pending));
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].extension_request_id(), x.extension_request_id());
  ASSERT_OK(api_->Decide(kDispatcher1, x.extension_request_id(), true, "", &c));
  EXPECT_EQ(c.deadline_time().seconds(), old_deadline + 48 * 3600);
  auto again = api_->Decide(kDispatcher1, x.extension_request_id(), false, "no", &c);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(PreconditionOf(again),
            std::make_pair(std::string("EXTENSION_STATE"), std::string("EXTENSION_APPROVED")));

  // Resolve; the reporting grid leader finds it not fixed: rework to the same department.
  v1::Case refused;
  auto unknown_photo =
      api_->Resolve(kStaffCgStation, id, "已修复路面", &refused, {std::string(64, 'a')});
  EXPECT_EQ(unknown_photo.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << "a photo must be uploaded before it is named";
  ASSERT_OK(api_->Resolve(kStaffCgStation, id, "已修复路面", &c));
  EXPECT_EQ(c.state(), v1::RESOLVED);
  EXPECT_EQ(c.resolution_note(), "已修复路面");
  ASSERT_OK(api_->Verify(kLeader1, id, false, "东侧仍有坑洼", &c));
  EXPECT_EQ(c.state(), v1::IN_PROGRESS);
  EXPECT_EQ(c.rework_count(), 1);
  EXPECT_EQ(c.lead_department_code(), "CG-410184001");

  // Resolve again with an after-photo; verification passes and the case closes.
  const std::string png = testing::TestPng(200, "after-photo " + id);
  const std::string photo = Upload(kStaffCgStation, png);
  ASSERT_EQ(photo, util::Sha256Hex(png));
  ASSERT_OK(api_->Resolve(kStaffCgStation, id, "东侧已补平", &c, {photo}));
  ASSERT_EQ(c.after_photos_size(), 1);
  EXPECT_EQ(c.after_photos(0).attachment_id(), photo);
  EXPECT_EQ(c.after_photos(0).content_type(), "image/png") << "photos come with their metadata";
  EXPECT_EQ(c.after_photos(0).size_bytes(), static_cast<int64_t>(png.size()));
  v1::Case read_back;
  ASSERT_OK(api_->Get(kLeader1, id, &read_back));
  ASSERT_EQ(read_back.after_photos_size(), 1);
  EXPECT_EQ(read_back.after_photos(0).content_type(), "image/png");
  ASSERT_OK(api_->Verify(kLeader1, id, true, "", &c));
  EXPECT_EQ(c.state(), v1::CLOSED);
  EXPECT_EQ(c.rework_count(), 1);

  std::vector<v1::CaseEvent> history;
  ASSERT_OK(api_->History(kLeader1, id, &history));
  std::vector<std::pair<v1::CaseEventType, std::string>> got;
  for (const auto& e : history) got.emplace_back(e.type(), e.actor_user_id());
  std::vector<std::pair<v1::CaseEventType, std::string>> want = {
      {v1::REPORTED, "u-leader-001"},
      {v1::ACCEPTED_FOR_FILING, "u-dispatcher-001"},
      {v1::ROUTED, "u-dispatcher-001"},
      {v1::ASSIGNMENT_ACCEPTED, "u-staff-sz-001"},
      {v1::RETURNED_NOT_RESPONSIBLE, "u-staff-sz-001"},
      {v1::ROUTED, "u-dispatcher-001"},
      {v1::ASSIGNMENT_ACCEPTED, "u-staff-cg410184001-001"},
      {v1::PROGRESS_ADDED, "u-staff-cg410184001-001"},
      {v1::EXTENSION_REQUESTED, "u-staff-cg410184001-001"},
      {v1::EXTENSION_DECIDED, "u-dispatcher-001"},
      {v1::CASE_RESOLVED, "u-staff-cg410184001-001"},
      {v1::VERIFICATION_FAILED, "u-leader-001"},
      {v1::CASE_RESOLVED, "u-staff-cg410184001-001"},
      {v1::VERIFICATION_PASSED, "u-leader-001"},
  };
  EXPECT_EQ(got, want);
  // States chain: each event starts where the previous one ended.
  for (size_t i = 1; i < history.size(); ++i) {
    EXPECT_EQ(history[i].from_state(), history[i - 1].to_state()) << "event " << i;
    EXPECT_GT(history[i].case_version(), 0);
  }
  EXPECT_EQ(history.back().to_state(), v1::CLOSED);
  // Filing set the deadline from the category and urgency: URGENT C01 gets 24 hours.
  EXPECT_EQ(old_deadline - history[1].event_time().seconds(), 24 * 3600);
  EXPECT_EQ(history[4].note(), "占道施工造成，属城管执法中队");
  EXPECT_EQ(history[11].note(), "东侧仍有坑洼");
}

TEST_P(LifecycleTest, ClearCutCategoriesAreDispatchedOnSubmitAndUnruledOnesGoToTheStreetOffice) {
  v1::Case lamp = NewReport("C04_STREET_LIGHT_OUT");  // auto_accept, rule R-C04-ALL -> SZ
  EXPECT_EQ(lamp.state(), v1::DISPATCHED);
  EXPECT_EQ(lamp.lead_department_code(), "SZ");
  EXPECT_FALSE(lamp.case_number().empty());

  v1::Case errand = NewReport("C20_RESIDENT_ERRAND");  // no rule at all: 属地兜底
  v1::Case c;
  ASSERT_OK(api_->Accept(kDispatcher1, errand.case_id(), &c));
  EXPECT_EQ(c.lead_department_code(), "JD-410184001");

  v1::Case vending = NewReport("C07_STREET_VENDING");  // the street's own rule beats the city's
  ASSERT_OK(api_->Accept(kDispatcher1, vending.case_id(), &c));
  EXPECT_EQ(c.lead_department_code(), "CG-410184001");

  // Case numbers of one district count up without gaps.
  EXPECT_TRUE(absl::EndsWith(lamp.case_number(), "-000001")) << lamp.case_number();
  EXPECT_TRUE(absl::EndsWith(c.case_number(), "-000003")) << c.case_number();
}

TEST_P(LifecycleTest, TriageRejectsMergesAndCorrectsCategories) {
  v1::Case a = NewReport();
  v1::Case b = NewReport();
  v1::Case c;
  // Rejecting needs a reason; nothing changes without one.
  auto bad = api_->Reject(kDispatcher1, a.case_id(), "", &c);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_OK(api_->Get(kLeader1, a.case_id(), &c));
  EXPECT_EQ(c.version(), a.version());

  v1::SuggestDuplicatesResponse dups;
  ASSERT_OK(api_->Duplicates(kDispatcher1, b.case_id(), &dups));
  ASSERT_EQ(dups.candidates_size(), 1);
  EXPECT_EQ(dups.candidates(0).case_().case_id(), a.case_id());
  EXPECT_TRUE(dups.candidates(0).has_distance_metres());
  EXPECT_LT(dups.candidates(0).distance_metres(), 1.0);

  ASSERT_OK(api_->MarkDuplicate(kDispatcher1, b.case_id(), a.case_id(), &c));
  EXPECT_EQ(c.state(), v1::MERGED);
  EXPECT_EQ(c.duplicate_of_case_id(), a.case_id());
  ASSERT_OK(api_->Reject(kDispatcher1, a.case_id(), "重复上报的测试数据", &c));
  EXPECT_EQ(c.state(), v1::REJECTED);
  v1::Case d = NewReport();
  auto closed_target = api_->MarkDuplicate(kDispatcher1, d.case_id(), a.case_id(), &c);
  EXPECT_EQ(closed_target.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(PreconditionOf(closed_target).first, "DUPLICATE_TARGET_STATE");

  // Correcting a dispatched case's category re-routes it.
  ASSERT_OK(api_->Accept(kDispatcher1, d.case_id(), &c));
  EXPECT_EQ(c.lead_department_code(), "SZ");
  ASSERT_OK(api_->Correct(kDispatcher1, d.case_id(), "C02_STANDING_WATER", &c));
  EXPECT_EQ(c.state(), v1::DISPATCHED);
  EXPECT_EQ(c.category_code(), "C02_STANDING_WATER");
  EXPECT_EQ(c.lead_department_code(), "SW");
  auto unknown = api_->Correct(kDispatcher1, d.case_id(), "C99_NOPE", &c);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_P(LifecycleTest, JointCasesLetAssistingDepartmentsAddProgressButOnlyTheLeadResolves) {
  v1::Case c = NewReport();
  ASSERT_OK(api_->Accept(kDispatcher1, c.case_id(), &c));
  ASSERT_OK(api_->Route(kDispatcher1, c.case_id(), "SZ", {"SW"}, "管网渗漏引起，联合处置", &c));
  EXPECT_EQ(c.assisting_department_codes_size(), 1);
  std::vector<std::string> ids;
  ASSERT_OK(api_->Assigned(kStaffSw, &ids));
  EXPECT_TRUE(ids.empty()) << "without include_assisting only led cases are listed";
  ASSERT_OK(api_->Assigned(kStaffSw, &ids, true));
  EXPECT_EQ(ids, std::vector<std::string>{c.case_id()});
  EXPECT_EQ(api_->Take(kStaffSw, c.case_id(), &c).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_OK(api_->Take(kStaffSz, c.case_id(), &c));
  ASSERT_OK(api_->Progress(kStaffSw, c.case_id(), "已关闭上游阀门", &c));
  EXPECT_EQ(api_->Resolve(kStaffSw, c.case_id(), "done", &c).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(api_->Return(kStaffSw, c.case_id(), "not ours", &c).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_OK(api_->Resolve(kStaffSz, c.case_id(), "管道已修复，路面恢复", &c));
  EXPECT_EQ(c.state(), v1::RESOLVED);
}

TEST_P(LifecycleTest, ActionsInTheWrongStateOrWithAStaleVersionChangeNothing) {
  v1::Case c = NewReport();
  v1::Case out;
  auto early = api_->Take(kStaffSz, c.case_id(), &out);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::NOT_FOUND) << "SZ does not hold it yet";
  auto verify = api_->Verify(kLeader1, c.case_id(), true, "", &out);
  EXPECT_EQ(verify.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(PreconditionOf(verify),
            std::make_pair(std::string("CASE_STATE"), std::string("PENDING_TRIAGE")));
  auto stale = api_->Accept(kDispatcher1, c.case_id(), &out, c.version() + 5);
  EXPECT_EQ(stale.error_code(), grpc::StatusCode::ABORTED);
  ASSERT_OK(api_->Accept(kDispatcher1, c.case_id(), &out, c.version()));
  auto twice = api_->Accept(kDispatcher1, c.case_id(), &out, c.version());
  // A retry after a lost response cannot apply twice: the state has moved on.
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(PreconditionOf(twice).second, "DISPATCHED");
  auto resolve = api_->Resolve(kStaffSz, c.case_id(), "done", &out);
  EXPECT_EQ(resolve.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(PreconditionOf(resolve).second, "DISPATCHED");
  std::vector<v1::CaseEvent> history;
  ASSERT_OK(api_->History(kLeader1, c.case_id(), &history));
  EXPECT_EQ(history.size(), 3u) << "only REPORTED, ACCEPTED_FOR_FILING and ROUTED";
  // Bad text is refused with the field named.
  auto bad_utf8 = api_->Progress(kStaffSz, c.case_id(), std::string("\xff\xfe"), &out);
  EXPECT_EQ(bad_utf8.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad_utf8.error_message();
  auto too_long = api_->Return(kStaffSz, c.case_id(), std::string(2001, 'x'), &out);
  EXPECT_EQ(too_long.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ExtensionRequest x;
  auto early_deadline = api_->Extend(kStaffSz, c.case_id(), 1, "more time", &x);
  EXPECT_EQ(early_deadline.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  history.clear();
  ASSERT_OK(api_->History(kLeader1, c.case_id(), &history));
  EXPECT_EQ(history.size(), 3u);
}

TEST_P(LifecycleTest, NobodyReadsOrChangesCasesOutsideTheirScope) {
  v1::Case mine = NewReport();  // street 410184001, cell 1
  ASSERT_OK(api_->Accept(kDispatcher1, mine.case_id(), &mine));
  v1::Case theirs = NewReport("C01_ROAD_DAMAGE", kLeader3, "410184002001001");  // street 2
  v1::Case out;
  std::vector<v1::CaseEvent> history;
  std::vector<std::string> ids;
  std::vector<v1::TriageItem> queue;

  // Grid leaders: own reports and own grid only.
  EXPECT_EQ(api_->Get(kLeader3, mine.case_id(), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(api_->History(kLeader3, mine.case_id(), &history).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(api_->Get(kLeader2, mine.case_id(), &out).error_code(), grpc::StatusCode::NOT_FOUND)
      << "a neighbouring cell of the same street is outside leader 2's grid";
  ASSERT_OK(api_->MyCases(kLeader3, &ids));
  EXPECT_EQ(ids, std::vector<std::string>{theirs.case_id()});
  ids.clear();
  ASSERT_OK(api_->MyCases(kLeader1, &ids));
  EXPECT_EQ(ids, std::vector<std::string>{mine.case_id()});
  EXPECT_EQ(api_->Verify(kLeader3, mine.case_id(), true, "", &out).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // Dispatchers: their street's subtree only, in lists and by id.
  ASSERT_OK(api_->Queue(kDispatcher1, &queue));
  EXPECT_TRUE(queue.empty()) << "street 2's report is not in street 1's queue";
  ASSERT_OK(api_->Queue(kDispatcher2, &queue));
  ASSERT_EQ(queue.size(), 1u);
  EXPECT_EQ(queue[0].case_().case_id(), theirs.case_id());
  EXPECT_EQ(api_->Accept(kDispatcher1, theirs.case_id(), &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(api_->Reject(kDispatcher2, mine.case_id(), "x", &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(api_->Queue(kDispatcher1, &queue, "410184002").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Departments: only what they hold.
  EXPECT_EQ(api_->Get(kStaffCg, mine.case_id(), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(api_->Take(kStaffCg, mine.case_id(), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  ids.clear();
  ASSERT_OK(api_->Assigned(kStaffCg, &ids, true));
  EXPECT_TRUE(ids.empty());
  ASSERT_OK(api_->Get(kStaffSz, mine.case_id(), &out));

  // Supervisors read their subtree and change nothing. An operator creates one for street 2.
  const std::string supervisor2 =
      NewUserToken("u-supervisor-street2", "新华路督查", v1::SUPERVISOR, "410184002");
  ASSERT_FALSE(HasFailure());
  ASSERT_OK(api_->Get(supervisor2, theirs.case_id(), &out));
  EXPECT_EQ(api_->Get(supervisor2, mine.case_id(), &out).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(api_->History(supervisor2, mine.case_id(), &history).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(api_->Reject(supervisor2, theirs.case_id(), "x", &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_OK(api_->Get(kSupervisor, mine.case_id(), &out));
  EXPECT_EQ(api_->Accept(kSupervisor, theirs.case_id(), &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(api_->Progress(kSupervisor, mine.case_id(), "x", &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Roles are checked per service.
  EXPECT_EQ(api_->Accept(kLeader1, mine.case_id(), &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(api_->Queue(kStaffSz, &queue).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(api_->Assigned(kDispatcher1, &ids).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(api_->MyCases(kOperator, &ids).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(api_->Queue("", &queue).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(api_->Take("not-a-token", mine.case_id(), &out).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

using Ids = std::vector<std::string>;

TEST_P(LifecycleTest, ListCasesShowsEveryCaseInTheCallersScopeWhateverItsStateNewestFirst) {
  // Street 1 (410184001): one dispatched, one rejected, one waiting in another community.
  // Street 2 (410184002): one waiting.
  v1::Case filed = NewReport();
  ASSERT_OK(api_->Accept(kDispatcher1, filed.case_id(), &filed));
  v1::Case rejected = NewReport("C02_STANDING_WATER");
  ASSERT_OK(api_->Reject(kDispatcher1, rejected.case_id(), "测试数据", &rejected));
  v1::Case waiting = NewReport("C01_ROAD_DAMAGE", kLeader2, "410184001002001");
  v1::Case other = NewReport("C01_ROAD_DAMAGE", kLeader3, "410184002001001");
  const Ids street1_cases = {waiting.case_id(), rejected.case_id(), filed.case_id()};
  const Ids everything = {other.case_id(), waiting.case_id(), rejected.case_id(), filed.case_id()};

  Ids ids;
  ASSERT_OK(AllCases(kDispatcher1, {}, &ids));
  EXPECT_EQ(ids, street1_cases) << "newest first, in any state, street 1 only";
  ASSERT_OK(AllCases(kDispatcher2, {}, &ids));
  EXPECT_EQ(ids, Ids{other.case_id()});
  ASSERT_OK(AllCases(kOperator, {}, &ids));
  EXPECT_EQ(ids, everything) << "operators see the whole platform";
  ASSERT_OK(AllCases(kSupervisor, {}, &ids));
  EXPECT_EQ(ids, everything) << "the district supervisor's subtree holds both streets";
  const std::string supervisor2 =
      NewUserToken("u-supervisor-street2", "新华路督查", v1::SUPERVISOR, "410184002");
  ASSERT_FALSE(HasFailure());
  ASSERT_OK(AllCases(supervisor2, {}, &ids));
  EXPECT_EQ(ids, Ids{other.case_id()}) << "a street supervisor sees only their street";

  // Whole cases, as they stand.
  v1::ListCasesResponse resp;
  ASSERT_OK(api_->Cases(kDispatcher1, {}, &resp));
  ASSERT_EQ(resp.cases_size(), 3);
  EXPECT_EQ(resp.cases(0).state(), v1::PENDING_TRIAGE);
  EXPECT_EQ(resp.cases(1).state(), v1::REJECTED);
  EXPECT_EQ(resp.cases(2).state(), v1::DISPATCHED);
  EXPECT_EQ(resp.cases(2).lead_department_code(), "SZ");
  EXPECT_EQ(resp.cases(2).case_number(), filed.case_number());
  EXPECT_TRUE(resp.next_page_token().empty());

  // Operators may narrow to any grid; dispatchers and supervisors only within their own.
  v1::ListCasesRequest in_street2;
  in_street2.set_grid_code("410184002");
  ASSERT_OK(AllCases(kOperator, in_street2, &ids));
  EXPECT_EQ(ids, Ids{other.case_id()});
  auto outside = api_->Cases(kDispatcher1, in_street2, &resp);
  EXPECT_EQ(outside.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldsOf(outside), Ids{"grid_code"});
  v1::ListCasesRequest in_street1;
  in_street1.set_grid_code("410184001");
  outside = api_->Cases(supervisor2, in_street1, &resp);
  EXPECT_EQ(outside.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldsOf(outside), Ids{"grid_code"});
  v1::ListCasesRequest unknown;
  unknown.set_grid_code("999999");
  auto nowhere = api_->Cases(kOperator, unknown, &resp);
  EXPECT_EQ(nowhere.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldsOf(nowhere), Ids{"grid_code"});

  // Grid leaders and department staff have their own lists.
  EXPECT_EQ(api_->Cases(kLeader1, {}, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(api_->Cases(kStaffSz, {}, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(api_->Cases("", {}, &resp).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_P(LifecycleTest, ListCasesFiltersByStateCategoryGridLeadDepartmentAndObserveTime) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  constexpr int64_t kH = 3600;
  // a: C01, SZ leads and SW assists. b: C02, SW leads. p: C01, waiting for triage.
  // d: C07 in the street's other community, the stationed 城管 team leads.
  v1::Case a = NewReport("C01_ROAD_DAMAGE", kLeader1, kCell1, now - 4 * kH);
  ASSERT_OK(api_->Accept(kDispatcher1, a.case_id(), &a));
  ASSERT_OK(api_->Route(kDispatcher1, a.case_id(), "SZ", {"SW"}, "管网渗漏引起，联合处置", &a));
  v1::Case b = NewReport("C02_STANDING_WATER", kLeader1, kCell1, now - 3 * kH);
  ASSERT_OK(api_->Accept(kDispatcher1, b.case_id(), &b));
  ASSERT_EQ(b.lead_department_code(), "SW");
  v1::Case p = NewReport("C01_ROAD_DAMAGE", kLeader1, kCell1, now - 2 * kH);
  v1::Case d = NewReport("C07_STREET_VENDING", kLeader2, "410184001002001", now - kH);
  ASSERT_OK(api_->Accept(kDispatcher1, d.case_id(), &d));
  ASSERT_EQ(d.lead_department_code(), "CG-410184001");
  NewReport("C02_STANDING_WATER", kLeader3, "410184002001001", now - 3 * kH);  // street 2
  ASSERT_FALSE(HasFailure());

  auto list = [&](const v1::ListCasesRequest& req) {
    Ids ids;
    auto s = AllCases(kDispatcher1, req, &ids);
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    return ids;
  };
  v1::ListCasesRequest req;
  req.add_states(v1::PENDING_TRIAGE);
  EXPECT_EQ(list(req), Ids{p.case_id()});
  req.clear_states();
  req.add_states(v1::DISPATCHED);
  EXPECT_EQ(list(req), (Ids{d.case_id(), b.case_id(), a.case_id()}));
  req.add_states(v1::PENDING_TRIAGE);
  EXPECT_EQ(list(req), (Ids{d.case_id(), p.case_id(), b.case_id(), a.case_id()}));

  req.Clear();
  req.add_category_codes("C01_ROAD_DAMAGE");
  EXPECT_EQ(list(req), (Ids{p.case_id(), a.case_id()}));
  req.add_category_codes("C07_STREET_VENDING");
  EXPECT_EQ(list(req), (Ids{d.case_id(), p.case_id(), a.case_id()}));

  req.Clear();
  req.set_grid_code("410184001002");  // the community of leader 2's cell
  EXPECT_EQ(list(req), Ids{d.case_id()});

  req.Clear();
  req.set_lead_department_code("SW");
  EXPECT_EQ(list(req), Ids{b.case_id()}) << "a case SW only assists on is not SW's";
  req.set_lead_department_code("SZ");
  EXPECT_EQ(list(req), Ids{a.case_id()});

  // Observe times: both bounds count, and either may be open.
  req.Clear();
  req.mutable_observe_start_time()->set_seconds(now - 3 * kH);
  req.mutable_observe_end_time()->set_seconds(now - 2 * kH);
  EXPECT_EQ(list(req), (Ids{p.case_id(), b.case_id()}));
  req.clear_observe_end_time();
  EXPECT_EQ(list(req), (Ids{d.case_id(), p.case_id(), b.case_id()}));
  req.clear_observe_start_time();
  req.mutable_observe_end_time()->set_seconds(now - 3 * kH);
  EXPECT_EQ(list(req), (Ids{b.case_id(), a.case_id()}));

  // Filters combine.
  req.add_states(v1::DISPATCHED);
  req.add_category_codes("C01_ROAD_DAMAGE");
  req.add_category_codes("C02_STANDING_WATER");
  req.set_lead_department_code("SW");
  EXPECT_EQ(list(req), Ids{b.case_id()});

  // Every problem of a request is named at once.
  v1::ListCasesRequest bad;
  bad.set_grid_code("410184002");
  bad.add_category_codes("C99_NOPE");
  bad.set_lead_department_code("NOPE");
  bad.mutable_observe_start_time()->set_seconds(now);
  bad.mutable_observe_end_time()->set_seconds(now - kH);
  bad.set_page_token("not-a-token");
  v1::ListCasesResponse resp;
  auto s = api_->Cases(kDispatcher1, bad, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  Ids fields = FieldsOf(s);
  EXPECT_EQ(std::set<std::string>(fields.begin(), fields.end()),
            (std::set<std::string>{"grid_code", "category_codes", "lead_department_code",
                                   "observe_start_time", "page_token"}))
      << s.error_message();
}

TEST_P(LifecycleTest, ListCasesPagesThroughEveryCaseExactlyOnce) {
  Ids reported;
  for (int i = 0; i < 5; ++i) reported.push_back(NewReport().case_id());
  ASSERT_FALSE(HasFailure());
  const Ids newest_first(reported.rbegin(), reported.rend());

  v1::ListCasesRequest req;
  req.set_page_size(1);
  Ids ids;
  int pages = 0;
  ASSERT_OK(AllCases(kDispatcher1, req, &ids, &pages));
  EXPECT_EQ(ids, newest_first);
  EXPECT_EQ(pages, 5);
  req.set_page_size(2);
  ASSERT_OK(AllCases(kOperator, req, &ids, &pages));
  EXPECT_EQ(ids, newest_first);
  EXPECT_EQ(pages, 3);

  // A report that arrives while a client pages does not shift the pages it has yet to read.
  req.set_page_size(1);
  v1::ListCasesResponse first;
  ASSERT_OK(api_->Cases(kDispatcher1, req, &first));
  ASSERT_EQ(first.cases_size(), 1);
  ASSERT_FALSE(first.next_page_token().empty());
  NewReport();
  req.set_page_token(first.next_page_token());
  ASSERT_OK(AllCases(kDispatcher1, req, &ids));
  ids.insert(ids.begin(), first.cases(0).case_id());
  EXPECT_EQ(ids, newest_first);

  v1::ListCasesRequest negative;
  negative.set_page_size(-1);
  v1::ListCasesResponse resp;
  auto s = api_->Cases(kDispatcher1, negative, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldsOf(s), Ids{"page_size"});
}

// Department staff on two server processes sharing one store add progress to one case at once.
// Each write either lands or gets ABORTED (and is retried); none is lost, none applies twice.
TEST_P(LifecycleTest, ConcurrentActionsOnOneCaseFromTwoServersLoseNoUpdate) {
  int port_b = 0;
  auto server_b = StartServer(&port_b);
  ASSERT_TRUE(server_b);
  Api api_b(Channel(port_b));
  v1::Case c = NewReport();
  ASSERT_OK(api_->Accept(kDispatcher1, c.case_id(), &c));
  ASSERT_OK(api_->Take(kStaffSz, c.case_id(), &c));
  const int64_t start_version = c.version();

  constexpr int kWriters = 6, kEach = 4;
  std::atomic<int> aborted{0}, failed{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      Api& api = (w % 2 == 0) ? *api_ : api_b;
      for (int i = 0; i < kEach; ++i) {
        for (int attempt = 0;; ++attempt) {
          v1::Case out;
          auto s =
              api.Progress(kStaffSz, c.case_id(), absl::StrCat("writer ", w, " note ", i), &out);
          if (s.ok()) break;
          if (s.error_code() == grpc::StatusCode::ABORTED && attempt < 100) {
            ++aborted;
            continue;
          }
          ++failed;
          break;
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  writers.clear();
  // Then the two replicas race on a state change: exactly one return wins.
  std::atomic<int> returned{0};
  for (auto* api : {api_.get(), &api_b}) {
    writers.emplace_back([&, api] {
      v1::Case out;
      for (int attempt = 0; attempt < 100; ++attempt) {
        auto s = api->Return(kStaffSz, c.case_id(), "not ours after all", &out);
        if (s.ok()) {
          ++returned;
          return;
        }
        if (s.error_code() != grpc::StatusCode::ABORTED) return;  // lost: state or scope
      }
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(returned.load(), 1);
  std::vector<v1::CaseEvent> history;
  ASSERT_OK(api_->History(kLeader1, c.case_id(), &history));
  int progress = 0, returns = 0;
  std::set<int64_t> versions;
  for (const auto& e : history) {
    if (e.type() == v1::PROGRESS_ADDED) ++progress;
    if (e.type() == v1::RETURNED_NOT_RESPONSIBLE) ++returns;
    if (e.case_version() > start_version) EXPECT_TRUE(versions.insert(e.case_version()).second);
  }
  EXPECT_EQ(returns, 1);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(progress, kWriters * kEach);
  v1::Case final_case;
  ASSERT_OK(api_->Get(kLeader1, c.case_id(), &final_case));
  EXPECT_EQ(final_case.version(), start_version + progress + returns);
  std::cout << "[          ] " << progress << " progress notes, " << aborted.load()
            << " ABORTED retries\n";
}

TEST_P(LifecycleTest, UnparsableRequestsSaySo) {
  // A proto3 string that is not UTF-8 never reaches a handler; the answer still names the problem.
  v1::Case out;
  auto req = Report("utf8-" + util::RandomHex(4), std::string("\xe8\xb7\xaf\xff"));
  auto s = api_->Submit(kLeader1, req, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "UTF-8")) << s.error_message();
  std::vector<std::string> mine;
  ASSERT_OK(api_->MyCases(kLeader1, &mine));
  EXPECT_TRUE(mine.empty()) << "nothing was stored";
}

TEST_P(LifecycleTest, EvaluationFiguresCountTheLoop) {
  const auto now = std::chrono::system_clock::now();
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  // A: filed, resolved, failed verification once, resolved again, closed.
  v1::Case a = NewReport();
  v1::Case c;
  ASSERT_OK(api_->Accept(kDispatcher1, a.case_id(), &c));
  ASSERT_OK(api_->Take(kStaffSz, a.case_id(), &c));
  ASSERT_OK(api_->Resolve(kStaffSz, a.case_id(), "修好了", &c));
  ASSERT_OK(api_->Verify(kLeader1, a.case_id(), false, "没修好", &c));
  ASSERT_OK(api_->Resolve(kStaffSz, a.case_id(), "这次修好了", &c));
  ASSERT_OK(api_->Verify(kLeader1, a.case_id(), true, "", &c));
  // B: filed and still open; its deadline is moved an hour into the past behind the server.
  v1::Case b = NewReport();
  ASSERT_OK(api_->Accept(kDispatcher1, b.case_id(), &c));
  {
    auto raw = Raw();
    ASSERT_TRUE(raw);
    const int64_t past = (now_s - 3600) * 1000000;
    ASSERT_TRUE(raw->Execute("UPDATE cases SET deadline_time = ?, first_deadline_time = ? "
                             "WHERE case_id = ?",
                             {past, past, b.case_id()})
                    .ok());
  }
  RefigureAfterRawEdits();
  // C: rejected in triage, so it never counts.
  v1::Case rejected = NewReport();
  ASSERT_OK(api_->Reject(kDispatcher1, rejected.case_id(), "无效", &c));

  auto admin = v1::AdminService::NewStub(Channel(port_));
  auto stats = [&](const std::string& grid, const std::string& dept, v1::Statistics* out,
                   const std::string& token = kOperator) {
    v1::GetStatisticsRequest req;
    req.set_grid_code(grid);
    req.set_department_code(dept);
    req.mutable_start_time()->set_seconds(now_s - 86400);
    req.mutable_end_time()->set_seconds(now_s + 600);
    return Api::Call(admin.get(), &v1::AdminService::Stub::GetStatistics, token, req, out);
  };
  v1::Statistics s;
  ASSERT_OK(stats("410184001", "", &s));
  EXPECT_EQ(s.found_count(), 2);
  EXPECT_EQ(s.solved_count(), 1);
  EXPECT_DOUBLE_EQ(s.disposal_rate(), 0.5);
  EXPECT_EQ(s.due_count(), 1) << "B's deadline fell in the range; A's is tomorrow";
  EXPECT_EQ(s.closed_count(), 0);
  EXPECT_EQ(s.late_count(), 1) << "open past its deadline counts as late";
  EXPECT_DOUBLE_EQ(s.on_time_rate(), 0.0);
  EXPECT_EQ(s.resolved_count(), 1);
  EXPECT_EQ(s.reworked_count(), 1);
  EXPECT_DOUBLE_EQ(s.rework_rate(), 1.0);
  EXPECT_EQ(s.mean_handling_sample_count(), 1);
  EXPECT_GE(s.mean_handling_time().seconds() * 1000000000LL + s.mean_handling_time().nanos(), 0);
  EXPECT_EQ(s.open_overdue_count(), 1);

  EXPECT_TRUE(s.has_closure_rate()) << "0 of 1 due is a figure: 0.0";
  EXPECT_DOUBLE_EQ(s.closure_rate(), 0.0);

  ASSERT_OK(stats("410184002", "", &s));  // the other street: nothing
  EXPECT_EQ(s.found_count(), 0);
  EXPECT_EQ(s.open_overdue_count(), 0);
  // Issue 11: 0/0 is no figure, so the rates are unset (they used to read 0.0, while the flags
  // took the same unit as on time).
  EXPECT_FALSE(s.has_disposal_rate());
  EXPECT_FALSE(s.has_closure_rate());
  EXPECT_FALSE(s.has_on_time_rate());
  EXPECT_FALSE(s.has_rework_rate());
  ASSERT_OK(stats("", "SZ", &s));  // both led by 市政 (SZ)
  EXPECT_EQ(s.found_count(), 2);
  ASSERT_OK(stats("", "CG", &s));
  EXPECT_EQ(s.found_count(), 0);

  EXPECT_EQ(stats("nope", "", &s).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(stats("", "", &s, kDispatcher1).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::GetStatisticsRequest no_start;
  EXPECT_EQ(Api::Call(admin.get(), &v1::AdminService::Stub::GetStatistics, kOperator, no_start, &s)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_P(LifecycleTest, MonthlyFlagsRateUnitsByTheirFigures) {
  // A (cell 1): closed on time in October 2026, no rework. B (cell 2): due in October, still open.
  v1::Case a = NewReport();
  v1::Case c;
  ASSERT_OK(api_->Accept(kDispatcher1, a.case_id(), &c));
  ASSERT_OK(api_->Take(kStaffSz, a.case_id(), &c));
  ASSERT_OK(api_->Resolve(kStaffSz, a.case_id(), "修好了", &c));
  ASSERT_OK(api_->Verify(kLeader1, a.case_id(), true, "", &c));
  v1::Case b = NewReport("C01_ROAD_DAMAGE", kLeader2, "410184001002001");
  ASSERT_OK(api_->Accept(kDispatcher1, b.case_id(), &c));
  constexpr int64_t kOct10 = 1791590400LL * 1000000, kOct11 = 1791676800LL * 1000000,
                    kOct15 = 1792022400LL * 1000000, kOct10Noon = 1791633600LL * 1000000;
  auto raw = Raw();
  ASSERT_TRUE(raw);
  ASSERT_TRUE(raw->Execute("UPDATE cases SET filed_time = ?, first_deadline_time = ?, "
                           "deadline_time = ?, closed_time = ? WHERE case_id = ?",
                           {kOct10, kOct11, kOct11, kOct10Noon, a.case_id()})
                  .ok());
  ASSERT_TRUE(raw->Execute("UPDATE case_events SET event_time = ? WHERE case_id = ?",
                           {kOct10Noon, a.case_id()})
                  .ok());
  ASSERT_TRUE(raw->Execute("UPDATE cases SET filed_time = ?, first_deadline_time = ?, "
                           "deadline_time = ? WHERE case_id = ?",
                           {kOct10, kOct15, kOct15, b.case_id()})
                  .ok());
  RefigureAfterRawEdits();

  auto admin = v1::AdminService::NewStub(Channel(port_));
  auto list = [&](v1::ListEvaluationsRequest req, std::map<std::string, v1::EvaluationFlag>* out) {
    v1::ListEvaluationsResponse resp;
    auto s =
        Api::Call(admin.get(), &v1::AdminService::Stub::ListEvaluations, kOperator, req, &resp);
    for (const auto& e : resp.evaluations()) (*out)[e.unit_code()] = e.flag();
    return s;
  };
  v1::ListEvaluationsRequest oct;
  oct.set_year(2026);
  oct.set_month(10);
  std::map<std::string, v1::EvaluationFlag> flags;
  ASSERT_OK(list(oct, &flags));
  const std::map<std::string, v1::EvaluationFlag> want = {
      {"410184001", v1::BLACK_FLAG},        // street: 1 of 2 due cases on time
      {"410184001001", v1::RED_FLAG},       // community of cell 1
      {"410184001001001", v1::RED_FLAG},    // cell 1: on time, no rework
      {"410184001002", v1::BLACK_FLAG},     // community of cell 2
      {"410184001002001", v1::BLACK_FLAG},  // cell 2: open past its deadline
      {"SZ", v1::BLACK_FLAG},               // led both
  };
  EXPECT_EQ(flags, want) << "units without activity in the month are not rated";

  flags.clear();
  v1::ListEvaluationsRequest red_grids = oct;
  red_grids.set_unit_kind(v1::GRID_UNIT);
  red_grids.set_flag(v1::RED_FLAG);
  ASSERT_OK(list(red_grids, &flags));
  EXPECT_EQ(flags.size(), 2u);
  flags.clear();
  v1::ListEvaluationsRequest community = oct;
  community.set_grid_code("410184001002");
  ASSERT_OK(list(community, &flags));
  EXPECT_EQ(flags, (std::map<std::string, v1::EvaluationFlag>{
                       {"410184001002", v1::BLACK_FLAG}, {"410184001002001", v1::BLACK_FLAG}}));

  v1::ListEvaluationsRequest current;  // this month has not ended
  const auto now = absl::Now();
  const absl::CivilMonth month = absl::ToCivilMonth(now, absl::FixedTimeZone(8 * 3600));
  current.set_year(static_cast<int>(month.year()));
  current.set_month(month.month());
  EXPECT_EQ(list(current, &flags).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListEvaluationsRequest bad = oct;
  bad.set_month(13);
  EXPECT_EQ(list(bad, &flags).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

INSTANTIATE_TEST_SUITE_P(Backends, LifecycleTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return BackendName(info.param); });

}  // namespace
}  // namespace gridline
