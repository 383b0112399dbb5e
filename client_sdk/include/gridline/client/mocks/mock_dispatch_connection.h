// gMock DispatchConnection. Stable. See mock_report_connection.h.
#ifndef GRIDLINE_CLIENT_MOCKS_MOCK_DISPATCH_CONNECTION_H_
#define GRIDLINE_CLIENT_MOCKS_MOCK_DISPATCH_CONNECTION_H_

#include <gmock/gmock.h>

#include <memory>

#include "gridline/client/dispatch_connection.h"

namespace gridline::client {

class MockDispatchConnection : public DispatchConnection {
 public:
  MOCK_METHOD(Options, options, (), (const, override));
  MOCK_METHOD(StatusOr<v1::ListTriageQueueResponse>, ListTriageQueue,
              (const v1::ListTriageQueueRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::SubmitReportResponse>, RegisterCase,
              (const v1::RegisterCaseRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListCasesResponse>, ListCases, (const v1::ListCasesRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::Case>, GetCase, (const v1::GetCaseRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListCaseEventsResponse>, ListCaseEvents,
              (const v1::ListCaseEventsRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Case>, AcceptCase, (const v1::AcceptCaseRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Case>, RejectCase, (const v1::RejectCaseRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::SuggestDuplicatesResponse>, SuggestDuplicates,
              (const v1::SuggestDuplicatesRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Case>, MarkDuplicate, (const v1::MarkDuplicateRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::Case>, CorrectCategory, (const v1::CorrectCategoryRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::Case>, RouteCase, (const v1::RouteCaseRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Case>, DecideExtension, (const v1::DecideExtensionRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::Case>, VerifyCase, (const v1::VerifyCaseRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListExtensionRequestsResponse>, ListExtensionRequests,
              (const v1::ListExtensionRequestsRequest& request), (override));
  MOCK_METHOD(std::unique_ptr<EventStream>, WatchQueue, (const v1::WatchQueueRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::SupervisionOrder>, IssueSupervisionOrder,
              (const v1::IssueSupervisionOrderRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListSupervisionOrdersResponse>, ListSupervisionOrders,
              (const v1::ListSupervisionOrdersRequest& request), (override));
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_MOCKS_MOCK_DISPATCH_CONNECTION_H_
