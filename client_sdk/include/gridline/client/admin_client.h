// AdminClient: what an operator's tools call (gridctl is built on it). Stable.
#ifndef GRIDLINE_CLIENT_ADMIN_CLIENT_H_
#define GRIDLINE_CLIENT_ADMIN_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "gridline/client/admin_connection.h"
#include "gridline/client/status.h"

namespace gridline::client {

class AdminClient {
 public:
  explicit AdminClient(std::shared_ptr<AdminConnection> connection)
      : connection_(std::move(connection)) {}

  // Loads an organisation in one all-or-nothing transaction, sending it in parts of at most
  // `entries_per_part` entries and reporting the server's progress. Problems with the content are
  // in the result's `violations` (then nothing was written), not in the status.
  StatusOr<v1::ImportResult> ImportOrganisation(
      const v1::Organisation& organisation, bool dry_run = false,
      std::function<void(const v1::ImportProgress&)> on_progress = {}, int entries_per_part = 1000);
  // Reads an organisation file in protobuf text format (deploy/demo/organisation.textproto).
  static StatusOr<v1::Organisation> ReadOrganisationFile(const std::string& path);

  // Who the token belongs to (any role may ask).
  StatusOr<v1::CurrentUser> GetCurrentUser();
  StatusOr<v1::Statistics> GetStatistics(const v1::GetStatisticsRequest& request);
  StatusOr<v1::ListEvaluationsResponse> ListEvaluations(const v1::ListEvaluationsRequest& request);
  // 三责: a month's records in the caller's scope; computing a month again and dismissing a
  // record (operators).
  StatusOr<v1::ListAccountabilityRecordsResponse> ListAccountabilityRecords(
      const v1::ListAccountabilityRecordsRequest& request);
  StatusOr<v1::ComputeAccountabilityResponse> ComputeAccountability(int year, int month);
  StatusOr<v1::AccountabilityRecord> DismissAccountabilityRecord(
      const v1::DismissAccountabilityRecordRequest& request);
  StatusOr<v1::ResolveRouteResponse> ResolveRoute(const v1::ResolveRouteRequest& request);
  StatusOr<v1::ListGridsResponse> ListGrids(const v1::ListGridsRequest& request);
  StatusOr<v1::ListDepartmentsResponse> ListDepartments(const v1::ListDepartmentsRequest& request);
  StatusOr<v1::ListCategoriesResponse> ListCategories(const v1::ListCategoriesRequest& request);
  StatusOr<v1::ListUsersResponse> ListUsers(const v1::ListUsersRequest& request);
  StatusOr<v1::IssueTokenResponse> IssueToken(const v1::IssueTokenRequest& request);
  StatusOr<v1::ListTokensResponse> ListTokens(const v1::ListTokensRequest& request);
  StatusOr<v1::TokenInfo> RevokeToken(const v1::RevokeTokenRequest& request);
  // A new token replacing `token_id`; the old one keeps working for the grace period.
  StatusOr<v1::IssueTokenResponse> RotateToken(const v1::RotateTokenRequest& request);
  StatusOr<v1::ListAuditLogResponse> ListAuditLog(const v1::ListAuditLogRequest& request);

  std::shared_ptr<AdminConnection> connection() const { return connection_; }

 private:
  std::shared_ptr<AdminConnection> connection_;
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_ADMIN_CLIENT_H_
