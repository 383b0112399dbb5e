#include "server/api/report_service.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/api/convert.h"
#include "server/api/watch_stream.h"
#include "server/domain/errors.h"
#include "server/domain/organisation.h"
#include "server/service/org_import.h"
#include "server/service/streams.h"

namespace gridline::api {

grpc::ServerUnaryReactor* ReportServiceImpl::SubmitReport(grpc::CallbackServerContext* context,
                                                          const v1::SubmitReportRequest* request,
                                                          v1::SubmitReportResponse* response) {
  return RunUnary(context, deps_, "SubmitReport",
                  [this, request, response](const service::RequestContext& rc) {
                    auto input = FromProto(*request);
                    if (!input.ok()) return input.status();
                    auto outcome = deps_.cases->SubmitReport(rc, *input);
                    if (!outcome.ok()) return outcome.status();
                    return SubmitOutcomeToProto(deps_.store, *outcome, response);
                  });
}

grpc::ServerUnaryReactor* ReportServiceImpl::GetCase(grpc::CallbackServerContext* context,
                                                     const v1::GetCaseRequest* request,
                                                     v1::Case* response) {
  return RunUnary(context, deps_, "GetCase",
                  [this, request, response](const service::RequestContext& rc) {
                    auto feed = FeedCursorBeforeRead(deps_.store);
                    if (!feed.ok()) return feed.status();
                    auto c = deps_.cases->GetCase(rc, request->case_id());
                    if (!c.ok()) return c.status();
                    ToProto(*c, response);
                    response->set_feed_cursor(*feed);
                    return FillPhotos(deps_.store, {response});
                  });
}

grpc::ServerUnaryReactor* ReportServiceImpl::ListCaseEvents(
    grpc::CallbackServerContext* context, const v1::ListCaseEventsRequest* request,
    v1::ListCaseEventsResponse* response) {
  return RunUnary(context, deps_, "ListCaseEvents",
                  [this, request, response](const service::RequestContext& rc) {
                    int64_t after = 0;
                    if (!request->page_token().empty()) {
                      auto seq = DecodeCursor(request->page_token());
                      if (!seq)
                        return domain::InvalidField("page_token", "is not a token from this RPC");
                      after = *seq;
                    }
                    if (request->page_size() < 0)
                      return domain::InvalidField("page_size", "must not be negative");
                    int size =
                        request->page_size() == 0 ? 100 : std::min(request->page_size(), 500);
                    auto feed = FeedCursorBeforeRead(deps_.store);
                    if (!feed.ok()) return feed.status();
                    response->set_feed_cursor(*feed);
                    auto events = deps_.cases->ListCaseEvents(rc, request->case_id());
                    if (!events.ok()) return events.status();
                    for (const auto& e : *events) {
                      if (e.seq <= after) continue;
                      if (response->events_size() == size) {
                        // The token is the cursor of the last event on this page.
                        response->set_next_page_token(response->events().rbegin()->cursor());
                        break;
                      }
                      ToProto(e, response->add_events());
                    }
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* ReportServiceImpl::ListMyCases(grpc::CallbackServerContext* context,
                                                         const v1::ListMyCasesRequest* request,
                                                         v1::ListMyCasesResponse* response) {
  return RunUnary(
      context, deps_, "ListMyCases", [this, request, response](const service::RequestContext& rc) {
        std::vector<domain::CaseState> states;
        for (int s : request->states()) states.push_back(static_cast<domain::CaseState>(s));
        auto feed = FeedCursorBeforeRead(deps_.store);
        if (!feed.ok()) return feed.status();
        auto page =
            deps_.cases->ListMyCases(rc, states, {request->page_size(), request->page_token()});
        return CasePageReply(page, response, deps_.store, *feed);
      });
}

grpc::ServerUnaryReactor* ReportServiceImpl::VerifyCase(grpc::CallbackServerContext* context,
                                                        const v1::VerifyCaseRequest* request,
                                                        v1::Case* response) {
  return RunUnary(
      context, deps_, "VerifyCase", [this, request, response](const service::RequestContext& rc) {
        service::ActionInput in;
        in.case_id = request->case_id();
        in.note = request->note();
        in.expected_version = request->expected_version();
        in.attachment_ids.assign(request->attachment_ids().begin(),
                                 request->attachment_ids().end());
        return CaseReply(deps_.cases->VerifyCase(rc, in, request->passed(),
                                                 service::CaseService::VerifyDoor::kGridLeader),
                         response, deps_.store);
      });
}

grpc::ServerUnaryReactor* ReportServiceImpl::ListReportCategories(
    grpc::CallbackServerContext* context, const v1::ListReportCategoriesRequest* request,
    v1::ListReportCategoriesResponse* response) {
  return RunUnary(context, deps_, "ListReportCategories",
                  [this, request, response](const service::RequestContext& rc) {
                    auto page = deps_.cases->ListReportCategories(
                        rc, {request->page_size(), request->page_token()});
                    if (!page.ok()) return page.status();
                    for (const auto& k : page->items) ToProto(k, response->add_categories());
                    response->set_next_page_token(page->next_page_token);
                    return absl::OkStatus();
                  });
}

grpc::ServerWriteReactor<v1::WatchEvent>* ReportServiceImpl::WatchCases(
    grpc::CallbackServerContext* context, const v1::WatchCasesRequest* request) {
  return new WatchStream(context, deps_, request->after_cursor(), [](const domain::Caller& caller) {
    return service::CaseStreamFor(caller);
  });
}

grpc::ServerReadReactor<v1::UploadAttachmentRequest>* ReportServiceImpl::UploadAttachment(
    grpc::CallbackServerContext* context, v1::Attachment* response) {
  return StartUpload(context, deps_, response);
}

grpc::ServerWriteReactor<v1::DownloadAttachmentResponse>* ReportServiceImpl::DownloadAttachment(
    grpc::CallbackServerContext* context, const v1::DownloadAttachmentRequest* request) {
  return StartDownload(context, deps_, request);
}

}  // namespace gridline::api
