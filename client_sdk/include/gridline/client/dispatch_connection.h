// The acceptance center's connection to DispatchService (triage, filing, routing, extensions,
// verification). Stable. See report_connection.h for how connections, clients and mocks relate.
#ifndef GRIDLINE_CLIENT_DISPATCH_CONNECTION_H_
#define GRIDLINE_CLIENT_DISPATCH_CONNECTION_H_

#include <memory>

#include "gridline/client/event_stream.h"
#include "gridline/client/options.h"
#include "gridline/client/status.h"
#include "gridline/v1/dispatch_service.pb.h"
#include "gridline/v1/report_service.pb.h"

namespace gridline::client {

namespace v1 = ::gridline::v1;

class DispatchConnection {
 public:
  virtual ~DispatchConnection() = default;
  virtual Options options() const { return {}; }

  virtual StatusOr<v1::ListTriageQueueResponse> ListTriageQueue(
      const v1::ListTriageQueueRequest& request);
  virtual StatusOr<v1::ListCasesResponse> ListCases(const v1::ListCasesRequest& request);
  virtual StatusOr<v1::SubmitReportResponse> RegisterCase(const v1::RegisterCaseRequest& request);
  // ReportService.GetCase and ListCaseEvents, which serve every role within its scope.
  virtual StatusOr<v1::Case> GetCase(const v1::GetCaseRequest& request);
  virtual StatusOr<v1::ListCaseEventsResponse> ListCaseEvents(
      const v1::ListCaseEventsRequest& request);
  virtual StatusOr<v1::Case> AcceptCase(const v1::AcceptCaseRequest& request);
  virtual StatusOr<v1::Case> RejectCase(const v1::RejectCaseRequest& request);
  virtual StatusOr<v1::SuggestDuplicatesResponse> SuggestDuplicates(
      const v1::SuggestDuplicatesRequest& request);
  virtual StatusOr<v1::Case> MarkDuplicate(const v1::MarkDuplicateRequest& request);
  virtual StatusOr<v1::Case> CorrectCategory(const v1::CorrectCategoryRequest& request);
  virtual StatusOr<v1::Case> RouteCase(const v1::RouteCaseRequest& request);
  virtual StatusOr<v1::Case> DecideExtension(const v1::DecideExtensionRequest& request);
  virtual StatusOr<v1::Case> VerifyCase(const v1::VerifyCaseRequest& request);
  virtual StatusOr<v1::ListExtensionRequestsResponse> ListExtensionRequests(
      const v1::ListExtensionRequestsRequest& request);
  virtual std::unique_ptr<EventStream> WatchQueue(const v1::WatchQueueRequest& request);
  virtual StatusOr<v1::SupervisionOrder> IssueSupervisionOrder(
      const v1::IssueSupervisionOrderRequest& request);
  virtual StatusOr<v1::ListSupervisionOrdersResponse> ListSupervisionOrders(
      const v1::ListSupervisionOrdersRequest& request);
};

std::shared_ptr<DispatchConnection> MakeDispatchConnection(Options options);

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_DISPATCH_CONNECTION_H_
