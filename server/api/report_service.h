#ifndef GRIDLINE_SERVER_API_REPORT_SERVICE_H_
#define GRIDLINE_SERVER_API_REPORT_SERVICE_H_

#include "gridline/v1/report_service.grpc.pb.h"
#include "server/api/attachment_rpcs.h"
#include "server/api/context.h"
#include "server/api/pool_reactor.h"
#include "server/service/request_context.h"

namespace gridline::api {

// gridline.v1.ReportService: translates and hands the work to the worker pool. RPCs not
// overridden here answer UNIMPLEMENTED (they land with the case lifecycle).
class ReportServiceImpl final : public v1::ReportService::CallbackService {
 public:
  explicit ReportServiceImpl(ServiceContext deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* SubmitReport(grpc::CallbackServerContext* context,
                                         const v1::SubmitReportRequest* request,
                                         v1::SubmitReportResponse* response) override;
  grpc::ServerUnaryReactor* GetCase(grpc::CallbackServerContext* context,
                                    const v1::GetCaseRequest* request, v1::Case* response) override;
  grpc::ServerUnaryReactor* ListCaseEvents(grpc::CallbackServerContext* context,
                                           const v1::ListCaseEventsRequest* request,
                                           v1::ListCaseEventsResponse* response) override;
  grpc::ServerUnaryReactor* ListMyCases(grpc::CallbackServerContext* context,
                                        const v1::ListMyCasesRequest* request,
                                        v1::ListMyCasesResponse* response) override;
  grpc::ServerUnaryReactor* VerifyCase(grpc::CallbackServerContext* context,
                                       const v1::VerifyCaseRequest* request,
                                       v1::Case* response) override;
  grpc::ServerUnaryReactor* ListReportCategories(
      grpc::CallbackServerContext* context, const v1::ListReportCategoriesRequest* request,
      v1::ListReportCategoriesResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchEvent>* WatchCases(
      grpc::CallbackServerContext* context, const v1::WatchCasesRequest* request) override;
  grpc::ServerReadReactor<v1::UploadAttachmentRequest>* UploadAttachment(
      grpc::CallbackServerContext* context, v1::Attachment* response) override;
  grpc::ServerWriteReactor<v1::DownloadAttachmentResponse>* DownloadAttachment(
      grpc::CallbackServerContext* context, const v1::DownloadAttachmentRequest* request) override;

 private:
  ServiceContext deps_;
};

}  // namespace gridline::api

#endif  // GRIDLINE_SERVER_API_REPORT_SERVICE_H_
