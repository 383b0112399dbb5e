// DispatchClient: what an acceptance center's console calls. Stable.
#ifndef GRIDLINE_CLIENT_DISPATCH_CLIENT_H_
#define GRIDLINE_CLIENT_DISPATCH_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "gridline/client/dispatch_connection.h"
#include "gridline/client/status.h"
#include "gridline/client/watch.h"

namespace gridline::client {

class DispatchClient {
 public:
  explicit DispatchClient(std::shared_ptr<DispatchConnection> connection)
      : connection_(std::move(connection)) {}

  StatusOr<v1::ListTriageQueueResponse> ListTriageQueue(const v1::ListTriageQueueRequest& request);
  StatusOr<v1::ListCasesResponse> ListCases(const v1::ListCasesRequest& request);
  // A report of the public, the media, a leader or an inspection, registered by the center.
  // Retried safely: the report's request id makes it idempotent (fill it once, as a handset does).
  StatusOr<v1::SubmitReportResponse> RegisterCase(const v1::RegisterCaseRequest& request);
  StatusOr<v1::Case> GetCase(const std::string& case_id);
  StatusOr<std::vector<v1::CaseEvent>> ListCaseEvents(const std::string& case_id);
  StatusOr<v1::Case> AcceptCase(const v1::AcceptCaseRequest& request);
  StatusOr<v1::Case> RejectCase(const v1::RejectCaseRequest& request);
  StatusOr<v1::SuggestDuplicatesResponse> SuggestDuplicates(
      const v1::SuggestDuplicatesRequest& request);
  StatusOr<v1::Case> MarkDuplicate(const v1::MarkDuplicateRequest& request);
  StatusOr<v1::Case> CorrectCategory(const v1::CorrectCategoryRequest& request);
  StatusOr<v1::Case> RouteCase(const v1::RouteCaseRequest& request);
  StatusOr<v1::Case> DecideExtension(const v1::DecideExtensionRequest& request);
  StatusOr<v1::Case> VerifyCase(const v1::VerifyCaseRequest& request);
  StatusOr<v1::ListExtensionRequestsResponse> ListExtensionRequests(
      const v1::ListExtensionRequestsRequest& request);

  // Supervision (督办): order an open case hurried (an empty request id is filled with
  // NewRequestId()), and the orders in the caller's subtree. Supervisors call these too.
  StatusOr<v1::SupervisionOrder> IssueSupervisionOrder(v1::IssueSupervisionOrderRequest request);
  StatusOr<v1::ListSupervisionOrdersResponse> ListSupervisionOrders(
      const v1::ListSupervisionOrdersRequest& request);

  // Live changes of the triage queue and of the cases in the caller's subtree, optionally
  // narrowed to the subtree of `grid_code`.
  std::unique_ptr<Watch> WatchQueue(WatchOptions options = {}, std::string grid_code = "");
  // Every page of ListTriageQueue(request) (request.page_token is ignored), and a WatchQueue
  // watch narrowed to request.grid_code that starts where the first page was read and skips what
  // the list already shows (events at or below a listed case's version): see ListAndWatchResult
  // in watch.h. The watch also brings the cases that leave the queue (accepted, rejected, ...)
  // and the other changes in the subtree.
  StatusOr<ListAndWatchResult<v1::TriageItem>> ListAndWatchQueue(
      v1::ListTriageQueueRequest request = {}, WatchOptions options = {});

  std::shared_ptr<DispatchConnection> connection() const { return connection_; }

 private:
  std::shared_ptr<DispatchConnection> connection_;
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_DISPATCH_CLIENT_H_
