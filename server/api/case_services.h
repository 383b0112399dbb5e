// gridline.v1.DispatchService (acceptance center) and gridline.v1.DepartmentService (line
// departments): translate requests into service::CaseService calls that run on the worker pool.
#ifndef GRIDLINE_SERVER_API_CASE_SERVICES_H_
#define GRIDLINE_SERVER_API_CASE_SERVICES_H_

#include "gridline/v1/department_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "server/api/context.h"

namespace gridline::api {

class DispatchServiceImpl final : public v1::DispatchService::CallbackService {
 public:
  explicit DispatchServiceImpl(ServiceContext deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* ListTriageQueue(grpc::CallbackServerContext* context,
                                            const v1::ListTriageQueueRequest* request,
                                            v1::ListTriageQueueResponse* response) override;
  grpc::ServerUnaryReactor* ListCases(grpc::CallbackServerContext* context,
                                      const v1::ListCasesRequest* request,
                                      v1::ListCasesResponse* response) override;
  grpc::ServerUnaryReactor* RegisterCase(grpc::CallbackServerContext* context,
                                         const v1::RegisterCaseRequest* request,
                                         v1::SubmitReportResponse* response) override;
  grpc::ServerUnaryReactor* AcceptCase(grpc::CallbackServerContext* context,
                                       const v1::AcceptCaseRequest* request,
                                       v1::Case* response) override;
  grpc::ServerUnaryReactor* RejectCase(grpc::CallbackServerContext* context,
                                       const v1::RejectCaseRequest* request,
                                       v1::Case* response) override;
  grpc::ServerUnaryReactor* SuggestDuplicates(grpc::CallbackServerContext* context,
                                              const v1::SuggestDuplicatesRequest* request,
                                              v1::SuggestDuplicatesResponse* response) override;
  grpc::ServerUnaryReactor* MarkDuplicate(grpc::CallbackServerContext* context,
                                          const v1::MarkDuplicateRequest* request,
                                          v1::Case* response) override;
  grpc::ServerUnaryReactor* CorrectCategory(grpc::CallbackServerContext* context,
                                            const v1::CorrectCategoryRequest* request,
                                            v1::Case* response) override;
  grpc::ServerUnaryReactor* RouteCase(grpc::CallbackServerContext* context,
                                      const v1::RouteCaseRequest* request,
                                      v1::Case* response) override;
  grpc::ServerUnaryReactor* DecideExtension(grpc::CallbackServerContext* context,
                                            const v1::DecideExtensionRequest* request,
                                            v1::Case* response) override;
  grpc::ServerUnaryReactor* VerifyCase(grpc::CallbackServerContext* context,
                                       const v1::VerifyCaseRequest* request,
                                       v1::Case* response) override;
  grpc::ServerUnaryReactor* ListExtensionRequests(
      grpc::CallbackServerContext* context, const v1::ListExtensionRequestsRequest* request,
      v1::ListExtensionRequestsResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchEvent>* WatchQueue(
      grpc::CallbackServerContext* context, const v1::WatchQueueRequest* request) override;
  grpc::ServerUnaryReactor* IssueSupervisionOrder(grpc::CallbackServerContext* context,
                                                  const v1::IssueSupervisionOrderRequest* request,
                                                  v1::SupervisionOrder* response) override;
  grpc::ServerUnaryReactor* ListSupervisionOrders(
      grpc::CallbackServerContext* context, const v1::ListSupervisionOrdersRequest* request,
      v1::ListSupervisionOrdersResponse* response) override;

 private:
  ServiceContext deps_;
};

class DepartmentServiceImpl final : public v1::DepartmentService::CallbackService {
 public:
  explicit DepartmentServiceImpl(ServiceContext deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* ListAssignedCases(grpc::CallbackServerContext* context,
                                              const v1::ListAssignedCasesRequest* request,
                                              v1::ListAssignedCasesResponse* response) override;
  grpc::ServerUnaryReactor* AcceptAssignment(grpc::CallbackServerContext* context,
                                             const v1::AcceptAssignmentRequest* request,
                                             v1::Case* response) override;
  grpc::ServerUnaryReactor* ReturnCase(grpc::CallbackServerContext* context,
                                       const v1::ReturnCaseRequest* request,
                                       v1::Case* response) override;
  grpc::ServerUnaryReactor* RequestExtension(grpc::CallbackServerContext* context,
                                             const v1::RequestExtensionRequest* request,
                                             v1::ExtensionRequest* response) override;
  grpc::ServerUnaryReactor* AddProgress(grpc::CallbackServerContext* context,
                                        const v1::AddProgressRequest* request,
                                        v1::Case* response) override;
  grpc::ServerUnaryReactor* ResolveCase(grpc::CallbackServerContext* context,
                                        const v1::ResolveCaseRequest* request,
                                        v1::Case* response) override;
  grpc::ServerWriteReactor<v1::WatchEvent>* WatchAssignments(
      grpc::CallbackServerContext* context, const v1::WatchAssignmentsRequest* request) override;
  grpc::ServerUnaryReactor* AcknowledgeSupervisionOrder(
      grpc::CallbackServerContext* context, const v1::AcknowledgeSupervisionOrderRequest* request,
      v1::SupervisionOrder* response) override;
  grpc::ServerUnaryReactor* AnswerSupervisionOrder(grpc::CallbackServerContext* context,
                                                   const v1::AnswerSupervisionOrderRequest* request,
                                                   v1::SupervisionOrder* response) override;
  grpc::ServerUnaryReactor* ListSupervisionOrders(
      grpc::CallbackServerContext* context, const v1::ListSupervisionOrdersRequest* request,
      v1::ListSupervisionOrdersResponse* response) override;

 private:
  ServiceContext deps_;
};

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_CASE_SERVICES_H_
