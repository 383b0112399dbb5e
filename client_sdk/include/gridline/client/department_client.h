// DepartmentClient: what a line department's console calls. Stable.
#ifndef GRIDLINE_CLIENT_DEPARTMENT_CLIENT_H_
#define GRIDLINE_CLIENT_DEPARTMENT_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "gridline/client/department_connection.h"
#include "gridline/client/photo.h"
#include "gridline/client/status.h"
#include "gridline/client/watch.h"

namespace gridline::client {

class DepartmentClient {
 public:
  explicit DepartmentClient(std::shared_ptr<DepartmentConnection> connection)
      : connection_(std::move(connection)) {}

  StatusOr<v1::ListAssignedCasesResponse> ListAssignedCases(
      const v1::ListAssignedCasesRequest& request);
  StatusOr<v1::Case> GetCase(const std::string& case_id);
  StatusOr<std::vector<v1::CaseEvent>> ListCaseEvents(const std::string& case_id);
  StatusOr<v1::Case> AcceptAssignment(const v1::AcceptAssignmentRequest& request);
  StatusOr<v1::Case> ReturnCase(const v1::ReturnCaseRequest& request);
  StatusOr<v1::ExtensionRequest> RequestExtension(const v1::RequestExtensionRequest& request);
  StatusOr<v1::Case> AddProgress(const v1::AddProgressRequest& request);
  StatusOr<v1::Case> ResolveCase(const v1::ResolveCaseRequest& request);
  // Uploads `photos` as after-photos, then resolves with their ids appended.
  StatusOr<v1::Case> ResolveCase(v1::ResolveCaseRequest request, const std::vector<Photo>& photos);
  StatusOr<v1::Attachment> UploadPhoto(const Photo& photo);
  StatusOr<DownloadedPhoto> DownloadPhoto(const std::string& attachment_id);

  // Live events of the cases the caller's department leads (and assists, if asked).
  std::unique_ptr<Watch> WatchAssignments(WatchOptions options = {},
                                          bool include_assisting = false);
  // Every page of ListAssignedCases(request) (request.page_token is ignored), and a
  // WatchAssignments watch (assisted cases too if request.include_assisting) that starts where
  // the first page was read and skips what the list already shows (events at or below a listed
  // case's version): see ListAndWatchResult in watch.h.
  StatusOr<ListAndWatchResult<v1::Case>> ListAndWatchAssignments(
      v1::ListAssignedCasesRequest request = {}, WatchOptions options = {});

  // Supervision (督办): the orders the department must answer, acknowledged and answered.
  StatusOr<v1::SupervisionOrder> AcknowledgeSupervisionOrder(const std::string& order_id);
  StatusOr<v1::SupervisionOrder> AnswerSupervisionOrder(const std::string& order_id,
                                                        const std::string& note);
  StatusOr<v1::ListSupervisionOrdersResponse> ListSupervisionOrders(
      const v1::ListSupervisionOrdersRequest& request);

  std::shared_ptr<DepartmentConnection> connection() const { return connection_; }

 private:
  std::shared_ptr<DepartmentConnection> connection_;
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_DEPARTMENT_CLIENT_H_
