// gMock DepartmentConnection. Stable. See mock_report_connection.h.
#ifndef GRIDLINE_CLIENT_MOCKS_MOCK_DEPARTMENT_CONNECTION_H_
#define GRIDLINE_CLIENT_MOCKS_MOCK_DEPARTMENT_CONNECTION_H_

#include <gmock/gmock.h>

#include <memory>

#include "gridline/client/department_connection.h"

namespace gridline::client {

class MockDepartmentConnection : public DepartmentConnection {
 public:
  MOCK_METHOD(Options, options, (), (const, override));
  MOCK_METHOD(StatusOr<v1::ListAssignedCasesResponse>, ListAssignedCases,
              (const v1::ListAssignedCasesRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Case>, GetCase, (const v1::GetCaseRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListCaseEventsResponse>, ListCaseEvents,
              (const v1::ListCaseEventsRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Case>, AcceptAssignment, (const v1::AcceptAssignmentRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::Case>, ReturnCase, (const v1::ReturnCaseRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ExtensionRequest>, RequestExtension,
              (const v1::RequestExtensionRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Case>, AddProgress, (const v1::AddProgressRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Case>, ResolveCase, (const v1::ResolveCaseRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::Attachment>, UploadAttachment, (const PhotoUpload& photo), (override));
  MOCK_METHOD(StatusOr<DownloadedPhoto>, DownloadAttachment,
              (const v1::DownloadAttachmentRequest& request), (override));
  MOCK_METHOD(std::unique_ptr<EventStream>, WatchAssignments,
              (const v1::WatchAssignmentsRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::SupervisionOrder>, AcknowledgeSupervisionOrder,
              (const v1::AcknowledgeSupervisionOrderRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::SupervisionOrder>, AnswerSupervisionOrder,
              (const v1::AnswerSupervisionOrderRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListSupervisionOrdersResponse>, ListSupervisionOrders,
              (const v1::ListSupervisionOrdersRequest& request), (override));
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_MOCKS_MOCK_DEPARTMENT_CONNECTION_H_
