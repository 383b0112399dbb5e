#ifndef GRIDLINE_SERVER_API_ADMIN_SERVICE_H_
#define GRIDLINE_SERVER_API_ADMIN_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "gridline/v1/admin_service.grpc.pb.h"
#include "server/api/context.h"
#include "server/service/admin_service.h"
#include "server/service/operator_calls.h"

namespace gridline::api {

// gridline.v1.AdminService for operators: authenticates, checks the OPERATOR role, translates,
// runs the use case on the worker pool, and records every write call (successful or not) in the
// audit log, and the evaluation figures (GetStatistics, ListEvaluations).
class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  explicit AdminServiceImpl(ServiceContext deps)
      : deps_(deps),
        admin_(deps.store, deps.store, deps.store, deps.clock, deps.token_policy),
        calls_(service::MakeOperatorCalls(deps.store, deps.clock)) {}

  grpc::ServerUnaryReactor* CreateGrid(grpc::CallbackServerContext* context,
                                       const v1::CreateGridRequest* request,
                                       v1::Grid* response) override;
  grpc::ServerUnaryReactor* GetGrid(grpc::CallbackServerContext* context,
                                    const v1::GetGridRequest* request, v1::Grid* response) override;
  grpc::ServerUnaryReactor* ListGrids(grpc::CallbackServerContext* context,
                                      const v1::ListGridsRequest* request,
                                      v1::ListGridsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateGrid(grpc::CallbackServerContext* context,
                                       const v1::UpdateGridRequest* request,
                                       v1::Grid* response) override;
  grpc::ServerUnaryReactor* DeleteGrid(grpc::CallbackServerContext* context,
                                       const v1::DeleteGridRequest* request,
                                       google::protobuf::Empty* response) override;

  grpc::ServerUnaryReactor* CreateDepartment(grpc::CallbackServerContext* context,
                                             const v1::CreateDepartmentRequest* request,
                                             v1::Department* response) override;
  grpc::ServerUnaryReactor* GetDepartment(grpc::CallbackServerContext* context,
                                          const v1::GetDepartmentRequest* request,
                                          v1::Department* response) override;
  grpc::ServerUnaryReactor* ListDepartments(grpc::CallbackServerContext* context,
                                            const v1::ListDepartmentsRequest* request,
                                            v1::ListDepartmentsResponse* response) override;
  grpc::ServerUnaryReactor* UpdateDepartment(grpc::CallbackServerContext* context,
                                             const v1::UpdateDepartmentRequest* request,
                                             v1::Department* response) override;
  grpc::ServerUnaryReactor* DeleteDepartment(grpc::CallbackServerContext* context,
                                             const v1::DeleteDepartmentRequest* request,
                                             google::protobuf::Empty* response) override;

  grpc::ServerUnaryReactor* CreateCategory(grpc::CallbackServerContext* context,
                                           const v1::CreateCategoryRequest* request,
                                           v1::Category* response) override;
  grpc::ServerUnaryReactor* GetCategory(grpc::CallbackServerContext* context,
                                        const v1::GetCategoryRequest* request,
                                        v1::Category* response) override;
  grpc::ServerUnaryReactor* ListCategories(grpc::CallbackServerContext* context,
                                           const v1::ListCategoriesRequest* request,
                                           v1::ListCategoriesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateCategory(grpc::CallbackServerContext* context,
                                           const v1::UpdateCategoryRequest* request,
                                           v1::Category* response) override;
  grpc::ServerUnaryReactor* DeleteCategory(grpc::CallbackServerContext* context,
                                           const v1::DeleteCategoryRequest* request,
                                           google::protobuf::Empty* response) override;

  grpc::ServerUnaryReactor* CreateRoutingRule(grpc::CallbackServerContext* context,
                                              const v1::CreateRoutingRuleRequest* request,
                                              v1::RoutingRule* response) override;
  grpc::ServerUnaryReactor* ListRoutingRules(grpc::CallbackServerContext* context,
                                             const v1::ListRoutingRulesRequest* request,
                                             v1::ListRoutingRulesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateRoutingRule(grpc::CallbackServerContext* context,
                                              const v1::UpdateRoutingRuleRequest* request,
                                              v1::RoutingRule* response) override;
  grpc::ServerUnaryReactor* DeleteRoutingRule(grpc::CallbackServerContext* context,
                                              const v1::DeleteRoutingRuleRequest* request,
                                              google::protobuf::Empty* response) override;
  grpc::ServerUnaryReactor* ResolveRoute(grpc::CallbackServerContext* context,
                                         const v1::ResolveRouteRequest* request,
                                         v1::ResolveRouteResponse* response) override;

  grpc::ServerBidiReactor<v1::ImportOrganisationRequest, v1::ImportOrganisationResponse>*
  ImportOrganisation(grpc::CallbackServerContext* context) override;

  grpc::ServerUnaryReactor* CreateUser(grpc::CallbackServerContext* context,
                                       const v1::CreateUserRequest* request,
                                       v1::User* response) override;
  grpc::ServerUnaryReactor* GetUser(grpc::CallbackServerContext* context,
                                    const v1::GetUserRequest* request, v1::User* response) override;
  grpc::ServerUnaryReactor* ListUsers(grpc::CallbackServerContext* context,
                                      const v1::ListUsersRequest* request,
                                      v1::ListUsersResponse* response) override;
  grpc::ServerUnaryReactor* UpdateUser(grpc::CallbackServerContext* context,
                                       const v1::UpdateUserRequest* request,
                                       v1::User* response) override;
  grpc::ServerUnaryReactor* DisableUser(grpc::CallbackServerContext* context,
                                        const v1::DisableUserRequest* request,
                                        v1::User* response) override;

  grpc::ServerUnaryReactor* IssueToken(grpc::CallbackServerContext* context,
                                       const v1::IssueTokenRequest* request,
                                       v1::IssueTokenResponse* response) override;
  grpc::ServerUnaryReactor* ListTokens(grpc::CallbackServerContext* context,
                                       const v1::ListTokensRequest* request,
                                       v1::ListTokensResponse* response) override;
  grpc::ServerUnaryReactor* RevokeToken(grpc::CallbackServerContext* context,
                                        const v1::RevokeTokenRequest* request,
                                        v1::TokenInfo* response) override;
  grpc::ServerUnaryReactor* RotateToken(grpc::CallbackServerContext* context,
                                        const v1::RotateTokenRequest* request,
                                        v1::IssueTokenResponse* response) override;

  grpc::ServerUnaryReactor* ListAuditLog(grpc::CallbackServerContext* context,
                                         const v1::ListAuditLogRequest* request,
                                         v1::ListAuditLogResponse* response) override;

  // Records one write call (service::RecordOperatorCall), for the streaming import, which
  // cannot use Run.
  void Audit(const domain::Caller& caller, const char* method, const std::string& kind,
             const std::string& id, const absl::Status& status, std::string summary,
             const std::string& peer);

 private:
  // Where a write's audit entry points; the work may fill in an id the server assigned.
  struct Target {
    std::string kind;
    std::string id;
  };
  using Work = std::function<absl::Status(const domain::Caller& caller, std::string* id)>;

 public:
  grpc::ServerUnaryReactor* GetCurrentUser(grpc::CallbackServerContext* context,
                                           const v1::GetCurrentUserRequest* request,
                                           v1::CurrentUser* response) override;
  grpc::ServerUnaryReactor* GetStatistics(grpc::CallbackServerContext* context,
                                          const v1::GetStatisticsRequest* request,
                                          v1::Statistics* response) override;
  grpc::ServerUnaryReactor* ListEvaluations(grpc::CallbackServerContext* context,
                                            const v1::ListEvaluationsRequest* request,
                                            v1::ListEvaluationsResponse* response) override;
  grpc::ServerUnaryReactor* ListAccountabilityRecords(
      grpc::CallbackServerContext* context, const v1::ListAccountabilityRecordsRequest* request,
      v1::ListAccountabilityRecordsResponse* response) override;
  grpc::ServerUnaryReactor* ComputeAccountability(
      grpc::CallbackServerContext* context, const v1::ComputeAccountabilityRequest* request,
      v1::ComputeAccountabilityResponse* response) override;
  grpc::ServerUnaryReactor* DismissAccountabilityRecord(
      grpc::CallbackServerContext* context, const v1::DismissAccountabilityRecordRequest* request,
      v1::AccountabilityRecord* response) override;

 private:
  // Authenticates, requires OPERATOR (or the given audience) and runs `work` on the worker pool.
  // With `audited` set, records the call with its text-format summary afterwards (the request and
  // response stay alive until Finish).
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, const char* method,
                                const google::protobuf::Message* audited, Target target, Work work,
                                service::Audience audience = service::Audience::kOperators);
  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* context, const char* method,
                                 std::function<absl::Status(const domain::Caller&)> work,
                                 service::Audience audience = service::Audience::kOperators);
  // Read, for calls whose service takes the whole request context (the figures).
  grpc::ServerUnaryReactor* ReadAs(
      grpc::CallbackServerContext* context, const char* method, service::Audience audience,
      std::function<absl::Status(const service::RequestContext&)> work);

  ServiceContext deps_;
  service::AdminService admin_;
  // The operator check and the audit log around every call (service/operator_calls.h).
  std::unique_ptr<service::OperatorCalls> calls_;
};

// Protobuf text format on one line, for the audit log; long summaries are cut.
std::string AuditSummary(const google::protobuf::Message& message);

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_ADMIN_SERVICE_H_
