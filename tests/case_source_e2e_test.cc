// Issue 14, case source: every case records where it came from, and the acceptance center
// registers the reports that do not come from a handset (DispatchService.RegisterCase). Real
// servers over gRPC, on SQLite and on MariaDB.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "gridline/v1/report_service.grpc.pb.h"
#include "server/util/sha256.h"
#include "tests/e2e_fixture.h"
#include "tests/test_images.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using namespace testing;  // NOLINT: demo tokens, the fixture

class CaseSourceTest : public E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    server_ = StartServer(&port_);
    ASSERT_TRUE(server_);
    Connect();
  }

  void Connect() {
    auto channel = Channel(port_);
    report_ = v1::ReportService::NewStub(channel);
    dispatch_ = v1::DispatchService::NewStub(channel);
  }

  static v1::RegisterCaseRequest Registration(const std::string& request_id,
                                              v1::CaseSource source) {
    v1::RegisterCaseRequest r;
    r.set_source(source);
    *r.mutable_report() = Report(request_id, "12345热线：小区门口井盖缺失");
    return r;
  }

  grpc::Status Register(const v1::RegisterCaseRequest& req, v1::SubmitReportResponse* out,
                        const std::string& token = kDispatcher1) {
    return Call(dispatch_.get(), &v1::DispatchService::Stub::RegisterCase, token, req, out);
  }

  // Uploads `bytes` as `token`; the attachment id, or "" on failure.
  std::string Upload(const std::string& token, const std::string& bytes) {
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    v1::Attachment att;
    auto writer = report_->UploadAttachment(&ctx, &att);
    v1::UploadAttachmentRequest m;
    m.mutable_metadata()->set_sha256(util::Sha256Hex(bytes));
    m.mutable_metadata()->set_size_bytes(static_cast<int64_t>(bytes.size()));
    writer->Write(m);
    v1::UploadAttachmentRequest chunk;
    chunk.set_chunk(bytes);
    writer->Write(chunk);
    writer->WritesDone();
    return writer->Finish().ok() ? att.attachment_id() : "";
  }

  int port_ = 0;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::ReportService::Stub> report_;
  std::unique_ptr<v1::DispatchService::Stub> dispatch_;
};

TEST_P(CaseSourceTest, TheCenterRegistersAPublicReportThatKeepsItsSource) {
  if (!server_) return;
  const std::string photo = Upload(kDispatcher1, TestPng(5000, "12345 photo"));
  ASSERT_FALSE(photo.empty());
  v1::RegisterCaseRequest req = Registration("hotline-0001", v1::PUBLIC);
  req.mutable_report()->add_attachment_ids(photo);
  v1::SubmitReportResponse registered;
  ASSERT_TRUE(Register(req, &registered).ok());
  const v1::Case& c = registered.case_();
  EXPECT_EQ(c.source(), v1::PUBLIC);
  EXPECT_EQ(c.state(), v1::PENDING_TRIAGE);
  EXPECT_EQ(c.reporter_user_id(), "u-dispatcher-001");
  ASSERT_EQ(c.before_photos_size(), 1);
  EXPECT_EQ(c.before_photos(0).attachment_id(), photo);
  EXPECT_FALSE(registered.event_cursor().empty());

  // A retry is the same case; the same id with other content is refused.
  v1::SubmitReportResponse again;
  ASSERT_TRUE(Register(req, &again).ok());
  EXPECT_EQ(again.case_().case_id(), c.case_id());
  v1::RegisterCaseRequest other = req;
  other.set_source(v1::MEDIA);
  EXPECT_EQ(Register(other, &again).error_code(), grpc::StatusCode::ALREADY_EXISTS);

  // It waits in the center's queue like a handset report, and a handset report says HANDSET.
  v1::ListTriageQueueRequest queue_req;
  v1::ListTriageQueueResponse queue;
  ASSERT_TRUE(Call(dispatch_.get(), &v1::DispatchService::Stub::ListTriageQueue, kDispatcher1,
                   queue_req, &queue)
                  .ok());
  ASSERT_EQ(queue.items_size(), 1);
  EXPECT_EQ(queue.items(0).case_().source(), v1::PUBLIC);
  v1::SubmitReportResponse handset;
  ASSERT_TRUE(Submit(report_.get(), Report("handset-0001"), &handset).ok());
  EXPECT_EQ(handset.case_().source(), v1::HANDSET);

  // The source is stored: a restarted server reads it back.
  ASSERT_EQ(server_->Stop(SIGTERM), 0);
  server_ = StartServerAt(port_);
  ASSERT_TRUE(server_);
  Connect();
  v1::Case read;
  ASSERT_TRUE(GetCase(report_.get(), c.case_id(), &read, kDispatcher1).ok());
  EXPECT_EQ(read.source(), v1::PUBLIC);
  ASSERT_TRUE(GetCase(report_.get(), handset.case_().case_id(), &read, kDispatcher1).ok());
  EXPECT_EQ(read.source(), v1::HANDSET);
}

TEST_P(CaseSourceTest, RegistrationIsTheCentersWithinItsSubtreeAndNeverAHandsetReport) {
  if (!server_) return;
  v1::SubmitReportResponse out;
  // Grid leaders report with SubmitReport; departments do not register cases.
  EXPECT_EQ(Register(Registration("r1", v1::PUBLIC), &out, kLeader1).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Register(Registration("r2", v1::PUBLIC), &out, kStaffSz).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  for (v1::CaseSource source : {v1::HANDSET, v1::CASE_SOURCE_UNSPECIFIED}) {
    grpc::Status s = Register(Registration("r3", source), &out);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << source;
    EXPECT_EQ(FieldsOf(s), std::vector<std::string>{"source"}) << source;
  }
  // Another street's grid is outside the dispatcher's subtree.
  v1::RegisterCaseRequest elsewhere = Registration("r4", v1::MEDIA);
  elsewhere.mutable_report()->mutable_location()->set_grid_code("410184002");
  grpc::Status s = Register(elsewhere, &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FieldsOf(s), std::vector<std::string>{"location.grid_code"});
  // SubmitReport's checks apply: an empty description is a field violation, and nothing of
  // the refused registrations was stored.
  v1::RegisterCaseRequest empty = Registration("r5", v1::LEADER);
  empty.mutable_report()->set_description("");
  EXPECT_EQ(Register(empty, &out).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListCasesRequest all;
  v1::ListCasesResponse cases;
  ASSERT_TRUE(
      Call(dispatch_.get(), &v1::DispatchService::Stub::ListCases, kDispatcher1, all, &cases).ok());
  EXPECT_EQ(cases.cases_size(), 0);
  // Each of the other sources is accepted.
  int n = 0;
  for (v1::CaseSource source : {v1::PUBLIC, v1::MEDIA, v1::LEADER, v1::INSPECTION}) {
    ASSERT_TRUE(Register(Registration(absl::StrCat("ok-", ++n), source), &out).ok()) << source;
    EXPECT_EQ(out.case_().source(), source);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, CaseSourceTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
