// gMock AdminConnection. Stable. See mock_report_connection.h.
#ifndef GRIDLINE_CLIENT_MOCKS_MOCK_ADMIN_CONNECTION_H_
#define GRIDLINE_CLIENT_MOCKS_MOCK_ADMIN_CONNECTION_H_

#include <gmock/gmock.h>

#include "gridline/client/admin_connection.h"

namespace gridline::client {

class MockAdminConnection : public AdminConnection {
 public:
  MOCK_METHOD(Options, options, (), (const, override));
  MOCK_METHOD(StatusOr<v1::ImportResult>, ImportOrganisation, (const ImportRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::CurrentUser>, GetCurrentUser, (const v1::GetCurrentUserRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::Statistics>, GetStatistics, (const v1::GetStatisticsRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::ListEvaluationsResponse>, ListEvaluations,
              (const v1::ListEvaluationsRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListAccountabilityRecordsResponse>, ListAccountabilityRecords,
              (const v1::ListAccountabilityRecordsRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ComputeAccountabilityResponse>, ComputeAccountability,
              (const v1::ComputeAccountabilityRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::AccountabilityRecord>, DismissAccountabilityRecord,
              (const v1::DismissAccountabilityRecordRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ResolveRouteResponse>, ResolveRoute,
              (const v1::ResolveRouteRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListGridsResponse>, ListGrids, (const v1::ListGridsRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::ListDepartmentsResponse>, ListDepartments,
              (const v1::ListDepartmentsRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListCategoriesResponse>, ListCategories,
              (const v1::ListCategoriesRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListUsersResponse>, ListUsers, (const v1::ListUsersRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::IssueTokenResponse>, IssueToken, (const v1::IssueTokenRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::ListTokensResponse>, ListTokens, (const v1::ListTokensRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::TokenInfo>, RevokeToken, (const v1::RevokeTokenRequest& request),
              (override));
  MOCK_METHOD(StatusOr<v1::IssueTokenResponse>, RotateToken,
              (const v1::RotateTokenRequest& request), (override));
  MOCK_METHOD(StatusOr<v1::ListAuditLogResponse>, ListAuditLog,
              (const v1::ListAuditLogRequest& request), (override));
};

}  // namespace gridline::client

#endif  // GRIDLINE_CLIENT_MOCKS_MOCK_ADMIN_CONNECTION_H_
