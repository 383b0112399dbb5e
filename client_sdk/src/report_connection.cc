#include "gridline/client/report_connection.h"

#include "gridline/client/internal/grpc_stubs.h"
#include "unimplemented.h"

namespace gridline::client {

using internal::Unimplemented;

StatusOr<v1::SubmitReportResponse> ReportConnection::SubmitReport(const v1::SubmitReportRequest&) {
  return Unimplemented("SubmitReport");
}
StatusOr<v1::Attachment> ReportConnection::UploadAttachment(const PhotoUpload&) {
  return Unimplemented("UploadAttachment");
}
StatusOr<DownloadedPhoto> ReportConnection::DownloadAttachment(
    const v1::DownloadAttachmentRequest&) {
  return Unimplemented("DownloadAttachment");
}
StatusOr<v1::Case> ReportConnection::GetCase(const v1::GetCaseRequest&) {
  return Unimplemented("GetCase");
}
StatusOr<v1::ListMyCasesResponse> ReportConnection::ListMyCases(const v1::ListMyCasesRequest&) {
  return Unimplemented("ListMyCases");
}
StatusOr<v1::ListCaseEventsResponse> ReportConnection::ListCaseEvents(
    const v1::ListCaseEventsRequest&) {
  return Unimplemented("ListCaseEvents");
}
StatusOr<v1::Case> ReportConnection::VerifyCase(const v1::VerifyCaseRequest&) {
  return Unimplemented("VerifyCase");
}
StatusOr<v1::ListReportCategoriesResponse> ReportConnection::ListReportCategories(
    const v1::ListReportCategoriesRequest&) {
  return Unimplemented("ListReportCategories");
}
std::unique_ptr<EventStream> ReportConnection::WatchCases(const v1::WatchCasesRequest&) {
  return internal::MakeFailedEventStream(Unimplemented("WatchCases"));
}

namespace {

using ReportStub = v1::ReportService::Stub;

class GrpcReportConnection final : public ReportConnection {
 public:
  explicit GrpcReportConnection(std::shared_ptr<internal::GrpcStubs> stubs)
      : stubs_(std::move(stubs)) {}
  Options options() const override { return stubs_->options(); }

  // The request id makes a repeat return the first result: always idempotent.
  StatusOr<v1::SubmitReportResponse> SubmitReport(const v1::SubmitReportRequest& r) override {
    return stubs_->Unary(stubs_->report(), &ReportStub::SubmitReport, r, internal::kIdempotent);
  }
  StatusOr<v1::Attachment> UploadAttachment(const PhotoUpload& photo) override {
    return internal::UploadAttachment(*stubs_, photo);
  }
  StatusOr<DownloadedPhoto> DownloadAttachment(const v1::DownloadAttachmentRequest& r) override {
    return internal::DownloadAttachment(*stubs_, r);
  }
  StatusOr<v1::Case> GetCase(const v1::GetCaseRequest& r) override {
    return stubs_->Unary(stubs_->report(), &ReportStub::GetCase, r, internal::kIdempotent);
  }
  StatusOr<v1::ListMyCasesResponse> ListMyCases(const v1::ListMyCasesRequest& r) override {
    return stubs_->Unary(stubs_->report(), &ReportStub::ListMyCases, r, internal::kIdempotent);
  }
  StatusOr<v1::ListCaseEventsResponse> ListCaseEvents(const v1::ListCaseEventsRequest& r) override {
    return stubs_->Unary(stubs_->report(), &ReportStub::ListCaseEvents, r, internal::kIdempotent);
  }
  StatusOr<v1::Case> VerifyCase(const v1::VerifyCaseRequest& r) override {
    return stubs_->Unary(stubs_->report(), &ReportStub::VerifyCase, r,
                         internal::WriteIdempotency(r));
  }
  StatusOr<v1::ListReportCategoriesResponse> ListReportCategories(
      const v1::ListReportCategoriesRequest& r) override {
    return stubs_->Unary(stubs_->report(), &ReportStub::ListReportCategories, r,
                         internal::kIdempotent);
  }
  std::unique_ptr<EventStream> WatchCases(const v1::WatchCasesRequest& r) override {
    return stubs_->Watch(
        [&](grpc::ClientContext& context) { return stubs_->report().WatchCases(&context, r); });
  }

 private:
  std::shared_ptr<internal::GrpcStubs> stubs_;
};

}  // namespace

std::shared_ptr<ReportConnection> MakeReportConnection(Options options) {
  return std::make_shared<GrpcReportConnection>(
      std::make_shared<internal::GrpcStubs>(std::move(options)));
}

}  // namespace gridline::client
