#include "gridline/client/department_connection.h"

#include "gridline/client/internal/grpc_stubs.h"
#include "unimplemented.h"

namespace gridline::client {

using internal::Unimplemented;

StatusOr<v1::ListAssignedCasesResponse> DepartmentConnection::ListAssignedCases(
    const v1::ListAssignedCasesRequest&) {
  return Unimplemented("ListAssignedCases");
}
StatusOr<v1::Case> DepartmentConnection::GetCase(const v1::GetCaseRequest&) {
  return Unimplemented("GetCase");
}
StatusOr<v1::ListCaseEventsResponse> DepartmentConnection::ListCaseEvents(
    const v1::ListCaseEventsRequest&) {
  return Unimplemented("ListCaseEvents");
}
StatusOr<v1::Case> DepartmentConnection::AcceptAssignment(const v1::AcceptAssignmentRequest&) {
  return Unimplemented("AcceptAssignment");
}
StatusOr<v1::Case> DepartmentConnection::ReturnCase(const v1::ReturnCaseRequest&) {
  return Unimplemented("ReturnCase");
}
StatusOr<v1::ExtensionRequest> DepartmentConnection::RequestExtension(
    const v1::RequestExtensionRequest&) {
  return Unimplemented("RequestExtension");
}
StatusOr<v1::Case> DepartmentConnection::AddProgress(const v1::AddProgressRequest&) {
  return Unimplemented("AddProgress");
}
StatusOr<v1::Case> DepartmentConnection::ResolveCase(const v1::ResolveCaseRequest&) {
  return Unimplemented("ResolveCase");
}
StatusOr<v1::Attachment> DepartmentConnection::UploadAttachment(const PhotoUpload&) {
  return Unimplemented("UploadAttachment");
}
StatusOr<DownloadedPhoto> DepartmentConnection::DownloadAttachment(
    const v1::DownloadAttachmentRequest&) {
  return Unimplemented("DownloadAttachment");
}
std::unique_ptr<EventStream> DepartmentConnection::WatchAssignments(
    const v1::WatchAssignmentsRequest&) {
  return internal::MakeFailedEventStream(Unimplemented("WatchAssignments"));
}

StatusOr<v1::SupervisionOrder> DepartmentConnection::AcknowledgeSupervisionOrder(
    const v1::AcknowledgeSupervisionOrderRequest&) {
  return Unimplemented("AcknowledgeSupervisionOrder");
}
StatusOr<v1::SupervisionOrder> DepartmentConnection::AnswerSupervisionOrder(
    const v1::AnswerSupervisionOrderRequest&) {
  return Unimplemented("AnswerSupervisionOrder");
}
StatusOr<v1::ListSupervisionOrdersResponse> DepartmentConnection::ListSupervisionOrders(
    const v1::ListSupervisionOrdersRequest&) {
  return Unimplemented("ListSupervisionOrders");
}

namespace {

using DepartmentStub = v1::DepartmentService::Stub;
using R = v1::ReportService::Stub;
using internal::WriteIdempotency;

class GrpcDepartmentConnection final : public DepartmentConnection {
 public:
  explicit GrpcDepartmentConnection(std::shared_ptr<internal::GrpcStubs> stubs)
      : stubs_(std::move(stubs)) {}
  Options options() const override { return stubs_->options(); }

  StatusOr<v1::ListAssignedCasesResponse> ListAssignedCases(
      const v1::ListAssignedCasesRequest& r) override {
    return stubs_->Unary(stubs_->department(), &DepartmentStub::ListAssignedCases, r,
                         internal::kIdempotent);
  }
  StatusOr<v1::Case> GetCase(const v1::GetCaseRequest& r) override {
    return stubs_->Unary(stubs_->report(), &R::GetCase, r, internal::kIdempotent);
  }
  StatusOr<v1::ListCaseEventsResponse> ListCaseEvents(const v1::ListCaseEventsRequest& r) override {
    return stubs_->Unary(stubs_->report(), &R::ListCaseEvents, r, internal::kIdempotent);
  }
  StatusOr<v1::Case> AcceptAssignment(const v1::AcceptAssignmentRequest& r) override {
    return stubs_->Unary(stubs_->department(), &DepartmentStub::AcceptAssignment, r,
                         WriteIdempotency(r));
  }
  StatusOr<v1::Case> ReturnCase(const v1::ReturnCaseRequest& r) override {
    return stubs_->Unary(stubs_->department(), &DepartmentStub::ReturnCase, r, WriteIdempotency(r));
  }
  StatusOr<v1::ExtensionRequest> RequestExtension(const v1::RequestExtensionRequest& r) override {
    return stubs_->Unary(stubs_->department(), &DepartmentStub::RequestExtension, r,
                         WriteIdempotency(r));
  }
  StatusOr<v1::Case> AddProgress(const v1::AddProgressRequest& r) override {
    return stubs_->Unary(stubs_->department(), &DepartmentStub::AddProgress, r,
                         WriteIdempotency(r));
  }
  StatusOr<v1::Case> ResolveCase(const v1::ResolveCaseRequest& r) override {
    return stubs_->Unary(stubs_->department(), &DepartmentStub::ResolveCase, r,
                         WriteIdempotency(r));
  }
  StatusOr<v1::Attachment> UploadAttachment(const PhotoUpload& photo) override {
    return internal::UploadAttachment(*stubs_, photo);
  }
  StatusOr<DownloadedPhoto> DownloadAttachment(const v1::DownloadAttachmentRequest& r) override {
    return internal::DownloadAttachment(*stubs_, r);
  }
  std::unique_ptr<EventStream> WatchAssignments(const v1::WatchAssignmentsRequest& r) override {
    return stubs_->Watch([&](grpc::ClientContext& context) {
      return stubs_->department().WatchAssignments(&context, r);
    });
  }

  // Acknowledging and answering are idempotent: a repeat returns the order as it stands.
  StatusOr<v1::SupervisionOrder> AcknowledgeSupervisionOrder(
      const v1::AcknowledgeSupervisionOrderRequest& r) override {
    return stubs_->Unary(stubs_->department(), &DepartmentStub::AcknowledgeSupervisionOrder, r,
                         Idempotency::kIdempotent);
  }
  StatusOr<v1::SupervisionOrder> AnswerSupervisionOrder(
      const v1::AnswerSupervisionOrderRequest& r) override {
    return stubs_->Unary(stubs_->department(), &DepartmentStub::AnswerSupervisionOrder, r,
                         Idempotency::kIdempotent);
  }
  StatusOr<v1::ListSupervisionOrdersResponse> ListSupervisionOrders(
      const v1::ListSupervisionOrdersRequest& r) override {
    return stubs_->Unary(stubs_->department(), &DepartmentStub::ListSupervisionOrders, r,
                         Idempotency::kIdempotent);
  }

 private:
  std::shared_ptr<internal::GrpcStubs> stubs_;
};

}  // namespace

std::shared_ptr<DepartmentConnection> MakeDepartmentConnection(Options options) {
  return std::make_shared<GrpcDepartmentConnection>(
      std::make_shared<internal::GrpcStubs>(std::move(options)));
}

}  // namespace gridline::client
