// An operator's connection to AdminService: organisation import, statistics and evaluations,
// route checks and tokens. Stable. The per-entry CRUD RPCs of AdminService are not in the SDK yet
// (use the generated stub, or `gridctl org load` with a file).
#ifndef GRIDLINE_CLIENT_ADMIN_CONNECTION_H_
#define GRIDLINE_CLIENT_ADMIN_CONNECTION_H_

#include <functional>
#include <memory>

#include "gridline/client/options.h"
#include "gridline/client/status.h"
#include "gridline/v1/admin_service.pb.h"
#include "gridline/v1/organisation.pb.h"

namespace gridline::client {

namespace v1 = ::gridline::v1;

// An organisation import: the content, already cut into parts of a few thousand entries each
// (`AdminClient::ImportOrganisation` cuts it), and who to tell about progress.
struct ImportRequest {
  bool dry_run = false;
  std::vector<v1::Organisation> parts;
  int64_t expected_entries = 0;
  // Called for every progress message, on the calling thread.
  std::function<void(const v1::ImportProgress&)> on_progress;
};

class AdminConnection {
 public:
  virtual ~AdminConnection() = default;
  virtual Options options() const { return {}; }

  // Not retried: an import is all-or-nothing, and the server answers a concurrent one ABORTED.
  virtual StatusOr<v1::ImportResult> ImportOrganisation(const ImportRequest& request);
  virtual StatusOr<v1::CurrentUser> GetCurrentUser(const v1::GetCurrentUserRequest& request);
  virtual StatusOr<v1::Statistics> GetStatistics(const v1::GetStatisticsRequest& request);
  virtual StatusOr<v1::ListEvaluationsResponse> ListEvaluations(
      const v1::ListEvaluationsRequest& request);
  virtual StatusOr<v1::ListAccountabilityRecordsResponse> ListAccountabilityRecords(
      const v1::ListAccountabilityRecordsRequest& request);
  virtual StatusOr<v1::ComputeAccountabilityResponse> ComputeAccountability(
      const v1::ComputeAccountabilityRequest& request);
  virtual StatusOr<v1::AccountabilityRecord> DismissAccountabilityRecord(
      const v1::DismissAccountabilityRecordRequest& request);
  virtual StatusOr<v1::ResolveRouteResponse> ResolveRoute(const v1::ResolveRouteRequest& request);
  virtual StatusOr<v1::ListGridsResponse> ListGrids(const v1::ListGridsRequest& request);
  virtual StatusOr<v1::ListDepartmentsResponse> ListDepartments(
      const v1::ListDepartmentsRequest& request);
  virtual StatusOr<v1::ListCategoriesResponse> ListCategories(
      const v1::ListCategoriesRequest& request);
  virtual StatusOr<v1::ListUsersResponse> ListUsers(const v1::ListUsersRequest& request);
  virtual StatusOr<v1::IssueTokenResponse> IssueToken(const v1::IssueTokenRequest& request);
  virtual StatusOr<v1::ListTokensResponse> ListTokens(const v1::ListTokensRequest& request);
  virtual StatusOr<v1::TokenInfo> RevokeToken(const v1::RevokeTokenRequest& request);
  virtual StatusOr<v1::IssueTokenResponse> RotateToken(const v1::RotateTokenRequest& request);
  virtual StatusOr<v1::ListAuditLogResponse> ListAuditLog(const v1::ListAuditLogRequest& request);
};

std::shared_ptr<AdminConnection> MakeAdminConnection(Options options);

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_ADMIN_CONNECTION_H_
