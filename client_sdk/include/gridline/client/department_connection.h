// A line department's connection to DepartmentService (accept, return, extend, progress, resolve)
// plus the photo and case-read calls department staff use. Stable. See report_connection.h for
// how connections, clients and mocks relate.
#ifndef GRIDLINE_CLIENT_DEPARTMENT_CONNECTION_H_
#define GRIDLINE_CLIENT_DEPARTMENT_CONNECTION_H_

#include <memory>

#include "gridline/client/event_stream.h"
#include "gridline/client/options.h"
#include "gridline/client/report_connection.h"
#include "gridline/client/status.h"
#include "gridline/v1/department_service.pb.h"
#include "gridline/v1/dispatch_service.pb.h"

namespace gridline::client {

namespace v1 = ::gridline::v1;

class DepartmentConnection {
 public:
  virtual ~DepartmentConnection() = default;
  virtual Options options() const { return {}; }

  virtual StatusOr<v1::ListAssignedCasesResponse> ListAssignedCases(
      const v1::ListAssignedCasesRequest& request);
  virtual StatusOr<v1::Case> GetCase(const v1::GetCaseRequest& request);
  virtual StatusOr<v1::ListCaseEventsResponse> ListCaseEvents(
      const v1::ListCaseEventsRequest& request);
  virtual StatusOr<v1::Case> AcceptAssignment(const v1::AcceptAssignmentRequest& request);
  virtual StatusOr<v1::Case> ReturnCase(const v1::ReturnCaseRequest& request);
  virtual StatusOr<v1::ExtensionRequest> RequestExtension(
      const v1::RequestExtensionRequest& request);
  virtual StatusOr<v1::Case> AddProgress(const v1::AddProgressRequest& request);
  virtual StatusOr<v1::Case> ResolveCase(const v1::ResolveCaseRequest& request);
  virtual StatusOr<v1::Attachment> UploadAttachment(const PhotoUpload& photo);
  virtual StatusOr<DownloadedPhoto> DownloadAttachment(
      const v1::DownloadAttachmentRequest& request);
  virtual std::unique_ptr<EventStream> WatchAssignments(const v1::WatchAssignmentsRequest& request);
  virtual StatusOr<v1::SupervisionOrder> AcknowledgeSupervisionOrder(
      const v1::AcknowledgeSupervisionOrderRequest& request);
  virtual StatusOr<v1::SupervisionOrder> AnswerSupervisionOrder(
      const v1::AnswerSupervisionOrderRequest& request);
  virtual StatusOr<v1::ListSupervisionOrdersResponse> ListSupervisionOrders(
      const v1::ListSupervisionOrdersRequest& request);
};

std::shared_ptr<DepartmentConnection> MakeDepartmentConnection(Options options);

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_DEPARTMENT_CONNECTION_H_
