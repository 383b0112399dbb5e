#include "gridline/client/dispatch_connection.h"

#include "gridline/client/internal/grpc_stubs.h"
#include "unimplemented.h"

namespace gridline::client {

using internal::Unimplemented;

StatusOr<v1::ListTriageQueueResponse> DispatchConnection::ListTriageQueue(
    const v1::ListTriageQueueRequest&) {
  return Unimplemented("ListTriageQueue");
}
StatusOr<v1::SubmitReportResponse> DispatchConnection::RegisterCase(
    const v1::RegisterCaseRequest&) {
  return Unimplemented("RegisterCase");
}
StatusOr<v1::ListCasesResponse> DispatchConnection::ListCases(const v1::ListCasesRequest&) {
  return Unimplemented("ListCases");
}
StatusOr<v1::Case> DispatchConnection::GetCase(const v1::GetCaseRequest&) {
  return Unimplemented("GetCase");
}
StatusOr<v1::ListCaseEventsResponse> DispatchConnection::ListCaseEvents(
    const v1::ListCaseEventsRequest&) {
  return Unimplemented("ListCaseEvents");
}
StatusOr<v1::Case> DispatchConnection::AcceptCase(const v1::AcceptCaseRequest&) {
  return Unimplemented("AcceptCase");
}
StatusOr<v1::Case> DispatchConnection::RejectCase(const v1::RejectCaseRequest&) {
  return Unimplemented("RejectCase");
}
StatusOr<v1::SuggestDuplicatesResponse> DispatchConnection::SuggestDuplicates(
    const v1::SuggestDuplicatesRequest&) {
  return Unimplemented("SuggestDuplicates");
}
StatusOr<v1::Case> DispatchConnection::MarkDuplicate(const v1::MarkDuplicateRequest&) {
  return Unimplemented("MarkDuplicate");
}
StatusOr<v1::Case> DispatchConnection::CorrectCategory(const v1::CorrectCategoryRequest&) {
  return Unimplemented("CorrectCategory");
}
StatusOr<v1::Case> DispatchConnection::RouteCase(const v1::RouteCaseRequest&) {
  return Unimplemented("RouteCase");
}
StatusOr<v1::Case> DispatchConnection::DecideExtension(const v1::DecideExtensionRequest&) {
  return Unimplemented("DecideExtension");
}
StatusOr<v1::Case> DispatchConnection::VerifyCase(const v1::VerifyCaseRequest&) {
  return Unimplemented("VerifyCase");
}
StatusOr<v1::ListExtensionRequestsResponse> DispatchConnection::ListExtensionRequests(
    const v1::ListExtensionRequestsRequest&) {
  return Unimplemented("ListExtensionRequests");
}
std::unique_ptr<EventStream> DispatchConnection::WatchQueue(const v1::WatchQueueRequest&) {
  return internal::MakeFailedEventStream(Unimplemented("WatchQueue"));
}

StatusOr<v1::SupervisionOrder> DispatchConnection::IssueSupervisionOrder(
    const v1::IssueSupervisionOrderRequest&) {
  return Unimplemented("IssueSupervisionOrder");
}
StatusOr<v1::ListSupervisionOrdersResponse> DispatchConnection::ListSupervisionOrders(
    const v1::ListSupervisionOrdersRequest&) {
  return Unimplemented("ListSupervisionOrders");
}

namespace {

using DispatchStub = v1::DispatchService::Stub;
using R = v1::ReportService::Stub;
using internal::WriteIdempotency;

class GrpcDispatchConnection final : public DispatchConnection {
 public:
  explicit GrpcDispatchConnection(std::shared_ptr<internal::GrpcStubs> stubs)
      : stubs_(std::move(stubs)) {}
  Options options() const override { return stubs_->options(); }

  StatusOr<v1::ListTriageQueueResponse> ListTriageQueue(
      const v1::ListTriageQueueRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::ListTriageQueue, r,
                         internal::kIdempotent);
  }
  StatusOr<v1::SubmitReportResponse> RegisterCase(const v1::RegisterCaseRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::RegisterCase, r, internal::kIdempotent);
  }
  StatusOr<v1::ListCasesResponse> ListCases(const v1::ListCasesRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::ListCases, r, internal::kIdempotent);
  }
  StatusOr<v1::Case> GetCase(const v1::GetCaseRequest& r) override {
    return stubs_->Unary(stubs_->report(), &R::GetCase, r, internal::kIdempotent);
  }
  StatusOr<v1::ListCaseEventsResponse> ListCaseEvents(const v1::ListCaseEventsRequest& r) override {
    return stubs_->Unary(stubs_->report(), &R::ListCaseEvents, r, internal::kIdempotent);
  }
  StatusOr<v1::Case> AcceptCase(const v1::AcceptCaseRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::AcceptCase, r, WriteIdempotency(r));
  }
  StatusOr<v1::Case> RejectCase(const v1::RejectCaseRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::RejectCase, r, WriteIdempotency(r));
  }
  StatusOr<v1::SuggestDuplicatesResponse> SuggestDuplicates(
      const v1::SuggestDuplicatesRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::SuggestDuplicates, r,
                         internal::kIdempotent);
  }
  StatusOr<v1::Case> MarkDuplicate(const v1::MarkDuplicateRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::MarkDuplicate, r, WriteIdempotency(r));
  }
  StatusOr<v1::Case> CorrectCategory(const v1::CorrectCategoryRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::CorrectCategory, r,
                         WriteIdempotency(r));
  }
  StatusOr<v1::Case> RouteCase(const v1::RouteCaseRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::RouteCase, r, WriteIdempotency(r));
  }
  StatusOr<v1::Case> DecideExtension(const v1::DecideExtensionRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::DecideExtension, r,
                         WriteIdempotency(r));
  }
  StatusOr<v1::Case> VerifyCase(const v1::VerifyCaseRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::VerifyCase, r, WriteIdempotency(r));
  }
  StatusOr<v1::ListExtensionRequestsResponse> ListExtensionRequests(
      const v1::ListExtensionRequestsRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::ListExtensionRequests, r,
                         internal::kIdempotent);
  }
  std::unique_ptr<EventStream> WatchQueue(const v1::WatchQueueRequest& r) override {
    return stubs_->Watch(
        [&](grpc::ClientContext& context) { return stubs_->dispatch().WatchQueue(&context, r); });
  }

  // Idempotent on the request id.
  StatusOr<v1::SupervisionOrder> IssueSupervisionOrder(
      const v1::IssueSupervisionOrderRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::IssueSupervisionOrder, r,
                         internal::kIdempotent);
  }
  StatusOr<v1::ListSupervisionOrdersResponse> ListSupervisionOrders(
      const v1::ListSupervisionOrdersRequest& r) override {
    return stubs_->Unary(stubs_->dispatch(), &DispatchStub::ListSupervisionOrders, r,
                         internal::kIdempotent);
  }

 private:
  std::shared_ptr<internal::GrpcStubs> stubs_;
};

}  // namespace

std::shared_ptr<DispatchConnection> MakeDispatchConnection(Options options) {
  return std::make_shared<GrpcDispatchConnection>(
      std::make_shared<internal::GrpcStubs>(std::move(options)));
}

}  // namespace gridline::client
