#include "server/api/admin_service.h"

#include <google/protobuf/text_format.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/api/admin_convert.h"
#include "server/api/convert.h"
#include "server/api/forwarded.h"
#include "server/api/pool_reactor.h"
#include "server/domain/errors.h"
#include "server/domain/organisation.h"
#include "server/service/evaluations.h"
#include "server/service/org_import.h"
#include "server/service/paging.h"
#include "server/service/statistics.h"
#include "server/util/sha256.h"
#include "server/util/text.h"

namespace gridline::api {
namespace {

constexpr size_t kMaxSummaryBytes = 4000;
// An import holding more entries than this gets RESOURCE_EXHAUSTED.
constexpr int64_t kMaxImportEntries = 200000;

#define GRIDLINE_ADMIN_METHOD(name) "/gridline.v1.AdminService/" #name

service::PageRequest PageOf(int page_size, const std::string& page_token) {
  return {page_size, page_token};
}

// Where the next page of the audit log starts (service::MakeAuditToken).
std::string EncodeAuditToken(const domain::AuditEntry& last) {
  return service::MakeAuditToken(last.event_time, last.audit_entry_id);
}

bool DecodeAuditToken(const std::string& token, store::AuditQuery* query) {
  if (!service::ParseAuditToken(token, &query->after_time, &query->after_id)) return false;
  query->has_after = true;
  return true;
}

int64_t EntriesIn(const v1::Organisation& part) {
  return part.grids_size() + part.departments_size() + part.categories_size() +
         part.routing_rules_size() + part.users_size();
}

template <typename T>
void Append(std::vector<T>* to, std::vector<T>* from) {
  to->insert(to->end(), std::make_move_iterator(from->begin()),
             std::make_move_iterator(from->end()));
}

// ImportOrganisation: a bidirectional stream in the callback API. Reactions only move messages
// and flags; authentication, conversion, validation and the write run on the worker pool, one
// task after the other: the next read starts only when a task is done with the message. Progress
// messages queue behind the one write in flight.
class ImportReactor final
    : public PoolReactor<
          grpc::ServerBidiReactor<v1::ImportOrganisationRequest, v1::ImportOrganisationResponse>> {
 public:
  ImportReactor(grpc::CallbackServerContext* context, const ServiceContext& deps,
                AdminServiceImpl* service)
      : PoolReactor(deps.pool),
        context_(context),
        deps_(deps),
        service_(service),
        call_(CredentialsOf(context)),
        peer_(PeerOf(context)) {
    SubmitTask([this] { Authorize(); });
  }

 private:
  void OnReadLocked(bool ok) override {
    if (ok) {
      SubmitLocked([this] { TakeMessage(); });
    } else {
      SubmitLocked([this] { Complete(); });  // the client half-closed (or went away)
    }
  }

  // Writes out the queue, also after the final status is set, unless the client is gone.
  const v1::ImportOrganisationResponse* NextWriteLocked() override {
    if (queue_.empty() || ClientGone()) return nullptr;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    return &current_;
  }

  // A call that ends with nobody having recorded it (cancelled, or the client went away) is
  // recorded by one last task.
  bool BeforeFinishLocked() override {
    if (audited_) return false;
    return SubmitLocked([this] {
      Audit(absl::CancelledError("the client cancelled the import; nothing was written"));
    });
  }

  // ---- worker-pool tasks

  void Authorize() {
    auto caller = deps_.guard->Admit(call_, service::CallKind::kStream, deps_.clock->NowMicros());
    absl::Status status = caller.ok() ? service::RequireOperator(*caller) : caller.status();
    if (caller.ok()) {
      caller_ = *caller;
      deps_.NoteCaller(context_, *caller);
    }
    if (!status.ok()) {
      Fail(status);
    } else {
      ReadNext();
    }
  }

  void TakeMessage() {
    absl::Status status = Take();
    if (!status.ok()) {
      Fail(status);
    } else {
      ReadNext();
    }
  }

  void ReadNext() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!FinishingLocked()) ReadLocked(&request_);
  }

  absl::Status Take() {
    if (!options_) {
      if (!request_.has_options()) {
        return absl::InvalidArgumentError("the first message must carry `options`");
      }
      options_ = request_.options();
      return absl::OkStatus();
    }
    if (request_.has_options()) {
      return absl::InvalidArgumentError("`options` may only be sent once, first");
    }
    if (!request_.has_part()) {
      return absl::InvalidArgumentError("a message after `options` must carry a `part`");
    }
    entries_ += EntriesIn(request_.part());
    if (entries_ > kMaxImportEntries) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the import holds more than ", kMaxImportEntries, " entries, this server's limit"));
    }
    ++parts_;
    domain::Organisation part = FromProto(request_.part());
    Append(&org_.grids, &part.grids);
    Append(&org_.departments, &part.departments);
    Append(&org_.categories, &part.categories);
    Append(&org_.routing_rules, &part.routing_rules);
    Append(&org_.users, &part.users);
    Append(&org_.demo_tokens, &part.demo_tokens);
    request_.Clear();
    Progress(service::ImportPhase::kReceiving, domain::OrgKind::kUnspecified, entries_,
             options_->expected_entries());
    return absl::OkStatus();
  }

  void Complete() {
    absl::Status status = Run();
    if (!status.ok()) {
      Fail(status);
    } else {
      Audit(status);
      std::lock_guard<std::mutex> lock(mu_);
      RequestFinishLocked(grpc::Status::OK);
    }
  }

  absl::Status Run() {
    if (Cancelled()) return absl::CancelledError("the client went away");
    if (!options_) return absl::InvalidArgumentError("no `options`: send them first");
    if (parts_ == 0) return absl::InvalidArgumentError("no `part`: nothing to import");
    Progress(service::ImportPhase::kValidating, domain::OrgKind::kUnspecified, 0, entries_);
    auto plan =
        service::PlanImport(deps_.store, org_,
                            [this](service::ImportPhase phase, domain::OrgKind kind, int64_t done,
                                   int64_t total) { Progress(phase, kind, done, total); });
    if (!plan.ok()) return plan.status();

    v1::ImportResult& result = result_;
    result.set_dry_run(options_->dry_run());
    for (int kind = 1; kind <= 5; ++kind) {
      auto* counts = result.add_counts();
      counts->set_kind(static_cast<v1::OrganisationKind>(kind));
      counts->set_created(plan->counts[kind].created);
      counts->set_updated(plan->counts[kind].updated);
      counts->set_unchanged(plan->counts[kind].unchanged);
    }
    for (const domain::OrgViolation& v : plan->violations) {
      auto* out = result.add_violations();
      out->set_kind(static_cast<v1::OrganisationKind>(v.kind));
      out->set_key(v.key);
      out->set_index(v.index);
      out->set_field(v.field);
      out->set_description(v.description);
    }
    result.set_violations_truncated(plan->violations_truncated);

    if (plan->violations.empty() && !options_->dry_run()) {
      if (Cancelled()) return absl::CancelledError("the client went away; nothing was written");
      const auto& u = plan->upserts;
      int64_t writes =
          static_cast<int64_t>(u.grids.size() + u.departments.size() + u.categories.size() +
                               u.routing_rules.size() + u.users.size());
      Progress(service::ImportPhase::kApplying, domain::OrgKind::kUnspecified, 0, writes);
      if (absl::Status s =
              service::ApplyImport(deps_.store, deps_.store, *plan, deps_.clock->NowMicros());
          !s.ok())
        return s;
      if (deps_.demo) {
        if (auto lines = service::StoreDemoTokens(deps_.store, org_); !lines.ok()) {
          return lines.status();
        }
      }
      Progress(service::ImportPhase::kApplying, domain::OrgKind::kUnspecified, writes, writes);
      result.set_applied(true);
    }
    v1::ImportOrganisationResponse response;
    *response.mutable_result() = result;
    Queue(std::move(response));
    return absl::OkStatus();
  }

  // ---- helpers

  // A half-close and a cancellation both end the reads; the call's own flag tells them apart
  // even before OnCancel has run.
  bool Cancelled() const { return ClientGone() || context_->IsCancelled(); }

  void Progress(service::ImportPhase phase, domain::OrgKind kind, int64_t done, int64_t total) {
    v1::ImportOrganisationResponse response;
    auto* p = response.mutable_progress();
    p->set_phase(static_cast<v1::ImportProgress::Phase>(phase));
    p->set_done(done);
    p->set_total(total);
    p->set_kind(static_cast<v1::OrganisationKind>(kind));
    Queue(std::move(response));
  }

  // Called from a task, so Advance only starts a write here: the call cannot finish while a
  // task runs.
  void Queue(v1::ImportOrganisationResponse response) {
    std::unique_lock<std::mutex> lock(mu_);
    if (FinishingLocked()) return;
    queue_.push_back(std::move(response));
    Advance(lock);
  }

  void Fail(const absl::Status& status) {
    Audit(status);
    std::lock_guard<std::mutex> lock(mu_);
    RequestFinishLocked(ToGrpcStatus(status));
  }

  // Records the call, once. The entry keeps the counts only: the content is large and may hold
  // demo tokens. Runs in a task while no other task runs (the state it reads is the tasks').
  void Audit(const absl::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (audited_) return;
      audited_ = true;
    }
    if (!caller_) return;  // unauthenticated: nobody to attribute it to
    v1::ImportResult summary = result_;
    summary.clear_violations();
    std::string text =
        absl::StrCat("parts: ", parts_, " entries: ", entries_,
                     " violations: ", result_.violations_size(), " ", AuditSummary(summary));
    if (options_) text = absl::StrCat("dry_run: ", options_->dry_run() ? "true " : "false ", text);
    service_->Audit(*caller_, GRIDLINE_ADMIN_METHOD(ImportOrganisation), "organisation", "", status,
                    std::move(text), peer_);
  }

  grpc::CallbackServerContext* const context_;  // valid until OnDone
  const ServiceContext deps_;
  AdminServiceImpl* const service_;
  const service::CallCredentials call_;
  const std::string peer_;

  // Touched only by pool tasks, which run one after the other: the next read (and so the next
  // task) starts only when a task is done with these.
  std::optional<domain::Caller> caller_;
  std::optional<v1::ImportOrganisationRequest::Options> options_;
  v1::ImportOrganisationRequest request_;
  domain::Organisation org_;
  int64_t entries_ = 0;
  int64_t parts_ = 0;
  v1::ImportResult result_;

  // Under mu_.
  bool audited_ = false;
  std::deque<v1::ImportOrganisationResponse> queue_;
  v1::ImportOrganisationResponse current_;
};

}  // namespace

std::string AuditSummary(const google::protobuf::Message& message) {
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.SetUseUtf8StringEscaping(true);
  std::string out;
  printer.PrintToString(message, &out);
  absl::StripTrailingAsciiWhitespace(&out);
  out = util::TruncateUtf8(out, kMaxSummaryBytes);
  return out;
}

void AdminServiceImpl::Audit(const domain::Caller& caller, const char* method,
                             const std::string& kind, const std::string& id,
                             const absl::Status& status, std::string summary,
                             const std::string& peer) {
  service::OperatorCall call{method, true, {kind, id}, std::move(summary)};
  service::RecordOperatorCall(deps_.store, deps_.clock,
                              service::RequestContext{caller, deps_.clock->NowMicros(), peer, {}},
                              call, status);
}

grpc::ServerUnaryReactor* AdminServiceImpl::Run(grpc::CallbackServerContext* context,
                                                const char* method,
                                                const google::protobuf::Message* audited,
                                                Target target, Work work,
                                                service::Audience audience) {
  // Unauthenticated calls are not recorded (RunUnary refuses them before the stack): there is
  // nobody to attribute them to, and anyone could fill the log with them.
  return RunUnary(
      context, deps_, method,
      [this, method, audited, audience, target = std::move(target),
       work = std::move(work)](const service::RequestContext& rc) {
        service::OperatorCall call{method,
                                   audited != nullptr,
                                   {target.kind, target.id},
                                   audited != nullptr ? AuditSummary(*audited) : std::string(),
                                   audience};
        return calls_->Run(rc, call, [&](std::string* id) { return work(rc.caller, id); });
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::Read(
    grpc::CallbackServerContext* context, const char* method,
    std::function<absl::Status(const domain::Caller&)> work, service::Audience audience) {
  return Run(
      context, method, nullptr, {"", ""},
      [work = std::move(work)](const domain::Caller& caller, std::string*) { return work(caller); },
      audience);
}

grpc::ServerUnaryReactor* AdminServiceImpl::ReadAs(
    grpc::CallbackServerContext* context, const char* method, service::Audience audience,
    std::function<absl::Status(const service::RequestContext&)> work) {
  return RunUnary(
      context, deps_, method,
      [this, method, audience, work = std::move(work)](const service::RequestContext& rc) {
        service::OperatorCall call{method, false, {}, {}, audience};
        return calls_->Run(rc, call, [&](std::string*) { return work(rc); });
      });
}

// ---- Grids ------------------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::CreateGrid(grpc::CallbackServerContext* context,
                                                       const v1::CreateGridRequest* request,
                                                       v1::Grid* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(CreateGrid), request, {"grid", request->grid().code()},
             [this, request, response](const domain::Caller&, std::string*) {
               auto g = admin_.CreateGrid(FromProto(request->grid()));
               if (!g.ok()) return g.status();
               ToProto(*g, response);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetGrid(grpc::CallbackServerContext* context,
                                                    const v1::GetGridRequest* request,
                                                    v1::Grid* response) {
  return Read(
      context, GRIDLINE_ADMIN_METHOD(GetGrid),
      [this, request, response](const auto&) {
        auto g = admin_.GetGrid(request->code());
        if (!g.ok()) return g.status();
        ToProto(*g, response);
        return absl::OkStatus();
      },
      service::Audience::kAnyone);
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListGrids(grpc::CallbackServerContext* context,
                                                      const v1::ListGridsRequest* request,
                                                      v1::ListGridsResponse* response) {
  return Read(
      context, GRIDLINE_ADMIN_METHOD(ListGrids),
      [this, request, response](const auto&) {
        auto all = admin_.ListGrids(request->parent_code(),
                                    static_cast<domain::GridLevel>(request->level()));
        if (!all.ok()) return all.status();
        auto page =
            service::PageOf(*std::move(all), PageOf(request->page_size(), request->page_token()));
        if (!page.ok()) return page.status();
        for (const auto& g : page->items) ToProto(g, response->add_grids());
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      },
      service::Audience::kAnyone);
}

grpc::ServerUnaryReactor* AdminServiceImpl::UpdateGrid(grpc::CallbackServerContext* context,
                                                       const v1::UpdateGridRequest* request,
                                                       v1::Grid* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(UpdateGrid), request, {"grid", request->grid().code()},
             [this, request, response](const domain::Caller&, std::string*) {
               auto g =
                   admin_.UpdateGrid(FromProto(request->grid()), MaskPaths(request->update_mask()));
               if (!g.ok()) return g.status();
               ToProto(*g, response);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::DeleteGrid(grpc::CallbackServerContext* context,
                                                       const v1::DeleteGridRequest* request,
                                                       google::protobuf::Empty*) {
  return Run(context, GRIDLINE_ADMIN_METHOD(DeleteGrid), request, {"grid", request->code()},
             [this, request](const domain::Caller&, std::string*) {
               return admin_.DeleteGrid(request->code());
             });
}

// ---- Departments ------------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::CreateDepartment(
    grpc::CallbackServerContext* context, const v1::CreateDepartmentRequest* request,
    v1::Department* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(CreateDepartment), request,
             {"department", request->department().code()},
             [this, request, response](const domain::Caller&, std::string*) {
               auto d = admin_.CreateDepartment(FromProto(request->department()));
               if (!d.ok()) return d.status();
               ToProto(*d, response);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetDepartment(grpc::CallbackServerContext* context,
                                                          const v1::GetDepartmentRequest* request,
                                                          v1::Department* response) {
  return Read(
      context, GRIDLINE_ADMIN_METHOD(GetDepartment),
      [this, request, response](const auto&) {
        auto d = admin_.GetDepartment(request->code());
        if (!d.ok()) return d.status();
        ToProto(*d, response);
        return absl::OkStatus();
      },
      service::Audience::kAnyone);
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListDepartments(
    grpc::CallbackServerContext* context, const v1::ListDepartmentsRequest* request,
    v1::ListDepartmentsResponse* response) {
  return Read(
      context, GRIDLINE_ADMIN_METHOD(ListDepartments),
      [this, request, response](const auto&) {
        auto all = admin_.ListDepartments(request->parent_code(), request->grid_code());
        if (!all.ok()) return all.status();
        auto page =
            service::PageOf(*std::move(all), PageOf(request->page_size(), request->page_token()));
        if (!page.ok()) return page.status();
        for (const auto& d : page->items) ToProto(d, response->add_departments());
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      },
      service::Audience::kAnyone);
}

grpc::ServerUnaryReactor* AdminServiceImpl::UpdateDepartment(
    grpc::CallbackServerContext* context, const v1::UpdateDepartmentRequest* request,
    v1::Department* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(UpdateDepartment), request,
             {"department", request->department().code()},
             [this, request, response](const domain::Caller&, std::string*) {
               auto d = admin_.UpdateDepartment(FromProto(request->department()),
                                                MaskPaths(request->update_mask()));
               if (!d.ok()) return d.status();
               ToProto(*d, response);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::DeleteDepartment(
    grpc::CallbackServerContext* context, const v1::DeleteDepartmentRequest* request,
    google::protobuf::Empty*) {
  return Run(context, GRIDLINE_ADMIN_METHOD(DeleteDepartment), request,
             {"department", request->code()}, [this, request](const domain::Caller&, std::string*) {
               return admin_.DeleteDepartment(request->code());
             });
}

// ---- Categories -------------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::CreateCategory(grpc::CallbackServerContext* context,
                                                           const v1::CreateCategoryRequest* request,
                                                           v1::Category* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(CreateCategory), request,
             {"category", request->category().code()},
             [this, request, response](const domain::Caller&, std::string*) {
               auto k = admin_.CreateCategory(FromProto(request->category()));
               if (!k.ok()) return k.status();
               ToProto(*k, response);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetCategory(grpc::CallbackServerContext* context,
                                                        const v1::GetCategoryRequest* request,
                                                        v1::Category* response) {
  return Read(
      context, GRIDLINE_ADMIN_METHOD(GetCategory),
      [this, request, response](const auto&) {
        auto k = admin_.GetCategory(request->code());
        if (!k.ok()) return k.status();
        ToProto(*k, response);
        return absl::OkStatus();
      },
      service::Audience::kAnyone);
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListCategories(grpc::CallbackServerContext* context,
                                                           const v1::ListCategoriesRequest* request,
                                                           v1::ListCategoriesResponse* response) {
  return Read(
      context, GRIDLINE_ADMIN_METHOD(ListCategories),
      [this, request, response](const auto&) {
        auto all = admin_.ListCategories(static_cast<domain::CategoryKind>(request->kind()));
        if (!all.ok()) return all.status();
        auto page =
            service::PageOf(*std::move(all), PageOf(request->page_size(), request->page_token()));
        if (!page.ok()) return page.status();
        for (const auto& k : page->items) ToProto(k, response->add_categories());
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      },
      service::Audience::kAnyone);
}

grpc::ServerUnaryReactor* AdminServiceImpl::UpdateCategory(grpc::CallbackServerContext* context,
                                                           const v1::UpdateCategoryRequest* request,
                                                           v1::Category* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(UpdateCategory), request,
             {"category", request->category().code()},
             [this, request, response](const domain::Caller&, std::string*) {
               auto k = admin_.UpdateCategory(FromProto(request->category()),
                                              MaskPaths(request->update_mask()));
               if (!k.ok()) return k.status();
               ToProto(*k, response);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::DeleteCategory(grpc::CallbackServerContext* context,
                                                           const v1::DeleteCategoryRequest* request,
                                                           google::protobuf::Empty*) {
  return Run(context, GRIDLINE_ADMIN_METHOD(DeleteCategory), request, {"category", request->code()},
             [this, request](const domain::Caller&, std::string*) {
               return admin_.DeleteCategory(request->code());
             });
}

// ---- Routing rules ----------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::CreateRoutingRule(
    grpc::CallbackServerContext* context, const v1::CreateRoutingRuleRequest* request,
    v1::RoutingRule* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(CreateRoutingRule), request,
             {"routing_rule", request->routing_rule().rule_id()},
             [this, request, response](const domain::Caller&, std::string* id) {
               domain::RoutingRule in = FromProto(request->routing_rule());
               auto r = admin_.CreateRoutingRule(in);
               if (!r.ok()) return r.status();
               *id = r->rule_id;
               ToProto(*r, response);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListRoutingRules(
    grpc::CallbackServerContext* context, const v1::ListRoutingRulesRequest* request,
    v1::ListRoutingRulesResponse* response) {
  return Read(
      context, GRIDLINE_ADMIN_METHOD(ListRoutingRules), [this, request, response](const auto&) {
        service::RoutingRuleFilter filter{request->category_code(), request->grid_code(),
                                          request->department_code()};
        auto all = admin_.ListRoutingRules(filter);
        if (!all.ok()) return all.status();
        auto page =
            service::PageOf(*std::move(all), PageOf(request->page_size(), request->page_token()));
        if (!page.ok()) return page.status();
        for (const auto& r : page->items) ToProto(r, response->add_routing_rules());
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::UpdateRoutingRule(
    grpc::CallbackServerContext* context, const v1::UpdateRoutingRuleRequest* request,
    v1::RoutingRule* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(UpdateRoutingRule), request,
             {"routing_rule", request->routing_rule().rule_id()},
             [this, request, response](const domain::Caller&, std::string*) {
               auto r = admin_.UpdateRoutingRule(FromProto(request->routing_rule()),
                                                 MaskPaths(request->update_mask()));
               if (!r.ok()) return r.status();
               ToProto(*r, response);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::DeleteRoutingRule(
    grpc::CallbackServerContext* context, const v1::DeleteRoutingRuleRequest* request,
    google::protobuf::Empty*) {
  return Run(context, GRIDLINE_ADMIN_METHOD(DeleteRoutingRule), request,
             {"routing_rule", request->rule_id()},
             [this, request](const domain::Caller&, std::string*) {
               return admin_.DeleteRoutingRule(request->rule_id());
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ResolveRoute(grpc::CallbackServerContext* context,
                                                         const v1::ResolveRouteRequest* request,
                                                         v1::ResolveRouteResponse* response) {
  return Read(context, GRIDLINE_ADMIN_METHOD(ResolveRoute), [this, request, response](const auto&) {
    auto route = admin_.ResolveRoute(request->category_code(), request->grid_code());
    if (!route.ok()) return route.status();
    ToProto(*route, response);
    return absl::OkStatus();
  });
}

// ---- Import -----------------------------------------------------------------------------------

grpc::ServerBidiReactor<v1::ImportOrganisationRequest, v1::ImportOrganisationResponse>*
AdminServiceImpl::ImportOrganisation(grpc::CallbackServerContext* context) {
  return new ImportReactor(context, deps_, this);
}

// ---- Users ------------------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::CreateUser(grpc::CallbackServerContext* context,
                                                       const v1::CreateUserRequest* request,
                                                       v1::User* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(CreateUser), request,
             {"user", request->user().user_id()},
             [this, request, response](const domain::Caller&, std::string* id) {
               auto u = admin_.CreateUser(FromProto(request->user()));
               if (!u.ok()) return u.status();
               *id = u->user_id;
               ToProto(*u, response);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetUser(grpc::CallbackServerContext* context,
                                                    const v1::GetUserRequest* request,
                                                    v1::User* response) {
  return Read(context, GRIDLINE_ADMIN_METHOD(GetUser), [this, request, response](const auto&) {
    auto u = admin_.GetUser(request->user_id());
    if (!u.ok()) return u.status();
    ToProto(*u, response);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListUsers(grpc::CallbackServerContext* context,
                                                      const v1::ListUsersRequest* request,
                                                      v1::ListUsersResponse* response) {
  return Read(context, GRIDLINE_ADMIN_METHOD(ListUsers), [this, request, response](const auto&) {
    service::UserFilter filter;
    filter.role = static_cast<domain::Role>(request->role());
    filter.grid_code = request->grid_code();
    filter.department_code = request->department_code();
    filter.include_disabled = request->include_disabled();
    auto all = admin_.ListUsers(filter);
    if (!all.ok()) return all.status();
    auto page =
        service::PageOf(*std::move(all), PageOf(request->page_size(), request->page_token()));
    if (!page.ok()) return page.status();
    for (const auto& u : page->items) ToProto(u, response->add_users());
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::UpdateUser(grpc::CallbackServerContext* context,
                                                       const v1::UpdateUserRequest* request,
                                                       v1::User* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(UpdateUser), request,
             {"user", request->user().user_id()},
             [this, request, response](const domain::Caller& caller, std::string*) {
               auto u = admin_.UpdateUser(caller, FromProto(request->user()),
                                          MaskPaths(request->update_mask()));
               if (!u.ok()) return u.status();
               ToProto(*u, response);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::DisableUser(grpc::CallbackServerContext* context,
                                                        const v1::DisableUserRequest* request,
                                                        v1::User* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(DisableUser), request, {"user", request->user_id()},
             [this, request, response](const domain::Caller& caller, std::string*) {
               auto u = admin_.DisableUser(caller, request->user_id());
               if (!u.ok()) return u.status();
               ToProto(*u, response);
               return absl::OkStatus();
             });
}

// ---- Tokens -----------------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::IssueToken(grpc::CallbackServerContext* context,
                                                       const v1::IssueTokenRequest* request,
                                                       v1::IssueTokenResponse* response) {
  // The request holds no secret (the token is in the response), so its summary is complete.
  return Run(
      context, GRIDLINE_ADMIN_METHOD(IssueToken), request, {"token", ""},
      [this, request, response](const domain::Caller& caller, std::string* id) {
        service::TokenRequest token;
        token.user_id = request->user_id();
        token.label = request->label();
        token.device_id = request->device_id();
        if (request->has_expire_time()) {
          auto t = TimestampMicros(request->expire_time(), "expire_time");
          if (!t.ok()) return t.status();
          token.expire_time = *t == 0 ? -1 : *t;  // the epoch: past
        }
        token.client_cert_sha256 = request->client_certificate_sha256();
        if (!request->client_certificate_pem().empty()) {
          if (!token.client_cert_sha256.empty()) {
            return domain::InvalidField("client_certificate_pem",
                                        "give the certificate or its fingerprint, not both");
          }
          token.client_cert_sha256 = util::CertificateSha256(request->client_certificate_pem());
          if (token.client_cert_sha256.empty()) {
            return domain::InvalidField("client_certificate_pem",
                                        "holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
          }
        }
        auto issued = admin_.IssueToken(caller, token);
        if (!issued.ok()) return issued.status();
        *id = issued->info.token_id;
        response->set_token(issued->token);
        ToProto(issued->info, response->mutable_token_info());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::RotateToken(grpc::CallbackServerContext* context,
                                                        const v1::RotateTokenRequest* request,
                                                        v1::IssueTokenResponse* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(RotateToken), request, {"token", request->token_id()},
             [this, request, response](const domain::Caller& caller, std::string*) {
               if (request->grace_seconds() < 0 || request->grace_seconds() > 30LL * 24 * 3600) {
                 return domain::InvalidField("grace_seconds", "must be between 0 and 30 days");
               }
               auto issued = admin_.RotateToken(caller, request->token_id(),
                                                request->grace_seconds() * 1000000);
               if (!issued.ok()) return issued.status();
               response->set_token(issued->token);
               ToProto(issued->info, response->mutable_token_info());
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListTokens(grpc::CallbackServerContext* context,
                                                       const v1::ListTokensRequest* request,
                                                       v1::ListTokensResponse* response) {
  return Read(context, GRIDLINE_ADMIN_METHOD(ListTokens), [this, request, response](const auto&) {
    auto all = admin_.ListTokens(request->user_id(), request->include_inactive());
    if (!all.ok()) return all.status();
    auto page =
        service::PageOf(*std::move(all), PageOf(request->page_size(), request->page_token()));
    if (!page.ok()) return page.status();
    for (const auto& t : page->items) ToProto(t, response->add_tokens());
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* AdminServiceImpl::RevokeToken(grpc::CallbackServerContext* context,
                                                        const v1::RevokeTokenRequest* request,
                                                        v1::TokenInfo* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(RevokeToken), request, {"token", request->token_id()},
             [this, request, response](const domain::Caller&, std::string*) {
               auto info = admin_.RevokeToken(request->token_id());
               if (!info.ok()) return info.status();
               ToProto(*info, response);
               return absl::OkStatus();
             });
}

// ---- Audit log --------------------------------------------------------------------------------

grpc::ServerUnaryReactor* AdminServiceImpl::ListAuditLog(grpc::CallbackServerContext* context,
                                                         const v1::ListAuditLogRequest* request,
                                                         v1::ListAuditLogResponse* response) {
  return Read(context, GRIDLINE_ADMIN_METHOD(ListAuditLog), [this, request, response](const auto&) {
    store::AuditQuery query;
    query.actor_user_id = request->actor_user_id();
    query.resource_kind = request->resource_kind();
    query.resource_id = request->resource_id();
    if (auto s = ReadTimeRange(*request, &query.start_time, &query.end_time); !s.ok()) return s;
    if (request->page_size() < 0) return domain::InvalidField("page_size", "must not be negative");
    int size = request->page_size() == 0 ? 50 : std::min(request->page_size(), 500);
    if (!request->page_token().empty() && !DecodeAuditToken(request->page_token(), &query)) {
      return domain::InvalidField("page_token", "is not a page token of the audit log");
    }
    query.limit = size + 1;  // one more tells whether there is a next page
    auto entries = admin_.ListAudit(query);
    if (!entries.ok()) return entries.status();
    for (int i = 0; i < static_cast<int>(entries->size()) && i < size; ++i) {
      ToProto((*entries)[i], response->add_entries());
    }
    if (static_cast<int>(entries->size()) > size) {
      response->set_next_page_token(EncodeAuditToken((*entries)[size - 1]));
    }
    return absl::OkStatus();
  });
}

namespace {

void StatisticsToProto(const service::Statistics& s, v1::Statistics* out) {
  out->set_grid_code(s.scope.grid_code);
  out->set_department_code(s.scope.department_code);
  out->set_source(static_cast<v1::CaseSource>(s.scope.source));
  SetTimestamp(s.scope.start_time, out->mutable_start_time());
  SetTimestamp(s.scope.end_time, out->mutable_end_time());
  out->set_found_count(s.found_count);
  out->set_solved_count(s.solved_count);
  out->set_due_count(s.due_count);
  out->set_postponed_count(s.postponed_count);
  out->set_closed_count(s.closed_count);
  out->set_closed_on_time_count(s.closed_on_time_count);
  out->set_late_count(s.late_count);
  out->set_resolved_count(s.resolved_count);
  out->set_reworked_count(s.reworked_count);
  // A rate with no figure (0/0) stays unset.
  if (auto r = service::DisposalRate(s)) out->set_disposal_rate(*r);
  if (auto r = service::ClosureRate(s)) out->set_closure_rate(*r);
  if (auto r = service::OnTimeRate(s)) out->set_on_time_rate(*r);
  if (auto r = service::ReworkRate(s)) out->set_rework_rate(*r);
  SetDuration(s.mean_handling_time, out->mutable_mean_handling_time());
  out->set_mean_handling_sample_count(s.mean_handling_sample_count);
  out->set_open_overdue_count(s.open_overdue_count);
  out->set_supervision_order_count(s.supervision.received);
  out->set_supervision_answered_on_time_count(s.supervision.answered_on_time);
  out->set_supervision_escalated_count(s.supervision.escalated);
  out->set_accountability_weight(s.accountability_weight);
  if (s.patrol_coverage) out->set_patrol_coverage(*s.patrol_coverage);
}

}  // namespace

grpc::ServerUnaryReactor* AdminServiceImpl::GetCurrentUser(grpc::CallbackServerContext* context,
                                                           const v1::GetCurrentUserRequest*,
                                                           v1::CurrentUser* response) {
  return ReadAs(context, GRIDLINE_ADMIN_METHOD(GetCurrentUser), service::Audience::kAnyone,
                [this, response](const service::RequestContext& rc) {
                  auto me = admin_.DescribeCaller(rc.caller, rc.now);
                  if (!me.ok()) return me.status();
                  ToProto(me->user, response->mutable_user());
                  ToProto(me->token, response->mutable_token());
                  response->set_grid_name(me->grid_name);
                  response->set_department_name(me->department_name);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* AdminServiceImpl::GetStatistics(grpc::CallbackServerContext* context,
                                                          const v1::GetStatisticsRequest* request,
                                                          v1::Statistics* response) {
  return ReadAs(context, GRIDLINE_ADMIN_METHOD(GetStatistics),
                service::Audience::kOperatorsAndSupervisors,
                [this, request, response](const service::RequestContext& rc) {
                  service::StatisticsQuery q;
                  q.grid_code = request->grid_code();
                  q.department_code = request->department_code();
                  q.source = static_cast<domain::CaseSource>(request->source());
                  if (auto s = ReadTimeRange(*request, &q.start_time, &q.end_time); !s.ok())
                    return s;
                  auto s = service::StatisticsFor(rc, deps_.store, deps_.store, q, deps_.store);
                  if (!s.ok()) return s.status();
                  StatisticsToProto(*s, response);
                  return absl::OkStatus();
                });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListEvaluations(
    grpc::CallbackServerContext* context, const v1::ListEvaluationsRequest* request,
    v1::ListEvaluationsResponse* response) {
  return ReadAs(context, GRIDLINE_ADMIN_METHOD(ListEvaluations),
                service::Audience::kOperatorsAndSupervisors,
                [this, request, response](const service::RequestContext& rc) {
                  service::EvaluationQuery q;
                  q.year = request->year();
                  q.month = request->month();
                  q.unit_kind = static_cast<service::UnitKind>(request->unit_kind());
                  q.grid_code = request->grid_code();
                  q.flag = static_cast<service::Flag>(request->flag());
                  q.source = static_cast<domain::CaseSource>(request->source());
                  q.page_size = request->page_size();
                  q.page_token = request->page_token();
                  auto page = deps_.evaluations->List(rc, q);
                  if (!page.ok()) return page.status();
                  for (const auto& e : page->evaluations) {
                    auto* out = response->add_evaluations();
                    out->set_unit_kind(static_cast<v1::EvaluationUnitKind>(e.unit_kind));
                    out->set_unit_code(e.unit_code);
                    out->set_unit_name(e.unit_name);
                    out->set_year(e.year);
                    out->set_month(e.month);
                    out->set_flag(static_cast<v1::EvaluationFlag>(e.flag));
                    StatisticsToProto(e.statistics, out->mutable_statistics());
                    out->set_explanation(e.explanation);
                    SetTimestamp(page->compute_time, out->mutable_compute_time());
                  }
                  response->set_next_page_token(page->next_page_token);
                  return absl::OkStatus();
                });
}

// ---- 三责 accountability ---------------------------------------------------------------------

namespace {

void ToProto(const domain::AccountabilityRecord& in, v1::AccountabilityRecord* out) {
  out->set_record_id(in.record_id);
  out->set_year(in.year);
  out->set_month(in.month);
  out->set_rule(static_cast<v1::AccountabilityRule>(in.rule));
  out->set_unit_kind(static_cast<v1::AccountabilityUnitKind>(in.unit_kind));
  out->set_unit_code(in.unit_code);
  out->set_user_id(in.user_id);
  for (const auto& id : in.case_ids) out->add_case_ids(id);
  out->set_weight(in.weight);
  out->set_explanation(in.explanation);
  out->set_status(static_cast<v1::AccountabilityRecordStatus>(in.status));
  out->set_dismiss_reason(in.dismiss_reason);
  out->set_dismissed_by_user_id(in.dismissed_by_user_id);
  if (in.dismiss_time != 0) SetTimestamp(in.dismiss_time, out->mutable_dismiss_time());
  SetTimestamp(in.compute_time, out->mutable_compute_time());
  out->set_version(in.version);
}

}  // namespace

grpc::ServerUnaryReactor* AdminServiceImpl::ListAccountabilityRecords(
    grpc::CallbackServerContext* context, const v1::ListAccountabilityRecordsRequest* request,
    v1::ListAccountabilityRecordsResponse* response) {
  return ReadAs(
      context, GRIDLINE_ADMIN_METHOD(ListAccountabilityRecords), service::Audience::kAnyone,
      [this, request, response](const service::RequestContext& rc) {
        service::AccountabilityFilter f;
        f.year = request->year();
        f.month = request->month();
        for (int r : request->rules()) {
          f.rules.push_back(static_cast<domain::AccountabilityRule>(r));
        }
        f.unit_code = request->unit_code();
        f.user_id = request->user_id();
        f.grid_code = request->grid_code();
        f.include_inactive = request->include_inactive();
        auto page =
            deps_.accountability->List(rc, f, {request->page_size(), request->page_token()});
        if (!page.ok()) return page.status();
        for (const auto& r : page->items) ToProto(r, response->add_records());
        response->set_next_page_token(page->next_page_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* AdminServiceImpl::ComputeAccountability(
    grpc::CallbackServerContext* context, const v1::ComputeAccountabilityRequest* request,
    v1::ComputeAccountabilityResponse* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(ComputeAccountability), request,
             {"accountability", absl::StrCat(request->year(), "-", request->month())},
             [this, request, response](const domain::Caller& caller, std::string*) {
               service::RequestContext rc;
               rc.caller = caller;
               rc.now = deps_.clock->NowMicros();
               auto n = deps_.accountability->Compute(rc, request->year(), request->month());
               if (!n.ok()) return n.status();
               response->set_record_count(*n);
               return absl::OkStatus();
             });
}

grpc::ServerUnaryReactor* AdminServiceImpl::DismissAccountabilityRecord(
    grpc::CallbackServerContext* context, const v1::DismissAccountabilityRecordRequest* request,
    v1::AccountabilityRecord* response) {
  return Run(context, GRIDLINE_ADMIN_METHOD(DismissAccountabilityRecord), request,
             {"accountability_record", request->record_id()},
             [this, request, response](const domain::Caller& caller, std::string*) {
               service::RequestContext rc;
               rc.caller = caller;
               rc.now = deps_.clock->NowMicros();
               auto r = deps_.accountability->Dismiss(rc, request->record_id(), request->reason(),
                                                      request->expected_version());
               if (!r.ok()) return r.status();
               ToProto(*r, response);
               return absl::OkStatus();
             });
}

}  // namespace gridline::api
