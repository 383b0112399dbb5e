#include "server/api/case_services.h"

#include "absl/strings/str_cat.h"
#include "server/api/convert.h"
#include "server/api/report_service.h"
#include "server/api/watch_stream.h"
#include "server/domain/errors.h"
#include "server/service/streams.h"

namespace gridline::api {
namespace {

service::ActionInput Input(
    const std::string& case_id, const std::string& note, int64_t expected_version,
    const google::protobuf::RepeatedPtrField<std::string>* attachments = nullptr) {
  service::ActionInput in;
  in.case_id = case_id;
  in.note = note;
  in.expected_version = expected_version;
  if (attachments) in.attachment_ids.assign(attachments->begin(), attachments->end());
  return in;
}

std::vector<domain::CaseState> States(const google::protobuf::RepeatedField<int>& states) {
  std::vector<domain::CaseState> out;
  for (int s : states) out.push_back(static_cast<domain::CaseState>(s));
  return out;
}

}  // namespace

// ---- DispatchService ----------------------------------------------------------------------------

grpc::ServerUnaryReactor* DispatchServiceImpl::ListTriageQueue(
    grpc::CallbackServerContext* context, const v1::ListTriageQueueRequest* request,
    v1::ListTriageQueueResponse* response) {
  return RunUnary(context, deps_, "ListTriageQueue",
                  [this, request, response](const service::RequestContext& rc) {
                    auto feed = FeedCursorBeforeRead(deps_.store);
                    if (!feed.ok()) return feed.status();
                    response->set_feed_cursor(*feed);
                    auto page = deps_.cases->ListTriageQueue(
                        rc, States(request->states()),
                        {request->category_codes().begin(), request->category_codes().end()},
                        request->grid_code(), {request->page_size(), request->page_token()});
                    if (!page.ok()) return page.status();
                    for (const auto& c : page->items) {
                      auto* item = response->add_items();
                      ToProto(c, item->mutable_case_());
                      SetTimestamp(c.state_time, item->mutable_queue_time());
                      item->set_returned_by_department_code(c.returned_by_department_code);
                      item->set_return_reason(c.return_reason);
                    }
                    std::vector<v1::Case*> cases;
                    for (auto& item : *response->mutable_items())
                      cases.push_back(item.mutable_case_());
                    if (auto s = FillPhotos(deps_.store, cases); !s.ok()) return s;
                    response->set_next_page_token(page->next_page_token);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* DispatchServiceImpl::RegisterCase(grpc::CallbackServerContext* context,
                                                            const v1::RegisterCaseRequest* request,
                                                            v1::SubmitReportResponse* response) {
  return RunUnary(context, deps_, "RegisterCase",
                  [this, request, response](const service::RequestContext& rc) {
                    auto input = FromProto(request->report());
                    if (!input.ok()) return input.status();
                    auto outcome = deps_.cases->RegisterCase(
                        rc, *input, static_cast<domain::CaseSource>(request->source()));
                    if (!outcome.ok()) return outcome.status();
                    return SubmitOutcomeToProto(deps_.store, *outcome, response);
                  });
}

grpc::ServerUnaryReactor* DispatchServiceImpl::ListCases(grpc::CallbackServerContext* context,
                                                         const v1::ListCasesRequest* request,
                                                         v1::ListCasesResponse* response) {
  return RunUnary(
      context, deps_, "ListCases", [this, request, response](const service::RequestContext& rc) {
        service::CaseListFilter filter;
        filter.states = States(request->states());
        filter.category_codes.assign(request->category_codes().begin(),
                                     request->category_codes().end());
        filter.grid_code = request->grid_code();
        filter.lead_department_code = request->lead_department_code();
        if (auto s = ReadTime(request->has_observe_start_time(), request->observe_start_time(),
                              "observe_start_time", &filter.observe_start_time);
            !s.ok()) {
          return s;
        }
        if (auto s = ReadTime(request->has_observe_end_time(), request->observe_end_time(),
                              "observe_end_time", &filter.observe_end_time);
            !s.ok()) {
          return s;
        }
        auto feed = FeedCursorBeforeRead(deps_.store);
        if (!feed.ok()) return feed.status();
        auto page =
            deps_.cases->ListCases(rc, filter, {request->page_size(), request->page_token()});
        return CasePageReply(page, response, deps_.store, *feed);
      });
}

grpc::ServerUnaryReactor* DispatchServiceImpl::AcceptCase(grpc::CallbackServerContext* context,
                                                          const v1::AcceptCaseRequest* request,
                                                          v1::Case* response) {
  return RunUnary(
      context, deps_, "AcceptCase", [this, request, response](const service::RequestContext& rc) {
        return CaseReply(
            deps_.cases->AcceptCase(
                rc, Input(request->case_id(), request->note(), request->expected_version()),
                request->urgency()),
            response, deps_.store);
      });
}

grpc::ServerUnaryReactor* DispatchServiceImpl::RejectCase(grpc::CallbackServerContext* context,
                                                          const v1::RejectCaseRequest* request,
                                                          v1::Case* response) {
  return RunUnary(
      context, deps_, "RejectCase", [this, request, response](const service::RequestContext& rc) {
        return CaseReply(deps_.cases->RejectCase(rc, Input(request->case_id(), request->reason(),
                                                           request->expected_version())),
                         response, deps_.store);
      });
}

grpc::ServerUnaryReactor* DispatchServiceImpl::SuggestDuplicates(
    grpc::CallbackServerContext* context, const v1::SuggestDuplicatesRequest* request,
    v1::SuggestDuplicatesResponse* response) {
  return RunUnary(context, deps_, "SuggestDuplicates",
                  [this, request, response](const service::RequestContext& rc) {
                    domain::Micros window = 0;
                    if (request->has_time_window()) {
                      auto w = DurationMicros(request->time_window(), "time_window");
                      if (!w.ok()) return w.status();
                      window = *w;
                      if (window <= 0)
                        return domain::InvalidField("time_window", "must be positive");
                    }
                    auto found = deps_.cases->SuggestDuplicates(rc, request->case_id(),
                                                                request->radius_metres(), window,
                                                                request->max_results());
                    if (!found.ok()) return found.status();
                    for (const auto& d : *found) {
                      auto* out = response->add_candidates();
                      ToProto(d.c, out->mutable_case_());
                      if (d.distance_metres) out->set_distance_metres(*d.distance_metres);
                      SetDuration(d.observe_time_offset, out->mutable_observe_time_offset());
                    }
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* DispatchServiceImpl::MarkDuplicate(
    grpc::CallbackServerContext* context, const v1::MarkDuplicateRequest* request,
    v1::Case* response) {
  return RunUnary(
      context, deps_, "MarkDuplicate",
      [this, request, response](const service::RequestContext& rc) {
        return CaseReply(
            deps_.cases->MarkDuplicate(
                rc, Input(request->case_id(), request->note(), request->expected_version()),
                request->duplicate_of_case_id()),
            response, deps_.store);
      });
}

grpc::ServerUnaryReactor* DispatchServiceImpl::CorrectCategory(
    grpc::CallbackServerContext* context, const v1::CorrectCategoryRequest* request,
    v1::Case* response) {
  return RunUnary(
      context, deps_, "CorrectCategory",
      [this, request, response](const service::RequestContext& rc) {
        return CaseReply(
            deps_.cases->CorrectCategory(
                rc, Input(request->case_id(), request->note(), request->expected_version()),
                request->category_code()),
            response, deps_.store);
      });
}

grpc::ServerUnaryReactor* DispatchServiceImpl::RouteCase(grpc::CallbackServerContext* context,
                                                         const v1::RouteCaseRequest* request,
                                                         v1::Case* response) {
  return RunUnary(
      context, deps_, "RouteCase", [this, request, response](const service::RequestContext& rc) {
        return CaseReply(
            deps_.cases->RouteCase(
                rc, Input(request->case_id(), request->note(), request->expected_version()),
                request->lead_department_code(),
                {request->assisting_department_codes().begin(),
                 request->assisting_department_codes().end()}),
            response, deps_.store);
      });
}

grpc::ServerUnaryReactor* DispatchServiceImpl::DecideExtension(
    grpc::CallbackServerContext* context, const v1::DecideExtensionRequest* request,
    v1::Case* response) {
  return RunUnary(context, deps_, "DecideExtension",
                  [this, request, response](const service::RequestContext& rc) {
                    domain::Micros approved = 0;
                    if (auto s = ReadTime(request->has_approved_deadline_time(),
                                          request->approved_deadline_time(),
                                          "approved_deadline_time", &approved);
                        !s.ok()) {
                      return s;
                    }
                    return CaseReply(deps_.cases->DecideExtension(
                                         rc, request->extension_request_id(), request->approve(),
                                         request->note(), approved, request->expected_version()),
                                     response, deps_.store);
                  });
}

grpc::ServerUnaryReactor* DispatchServiceImpl::VerifyCase(grpc::CallbackServerContext* context,
                                                          const v1::VerifyCaseRequest* request,
                                                          v1::Case* response) {
  return RunUnary(
      context, deps_, "VerifyCase", [this, request, response](const service::RequestContext& rc) {
        return CaseReply(
            deps_.cases->VerifyCase(rc,
                                    Input(request->case_id(), request->note(),
                                          request->expected_version(), &request->attachment_ids()),
                                    request->passed(), service::CaseService::VerifyDoor::kCenter),
            response, deps_.store);
      });
}

grpc::ServerUnaryReactor* DispatchServiceImpl::ListExtensionRequests(
    grpc::CallbackServerContext* context, const v1::ListExtensionRequestsRequest* request,
    v1::ListExtensionRequestsResponse* response) {
  return RunUnary(context, deps_, "ListExtensionRequests",
                  [this, request, response](const service::RequestContext& rc) {
                    std::vector<domain::ExtensionState> states;
                    for (int s : request->states())
                      states.push_back(static_cast<domain::ExtensionState>(s));
                    auto feed = FeedCursorBeforeRead(deps_.store);
                    if (!feed.ok()) return feed.status();
                    response->set_feed_cursor(*feed);
                    auto page = deps_.cases->ListExtensionRequests(
                        rc, states, request->case_id(),
                        {request->page_size(), request->page_token()});
                    if (!page.ok()) return page.status();
                    for (const auto& x : page->items)
                      ToProto(x, response->add_extension_requests());
                    response->set_next_page_token(page->next_page_token);
                    return absl::OkStatus();
                  });
}

grpc::ServerWriteReactor<v1::WatchEvent>* DispatchServiceImpl::WatchQueue(
    grpc::CallbackServerContext* context, const v1::WatchQueueRequest* request) {
  return new WatchStream(
      context, deps_, request->after_cursor(),
      [store = deps_.store, narrow = request->grid_code()](const domain::Caller& caller) {
        return service::QueueStreamFor(store, caller, narrow);
      });
}

grpc::ServerWriteReactor<v1::WatchEvent>* DepartmentServiceImpl::WatchAssignments(
    grpc::CallbackServerContext* context, const v1::WatchAssignmentsRequest* request) {
  return new WatchStream(context, deps_, request->after_cursor(),
                         [assisting = request->include_assisting()](const domain::Caller& caller) {
                           return service::AssignmentStreamFor(caller, assisting);
                         });
}

// ---- DepartmentService --------------------------------------------------------------------------

grpc::ServerUnaryReactor* DepartmentServiceImpl::ListAssignedCases(
    grpc::CallbackServerContext* context, const v1::ListAssignedCasesRequest* request,
    v1::ListAssignedCasesResponse* response) {
  return RunUnary(context, deps_, "ListAssignedCases",
                  [this, request, response](const service::RequestContext& rc) {
                    auto feed = FeedCursorBeforeRead(deps_.store);
                    if (!feed.ok()) return feed.status();
                    auto page = deps_.cases->ListAssignedCases(
                        rc, States(request->states()), request->include_assisting(),
                        {request->page_size(), request->page_token()});
                    return CasePageReply(page, response, deps_.store, *feed);
                  });
}

grpc::ServerUnaryReactor* DepartmentServiceImpl::AcceptAssignment(
    grpc::CallbackServerContext* context, const v1::AcceptAssignmentRequest* request,
    v1::Case* response) {
  return RunUnary(context, deps_, "AcceptAssignment",
                  [this, request, response](const service::RequestContext& rc) {
                    return CaseReply(
                        deps_.cases->AcceptAssignment(rc, Input(request->case_id(), request->note(),
                                                                request->expected_version())),
                        response, deps_.store);
                  });
}

grpc::ServerUnaryReactor* DepartmentServiceImpl::ReturnCase(grpc::CallbackServerContext* context,
                                                            const v1::ReturnCaseRequest* request,
                                                            v1::Case* response) {
  return RunUnary(
      context, deps_, "ReturnCase", [this, request, response](const service::RequestContext& rc) {
        return CaseReply(deps_.cases->ReturnCase(rc, Input(request->case_id(), request->reason(),
                                                           request->expected_version())),
                         response, deps_.store);
      });
}

grpc::ServerUnaryReactor* DepartmentServiceImpl::RequestExtension(
    grpc::CallbackServerContext* context, const v1::RequestExtensionRequest* request,
    v1::ExtensionRequest* response) {
  return RunUnary(context, deps_, "RequestExtension",
                  [this, request, response](const service::RequestContext& rc) {
                    domain::Micros requested = 0;
                    if (auto s = ReadTime(request->has_requested_deadline_time(),
                                          request->requested_deadline_time(),
                                          "requested_deadline_time", &requested);
                        !s.ok()) {
                      return s;
                    }
                    service::CaseChange change;
                    auto x = deps_.cases->RequestExtension(
                        rc,
                        Input(request->case_id(), request->reason(), request->expected_version()),
                        requested, &change);
                    if (!x.ok()) return x.status();
                    ToProto(*x, response);
                    return absl::OkStatus();
                  });
}

grpc::ServerUnaryReactor* DepartmentServiceImpl::AddProgress(grpc::CallbackServerContext* context,
                                                             const v1::AddProgressRequest* request,
                                                             v1::Case* response) {
  return RunUnary(
      context, deps_, "AddProgress", [this, request, response](const service::RequestContext& rc) {
        return CaseReply(deps_.cases->AddProgress(
                             rc, Input(request->case_id(), request->note(),
                                       request->expected_version(), &request->attachment_ids())),
                         response, deps_.store);
      });
}

grpc::ServerUnaryReactor* DepartmentServiceImpl::ResolveCase(grpc::CallbackServerContext* context,
                                                             const v1::ResolveCaseRequest* request,
                                                             v1::Case* response) {
  return RunUnary(
      context, deps_, "ResolveCase", [this, request, response](const service::RequestContext& rc) {
        return CaseReply(deps_.cases->ResolveCase(
                             rc, Input(request->case_id(), request->result(),
                                       request->expected_version(), &request->attachment_ids())),
                         response, deps_.store);
      });
}

// ---- Supervision (督办) ----------------------------------------------------------------------

grpc::ServerUnaryReactor* DispatchServiceImpl::IssueSupervisionOrder(
    grpc::CallbackServerContext* context, const v1::IssueSupervisionOrderRequest* request,
    v1::SupervisionOrder* response) {
  return RunUnary(context, deps_, "IssueSupervisionOrder",
                  [this, request, response](const service::RequestContext& rc) {
                    service::SupervisionInput in;
                    in.case_id = request->case_id();
                    in.request_id = request->request_id();
                    in.reason = request->reason();
                    in.expected_version = request->expected_version();
                    if (!request->has_respond_by_time()) {
                      return domain::InvalidField("respond_by_time", "is required");
                    }
                    auto t = TimestampMicros(request->respond_by_time(), "respond_by_time");
                    if (!t.ok()) return t.status();
                    in.respond_by_time = *t;
                    return SupervisionReply(deps_.cases->IssueSupervisionOrder(rc, in), response);
                  });
}

grpc::ServerUnaryReactor* DispatchServiceImpl::ListSupervisionOrders(
    grpc::CallbackServerContext* context, const v1::ListSupervisionOrdersRequest* request,
    v1::ListSupervisionOrdersResponse* response) {
  return RunUnary(context, deps_, "ListSupervisionOrders",
                  [this, request, response](const service::RequestContext& rc) {
                    return ListSupervision(deps_.cases, rc, *request, response);
                  });
}

grpc::ServerUnaryReactor* DepartmentServiceImpl::AcknowledgeSupervisionOrder(
    grpc::CallbackServerContext* context, const v1::AcknowledgeSupervisionOrderRequest* request,
    v1::SupervisionOrder* response) {
  return RunUnary(context, deps_, "AcknowledgeSupervisionOrder",
                  [this, request, response](const service::RequestContext& rc) {
                    return SupervisionReply(
                        deps_.cases->AcknowledgeSupervisionOrder(rc, request->order_id(),
                                                                 request->expected_version()),
                        response);
                  });
}

grpc::ServerUnaryReactor* DepartmentServiceImpl::AnswerSupervisionOrder(
    grpc::CallbackServerContext* context, const v1::AnswerSupervisionOrderRequest* request,
    v1::SupervisionOrder* response) {
  return RunUnary(context, deps_, "AnswerSupervisionOrder",
                  [this, request, response](const service::RequestContext& rc) {
                    return SupervisionReply(
                        deps_.cases->AnswerSupervisionOrder(
                            rc, request->order_id(), request->note(), request->expected_version()),
                        response);
                  });
}

grpc::ServerUnaryReactor* DepartmentServiceImpl::ListSupervisionOrders(
    grpc::CallbackServerContext* context, const v1::ListSupervisionOrdersRequest* request,
    v1::ListSupervisionOrdersResponse* response) {
  return RunUnary(context, deps_, "ListSupervisionOrders",
                  [this, request, response](const service::RequestContext& rc) {
                    return ListSupervision(deps_.cases, rc, *request, response);
                  });
}

}  // namespace gridline::api
