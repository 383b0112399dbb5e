// The case lifecycle after the report: triage, filing, dispatch, the departments' actions and
// verification. Every action: load, gate (workflow.h), validate, compute the next case and its
// events, and write both in one version-checked transaction.
#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "server/domain/errors.h"
#include "server/domain/workflow.h"
#include "server/service/case_events.h"
#include "server/service/case_service.h"
#include "server/service/domain_names.h"
#include "server/service/paging.h"
#include "server/service/routing.h"
#include "server/service/scope.h"
#include "server/util/sha256.h"

namespace gridline::service {

namespace {

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr int kMaxNoteChars = 2000;
constexpr Micros kHour = 3600LL * 1000 * 1000;
constexpr Micros kMaxExtension = 90LL * 24 * kHour;

absl::StatusOr<int> PageSize(const PageRequest& p) {
  return PageSizeOf(p.page_size, kDefaultPageSize, kMaxPageSize);
}
std::string MakeToken(int64_t key, const std::string& id) { return MakePageToken(key, id); }
absl::Status ParseToken(const std::string& token, int64_t* key, std::string* id) {
  return ParsePageToken(token, key, id);
}

// Adds the field violations that `status` carries to `v`.
void Collect(FieldViolations& v, const absl::Status& status) {
  for (auto& f : GetFieldViolations(status)) v.Add(std::move(f.field), std::move(f.description));
}

// One page of `q`. `v` holds what the caller found wrong with the other filters; the page's own
// problems join them, so that a request learns all of them at once.
absl::StatusOr<Page<Case>> RunCaseQuery(store::CaseStore* store, store::CaseQuery q,
                                        const PageRequest& page, FieldViolations v = {}) {
  auto size = PageSize(page);
  if (!size.ok()) Collect(v, size.status());
  if (!page.page_token.empty()) {
    Collect(v, ParseToken(page.page_token, &q.after_key, &q.after_case_id));
    q.has_after = true;
  }
  if (!v.empty()) return v.ToStatus();
  q.limit = *size + 1;  // one more tells whether there is a next page
  auto cases = store->ListCases(q);
  if (!cases.ok()) return cases.status();
  Page<Case> out;
  out.items = *std::move(cases);
  if (static_cast<int>(out.items.size()) > *size) {
    out.items.resize(*size);
    const Case& last = out.items.back();
    out.next_page_token = MakeToken(store::SortKey(last, q.order), last.case_id);
  }
  return out;
}

// A violation of "category_codes" for each unknown category among `codes`.
absl::Status CheckCategories(store::OrganisationStore* store, FieldViolations& v,
                             const std::vector<std::string>& codes) {
  for (const auto& k : codes) {
    auto cat = store->FindCategory(k);
    if (!cat.ok()) return cat.status();
    if (!cat->has_value()) v.Add("category_codes", "unknown category " + k);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> DepartmentExists(store::OrganisationStore* store, const std::string& code) {
  auto d = store->FindDepartment(code);
  if (!d.ok()) return d.status();
  return d->has_value();
}

void CheckNote(FieldViolations& v, const std::string& field, const std::string& text,
               bool required) {
  CheckText(v, field, text, required, kMaxNoteChars);
}

// The text of `action` as its row of the transition table says: which field, and whether it is
// required (`negative`: the outcome is the negative one, a denial or a failed verification).
void CheckActionText(FieldViolations& v, CaseAction action, const std::string& text,
                     bool negative = false) {
  const ActionRecord& r = RuleFor(action).record;
  const bool required = r.text == ActionRecord::Text::kRequired ||
                        (r.text == ActionRecord::Text::kRequiredWhenNegative && negative);
  CheckNote(v, r.text_field, text, required);
}

// Fills every event's "case after the change" fields and to_state.
void Finish(const Case& after, std::vector<CaseEvent>& events) {
  for (auto& e : events) {
    e.to_state = after.state;
    e.category_code = after.category_code;
    e.grid_code = after.grid_code;
    e.grid_path = after.grid_path;
    e.lead_department_code = after.lead_department_code;
    e.assisting_department_codes = after.assisting_department_codes;
    if (e.previous_lead_department_code == after.lead_department_code) {
      e.previous_lead_department_code.clear();  // the lead did not change
    }
    e.reporter_user_id = after.reporter_user_id;
  }
  // A multi-event change moves state once: later events start where the earlier ones ended.
  for (size_t i = 1; i < events.size(); ++i) events[i].from_state = events[i - 1].to_state;
}

void EnterState(Case& c, CaseState s, Micros now) {
  if (c.state != s) c.state_time = now;
  c.state = s;
}

// The route for a case of `category_code` at the case's grid; NO_ROUTE is FAILED_PRECONDITION.
absl::StatusOr<RouteDecision> RouteOrFail(store::OrganisationStore* store,
                                          const std::string& category_code, const Case& c) {
  auto grid = store->FindGrid(c.grid_code);
  if (!grid.ok()) return grid.status();
  if (!grid->has_value()) return absl::FailedPreconditionError("the case's grid no longer exists");
  auto route = ResolveRoute(store, category_code, **grid);
  if (!route.ok()) return route.status();
  if (route->source == RouteDecision::Source::kNoRoute) {
    return Precondition("NO_ROUTE", c.grid_code,
                        absl::StrCat("no routing rule for ", category_code,
                                     " and no street office for grid ", c.grid_code));
  }
  return route;
}

// A write of a change to `c`, checked against the version it was loaded at.

int DeadlineHours(const Category& k, Urgency u) {
  int h = 0;
  if (u == Urgency::kUrgent) h = k.urgent_deadline_hours;
  if (u == Urgency::kEmergency) h = k.emergency_deadline_hours;
  return h > 0 ? h : k.normal_deadline_hours;
}

}  // namespace

// ---- Lists -----------------------------------------------------------------------------------

absl::StatusOr<Page<Case>> CaseService::ListMyCases(const RequestContext& rc,
                                                    const std::vector<CaseState>& states,
                                                    const PageRequest& page) {
  if (rc.caller.user.role != Role::kGridLeader) {
    return absl::PermissionDeniedError("ListMyCases is the grid leader's list");
  }
  store::CaseQuery q;
  q.states = states;
  q.subtree_grid_code = rc.caller.user.grid_code;
  q.or_reporter_user_id = rc.caller.user.user_id;
  q.order = store::CaseQuery::Order::kNewestFirst;
  return RunCaseQuery(cases_, q, page);
}

absl::StatusOr<Page<Case>> CaseService::ListTriageQueue(
    const RequestContext& rc, const std::vector<CaseState>& states,
    const std::vector<std::string>& category_codes, const std::string& grid_code,
    const PageRequest& page) {
  if (rc.caller.user.role != Role::kDispatcher) {
    return absl::PermissionDeniedError("the triage queue is the acceptance center's");
  }
  FieldViolations v;
  for (auto s : states) {
    if (s != CaseState::kPendingTriage && s != CaseState::kReturned) {
      v.Add("states",
            absl::StrCat("only PENDING_TRIAGE and RETURNED are queued, not ", CaseStateName(s)));
    }
  }
  auto subtree = ListSubtree(org_, v, rc.caller.user.grid_code, grid_code);
  if (!subtree.ok()) return subtree.status();
  if (auto s = CheckCategories(org_, v, category_codes); !s.ok()) return s;
  store::CaseQuery q;
  q.states = states.empty()
                 ? std::vector<CaseState>{CaseState::kPendingTriage, CaseState::kReturned}
                 : states;
  q.subtree_grid_code = *subtree;
  q.category_codes = category_codes;
  q.order = store::CaseQuery::Order::kQueueOldest;
  return RunCaseQuery(cases_, q, page, std::move(v));
}

absl::StatusOr<Page<Case>> CaseService::ListCases(const RequestContext& rc,
                                                  const CaseListFilter& filter,
                                                  const PageRequest& page) {
  std::string scope;                             // empty: the whole platform
  CaseSource source = CaseSource::kUnspecified;  // any
  switch (rc.caller.user.role) {
    case Role::kPublicApp:
      source = CaseSource::kPublic;  // what a public app may see (domain::CanSee)
      [[fallthrough]];
    case Role::kDispatcher:
    case Role::kSupervisor:
      // Never widen a grid-scoped user without a grid to the whole platform.
      if (rc.caller.user.grid_code.empty()) {
        return absl::PermissionDeniedError("your account has no grid to list cases in");
      }
      scope = rc.caller.user.grid_code;
      break;
    case Role::kOperator:
      break;
    default:
      return absl::PermissionDeniedError(
          "ListCases is for dispatchers, supervisors and operators; grid leaders have "
          "ListMyCases and department staff ListAssignedCases");
  }
  FieldViolations v;
  for (auto s : filter.states) {
    if (s < CaseState::kPendingTriage || s > CaseState::kMerged) {
      v.Add("states", absl::StrCat("unknown case state ", static_cast<int>(s)));
    }
  }
  auto subtree = ListSubtree(org_, v, scope, filter.grid_code);
  if (!subtree.ok()) return subtree.status();
  if (auto s = CheckCategories(org_, v, filter.category_codes); !s.ok()) return s;
  if (!filter.lead_department_code.empty()) {
    auto known = DepartmentExists(org_, filter.lead_department_code);
    if (!known.ok()) return known.status();
    if (!*known) v.Add("lead_department_code", "unknown department " + filter.lead_department_code);
  }
  if (filter.observe_start_time != 0 && filter.observe_end_time != 0 &&
      filter.observe_start_time > filter.observe_end_time) {
    v.Add("observe_start_time", "is after observe_end_time");
  }
  store::CaseQuery q;
  q.states = filter.states;
  q.subtree_grid_code = *subtree;
  q.category_codes = filter.category_codes;
  q.department_code = filter.lead_department_code;  // leading now: assisting does not count
  q.include_assisting = false;
  q.observed_from = filter.observe_start_time;
  q.observed_to = filter.observe_end_time;
  q.source = source;
  q.order = store::CaseQuery::Order::kNewestFirst;
  return RunCaseQuery(cases_, q, page, std::move(v));
}

absl::StatusOr<Page<Case>> CaseService::ListAssignedCases(const RequestContext& rc,
                                                          const std::vector<CaseState>& states,
                                                          bool include_assisting,
                                                          const PageRequest& page) {
  if (rc.caller.user.role != Role::kDepartmentStaff || rc.caller.user.department_code.empty()) {
    return absl::PermissionDeniedError("ListAssignedCases is for department staff");
  }
  store::CaseQuery q;
  q.states = states.empty() ? std::vector<CaseState>{CaseState::kDispatched, CaseState::kInProgress,
                                                     CaseState::kResolved}
                            : states;
  q.department_code = rc.caller.user.department_code;
  q.include_assisting = include_assisting;
  q.order = store::CaseQuery::Order::kDeadlineSoonest;
  return RunCaseQuery(cases_, q, page);
}

absl::StatusOr<Page<ExtensionRequest>> CaseService::ListExtensionRequests(
    const RequestContext& rc, const std::vector<ExtensionState>& states, const std::string& case_id,
    const PageRequest& page) {
  if (rc.caller.user.role != Role::kDispatcher) {
    return absl::PermissionDeniedError("extension requests are decided by the acceptance center");
  }
  auto size = PageSize(page);
  if (!size.ok()) return size.status();
  store::ExtensionQuery q;
  q.case_id = case_id;
  q.states = states.empty() ? std::vector<ExtensionState>{ExtensionState::kPending} : states;
  q.subtree_grid_code = rc.caller.user.grid_code;
  if (!page.page_token.empty()) {
    if (auto s = ParseToken(page.page_token, &q.after_create_time, &q.after_id); !s.ok()) {
      return s;
    }
    q.has_after = true;
  }
  q.limit = *size + 1;
  auto rows = cases_->ListExtensionRequests(q);
  if (!rows.ok()) return rows.status();
  Page<ExtensionRequest> out;
  out.items = *std::move(rows);
  if (static_cast<int>(out.items.size()) > *size) {
    out.items.resize(*size);
    out.next_page_token =
        MakeToken(out.items.back().create_time, out.items.back().extension_request_id);
  }
  return out;
}

absl::StatusOr<Page<Category>> CaseService::ListReportCategories(const RequestContext& rc,
                                                                 const PageRequest& page) {
  (void)rc.caller;  // any authenticated user
  auto size = PageSize(page);
  if (!size.ok()) return size.status();
  auto all = org_->ListCategories();
  if (!all.ok()) return all.status();
  Page<Category> out;
  for (const auto& k : *all) {
    if (!page.page_token.empty() && k.code <= page.page_token) continue;
    if (static_cast<int>(out.items.size()) == *size) {
      out.next_page_token = out.items.back().code;
      break;
    }
    out.items.push_back(k);
  }
  return out;
}

// ---- Shared steps ------------------------------------------------------------------------------

absl::StatusOr<Case> CaseService::LoadForAction(const Caller& caller, const ActionInput& in,
                                                int action) {
  if (in.case_id.empty()) return InvalidField("case_id", "is required");
  auto c = cases_->GetCase(in.case_id);
  if (!c.ok()) return c.status();
  // Role first, so that a wrong role gets PERMISSION_DENIED even for unknown ids.
  Case probe;
  probe.case_id = in.case_id;
  if (!c->has_value()) {
    absl::Status gate = CheckAllowed(caller.user, probe, static_cast<CaseAction>(action));
    if (absl::IsPermissionDenied(gate)) return gate;
    return absl::NotFoundError(absl::StrCat("case ", in.case_id, " not found"));
  }
  if (auto s = CheckAllowed(caller.user, **c, static_cast<CaseAction>(action)); !s.ok()) return s;
  if (in.expected_version != 0 && in.expected_version != (*c)->version) {
    return absl::AbortedError(absl::StrCat("case ", in.case_id, " is at version ", (*c)->version,
                                           ", not ", in.expected_version, "; re-read and retry"));
  }
  return **c;
}

absl::Status CaseService::CheckAttachments(FieldViolations& v, const std::string& field,
                                           const std::vector<std::string>& ids) {
  if (!CheckPhotoIds(v, field, ids)) return absl::OkStatus();
  std::set<std::string> unique(ids.begin(), ids.end());
  auto found = attachments_->FindAttachments(ids);
  if (!found.ok()) return found.status();
  std::set<std::string> known;
  for (const auto& a : *found) known.insert(a.attachment_id);
  for (const auto& id : unique) {
    if (!known.count(id)) v.Add(field, "unknown attachment " + id + ": upload it first");
  }
  return absl::OkStatus();
}

absl::Status CaseService::FileAndRoute(const Caller* caller, Case& c, store::CaseWrite& w,
                                       Micros now, const std::string& note) {
  auto category = org_->FindCategory(c.category_code);
  if (!category.ok()) return category.status();
  if (!category->has_value()) {
    return absl::FailedPreconditionError("the case's category no longer exists: correct it");
  }
  auto route = RouteOrFail(org_, c.category_code, c);
  if (!route.ok()) return route.status();
  // The district (or, failing that, the root) names the case-number series. The case's grid path
  // follows grid moves, so it is the tree as it stands.
  std::string district;
  for (const auto& code : PathCodes(c.grid_path)) {
    auto g = org_->FindGrid(code);
    if (!g.ok()) return g.status();
    if (district.empty()) district = code;  // the root, as a fallback
    if (g->has_value() && (*g)->level == GridLevel::kDistrict) {
      district = code;
      break;
    }
  }
  const absl::CivilYear year = absl::ToCivilYear(absl::FromUnixMicros(now), zone_);
  w.case_number_prefix = absl::StrCat(district, "-", year.year(), "-");
  c.filed_time = now;
  c.deadline_time = now + DeadlineHours(**category, c.urgency) * kHour;
  c.first_deadline_time = c.deadline_time;
  Case before = c;
  c.lead_department_code = route->lead_department_code;
  c.assisting_department_codes = route->assisting_department_codes;
  c.returned_by_department_code.clear();
  c.return_reason.clear();
  EnterState(c, RuleFor(CaseAction::kAcceptCase).to, now);
  w.events.push_back(MakeEvent(caller, before, EventType::kAcceptedForFiling, now, note));
  std::string how = route->rule
                        ? absl::StrCat("routing rule ", route->rule->rule_id)
                        : absl::StrCat("street office of ", route->street_grid_code, " (属地兜底)");
  w.events.push_back(MakeEvent(caller, before, EventType::kRouted, now, how));
  return absl::OkStatus();
}

absl::Status CaseService::CancelPendingExtension(const Case& c, store::CaseWrite& w, Micros now) {
  store::ExtensionQuery q;
  q.case_id = c.case_id;
  q.states = {ExtensionState::kPending};
  auto pending = cases_->ListExtensionRequests(q);
  if (!pending.ok()) return pending.status();
  for (auto x : *pending) {
    x.state = ExtensionState::kCancelled;
    x.decide_time = now;
    w.extension_upserts.push_back(std::move(x));
  }
  return absl::OkStatus();
}

absl::StatusOr<CaseChange> CaseService::Commit(Case c, store::CaseWrite w, Micros now) {
  c.update_time = now;
  w.c = std::move(c);
  return Write(std::move(w));
}

absl::StatusOr<CaseChange> CaseService::Write(store::CaseWrite w) {
  Finish(w.c, w.events);
  auto r = cases_->UpdateCase(w);
  if (!r.ok()) return r.status();
  if (publisher_ != nullptr && !r->events.empty()) {
    publisher_->EventsCommitted(r->events.back().seq);
  }
  return CaseChange{r->stored, r->events};
}

absl::StatusOr<CaseChange> CaseService::Act(const RequestContext& rc, const ActionInput& in,
                                            CaseAction action,
                                            const std::function<void(Case&, Micros)>& edit) {
  const ActionRule& rule = RuleFor(action);
  auto c = LoadForAction(rc.caller, in, static_cast<int>(action));
  if (!c.ok()) return c.status();
  FieldViolations v;
  CheckActionText(v, action, in.note);
  if (rule.record.takes_photos) {
    if (auto s = CheckAttachments(v, "attachment_ids", in.attachment_ids); !s.ok()) return s;
  }
  if (!v.empty()) return v.ToStatus();
  const Micros now = rc.now;
  store::CaseWrite w = StartWrite(*c);
  if (rule.record.cancels_extension == CancelsExtension::kAlways) {
    if (auto s = CancelPendingExtension(*c, w, now); !s.ok()) return s;
  }
  w.events.push_back(
      MakeEvent(&rc.caller, *c, rule.record.event, now, in.note,
                rule.record.takes_photos ? in.attachment_ids : std::vector<std::string>{}));
  if (edit) edit(*c, now);
  if (rule.to != CaseState::kUnspecified) EnterState(*c, rule.to, now);
  return Commit(*c, std::move(w), now);
}

// ---- Acceptance center ----------------------------------------------------------------------

absl::StatusOr<CaseChange> CaseService::AcceptCase(const RequestContext& rc, const ActionInput& in,
                                                   int urgency) {
  auto c = LoadForAction(rc.caller, in, static_cast<int>(CaseAction::kAcceptCase));
  if (!c.ok()) return c.status();
  FieldViolations v;
  CheckActionText(v, CaseAction::kAcceptCase, in.note);
  if (urgency < 0 || urgency > static_cast<int>(Urgency::kEmergency)) {
    v.Add("urgency", "is not a known urgency");
  }
  if (!v.empty()) return v.ToStatus();
  const Micros now = rc.now;
  store::CaseWrite w = StartWrite(*c);
  if (urgency != 0) c->urgency = static_cast<Urgency>(urgency);
  if (auto s = FileAndRoute(&rc.caller, *c, w, now, in.note); !s.ok()) return s;
  return Commit(*c, std::move(w), now);
}

absl::StatusOr<CaseChange> CaseService::RejectCase(const RequestContext& rc,
                                                   const ActionInput& in) {
  return Act(rc, in, CaseAction::kRejectCase, [](Case& c, Micros now) { c.closed_time = now; });
}

absl::StatusOr<std::vector<DuplicateCandidate>> CaseService::SuggestDuplicates(
    const RequestContext& rc, const std::string& case_id, double radius_metres, Micros time_window,
    int max_results) {
  if (rc.caller.user.role != Role::kDispatcher) {
    return absl::PermissionDeniedError("duplicates are checked by the acceptance center");
  }
  FieldViolations v;
  if (case_id.empty()) v.Add("case_id", "is required");
  if (!std::isfinite(radius_metres) || radius_metres < 0 || radius_metres > 5000) {
    v.Add("radius_metres", "must be within [0, 5000]");
  }
  if (time_window < 0 || time_window > 30LL * 24 * kHour) {
    v.Add("time_window", "must be within [0, 30 days]");
  }
  if (max_results < 0 || max_results > 50) v.Add("max_results", "must be within [0, 50]");
  if (!v.empty()) return v.ToStatus();
  if (radius_metres == 0) radius_metres = 200;
  if (time_window == 0) time_window = 72 * kHour;
  if (max_results == 0) max_results = 10;
  auto c = GetCase(rc, case_id);
  if (!c.ok()) return c.status();
  const bool has_fix = c->latitude != 0 || c->longitude != 0;
  store::CaseQuery q;
  q.states = {CaseState::kPendingTriage, CaseState::kDispatched, CaseState::kInProgress,
              CaseState::kReturned, CaseState::kResolved};
  q.subtree_grid_code = rc.caller.user.grid_code;
  q.category_codes = {c->category_code};
  q.observed_from = c->observe_time - time_window;
  q.observed_to = c->observe_time + time_window;
  q.limit = 2000;
  auto near = cases_->ListCases(q);
  if (!near.ok()) return near.status();
  std::vector<DuplicateCandidate> out;
  for (const auto& other : *near) {
    if (other.case_id == c->case_id) continue;
    DuplicateCandidate d{other, std::nullopt, other.observe_time - c->observe_time};
    const bool other_fix = other.latitude != 0 || other.longitude != 0;
    if (has_fix && other_fix) {
      double m = DistanceMetres(c->latitude, c->longitude, other.latitude, other.longitude);
      if (m > radius_metres) continue;
      d.distance_metres = m;
    } else if (other.grid_code != c->grid_code) {
      continue;  // without a fix on either side, only the same grid cell counts
    }
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const DuplicateCandidate& a, const DuplicateCandidate& b) {
    double da = a.distance_metres.value_or(1e18), db = b.distance_metres.value_or(1e18);
    if (da != db) return da < db;
    return a.c.observe_time > b.c.observe_time;
  });
  if (static_cast<int>(out.size()) > max_results) out.resize(max_results);
  return out;
}

absl::StatusOr<CaseChange> CaseService::MarkDuplicate(const RequestContext& rc,
                                                      const ActionInput& in,
                                                      const std::string& duplicate_of_case_id) {
  auto c = LoadForAction(rc.caller, in, static_cast<int>(CaseAction::kMarkDuplicate));
  if (!c.ok()) return c.status();
  FieldViolations v;
  CheckActionText(v, CaseAction::kMarkDuplicate, in.note);
  if (duplicate_of_case_id.empty()) v.Add("duplicate_of_case_id", "is required");
  if (duplicate_of_case_id == in.case_id) {
    v.Add("duplicate_of_case_id", "a case cannot duplicate itself");
  }
  if (!v.empty()) return v.ToStatus();
  auto target = GetCase(rc, duplicate_of_case_id);
  if (!target.ok()) return target.status();
  if (!IsOpen(target->state)) {
    return Precondition("DUPLICATE_TARGET_STATE", CaseStateName(target->state),
                        absl::StrCat("case ", target->case_id, " is ", CaseStateName(target->state),
                                     "; merge only into open cases"));
  }
  const Micros now = rc.now;
  store::CaseWrite w = StartWrite(*c);
  w.events.push_back(MakeEvent(&rc.caller, *c, EventType::kMarkedDuplicate, now,
                               in.note.empty() ? "duplicate of " + target->case_id : in.note));
  EnterState(*c, RuleFor(CaseAction::kMarkDuplicate).to, now);
  c->duplicate_of_case_id = target->case_id;
  c->closed_time = now;
  return Commit(*c, std::move(w), now);
}

absl::StatusOr<CaseChange> CaseService::CorrectCategory(const RequestContext& rc,
                                                        const ActionInput& in,
                                                        const std::string& category_code) {
  auto c = LoadForAction(rc.caller, in, static_cast<int>(CaseAction::kCorrectCategory));
  if (!c.ok()) return c.status();
  FieldViolations v;
  CheckActionText(v, CaseAction::kCorrectCategory, in.note);
  if (category_code.empty()) {
    v.Add("category_code", "is required");
  } else if (category_code == c->category_code) {
    v.Add("category_code", "is already the case's category");
  } else {
    auto k = org_->FindCategory(category_code);
    if (!k.ok()) return k.status();
    if (!k->has_value()) v.Add("category_code", "unknown category " + category_code);
  }
  if (!v.empty()) return v.ToStatus();
  const Micros now = rc.now;
  store::CaseWrite w = StartWrite(*c);
  Case before = *c;
  c->category_code = category_code;
  w.events.push_back(MakeEvent(
      &rc.caller, before, EventType::kCategoryCorrected, now,
      in.note.empty() ? absl::StrCat(before.category_code, " -> ", category_code) : in.note));
  if (c->state != CaseState::kPendingTriage) {
    // Already filed: re-route by the rules for the new category, keeping the deadline.
    auto route = RouteOrFail(org_, category_code, *c);
    if (!route.ok()) return route.status();
    if (route->lead_department_code != c->lead_department_code) {
      if (auto s = CancelPendingExtension(*c, w, now); !s.ok()) return s;
    }
    c->lead_department_code = route->lead_department_code;
    c->assisting_department_codes = route->assisting_department_codes;
    c->returned_by_department_code.clear();
    c->return_reason.clear();
    EnterState(*c, RuleFor(CaseAction::kRouteCase).to, now);
    w.events.push_back(MakeEvent(
        &rc.caller, before, EventType::kRouted, now,
        route->rule ? "routing rule " + route->rule->rule_id : "street office (属地兜底)"));
  }
  return Commit(*c, std::move(w), now);
}

absl::StatusOr<CaseChange> CaseService::RouteCase(const RequestContext& rc, const ActionInput& in,
                                                  const std::string& lead,
                                                  const std::vector<std::string>& assisting) {
  auto c = LoadForAction(rc.caller, in, static_cast<int>(CaseAction::kRouteCase));
  if (!c.ok()) return c.status();
  FieldViolations v;
  CheckActionText(v, CaseAction::kRouteCase, in.note);
  auto known = [&](const std::string& code) { return DepartmentExists(org_, code); };
  if (lead.empty()) {
    v.Add("lead_department_code", "is required");
  } else {
    auto k = known(lead);
    if (!k.ok()) return k.status();
    if (!*k) v.Add("lead_department_code", "unknown department " + lead);
  }
  std::set<std::string> seen;
  for (const auto& a : assisting) {
    if (a == lead) v.Add("assisting_department_codes", "the lead department cannot also assist");
    if (!seen.insert(a).second) v.Add("assisting_department_codes", "lists " + a + " twice");
    auto k = known(a);
    if (!k.ok()) return k.status();
    if (!*k) v.Add("assisting_department_codes", "unknown department " + a);
  }
  if (!v.empty()) return v.ToStatus();
  const Micros now = rc.now;
  store::CaseWrite w = StartWrite(*c);
  Case before = *c;
  const bool lead_changes = lead != c->lead_department_code;
  if (lead_changes) {
    if (auto s = CancelPendingExtension(*c, w, now); !s.ok()) return s;
  }
  c->lead_department_code = lead;
  c->assisting_department_codes = assisting;
  c->returned_by_department_code.clear();
  c->return_reason.clear();
  // A case in progress stays so when only the assisting departments change.
  if (!(c->state == CaseState::kInProgress && !lead_changes)) {
    EnterState(*c, RuleFor(CaseAction::kRouteCase).to, now);
  }
  w.events.push_back(MakeEvent(&rc.caller, before, EventType::kRouted, now, in.note));
  return Commit(*c, std::move(w), now);
}

absl::StatusOr<CaseChange> CaseService::DecideExtension(const RequestContext& rc,
                                                        const std::string& extension_request_id,
                                                        bool approve, const std::string& note,
                                                        Micros approved_deadline_time,
                                                        int64_t expected_version) {
  if (rc.caller.user.role != Role::kDispatcher) {
    return absl::PermissionDeniedError("extension requests are decided by the acceptance center");
  }
  if (extension_request_id.empty()) return InvalidField("extension_request_id", "is required");
  auto x = cases_->GetExtensionRequest(extension_request_id);
  if (!x.ok()) return x.status();
  if (!x->has_value()) {
    return absl::NotFoundError(absl::StrCat("extension request ", extension_request_id));
  }
  ActionInput in;
  in.case_id = (*x)->case_id;
  in.expected_version = expected_version;
  in.note = note;
  auto c = cases_->GetCase(in.case_id);
  if (!c.ok()) return c.status();
  if (!c->has_value() || !CanSee(rc.caller.user, **c)) {
    return absl::NotFoundError(absl::StrCat("extension request ", extension_request_id));
  }
  if ((*x)->state != ExtensionState::kPending) {
    return Precondition("EXTENSION_STATE", ExtensionStateName((*x)->state),
                        absl::StrCat("the request is ", ExtensionStateName((*x)->state)));
  }
  auto loaded = LoadForAction(rc.caller, in, static_cast<int>(CaseAction::kDecideExtension));
  if (!loaded.ok()) return loaded.status();
  Case cur = *loaded;
  FieldViolations v;
  CheckActionText(v, CaseAction::kDecideExtension, note, /*negative=*/!approve);
  Micros new_deadline =
      approved_deadline_time != 0 ? approved_deadline_time : (*x)->requested_deadline_time;
  if (approve && new_deadline <= cur.deadline_time) {
    v.Add("approved_deadline_time", "must be after the case's current deadline");
  }
  if (!v.empty()) return v.ToStatus();
  const Micros now = rc.now;
  store::CaseWrite w = StartWrite(cur);
  ExtensionRequest decided = **x;
  decided.state = approve ? ExtensionState::kApproved : ExtensionState::kDenied;
  decided.decided_by_user_id = rc.caller.user.user_id;
  decided.decision_note = note;
  decided.decide_time = now;
  if (approve) {
    decided.approved_deadline_time = new_deadline;
    cur.deadline_time = new_deadline;
    cur.warning_level = 0;  // warnings start over for the new deadline
  }
  w.extension_upserts.push_back(decided);
  w.events.push_back(MakeEvent(&rc.caller, cur, EventType::kExtensionDecided, now,
                               absl::StrCat(approve ? "approved " : "denied ", extension_request_id,
                                            note.empty() ? "" : ": ", note)));
  return Commit(cur, std::move(w), now);
}

// ---- Line departments -------------------------------------------------------------------------

absl::StatusOr<CaseChange> CaseService::AcceptAssignment(const RequestContext& rc,
                                                         const ActionInput& in) {
  return Act(rc, in, CaseAction::kAcceptAssignment);
}

absl::StatusOr<CaseChange> CaseService::ReturnCase(const RequestContext& rc,
                                                   const ActionInput& in) {
  return Act(rc, in, CaseAction::kReturnCase, [&in](Case& c, Micros) {
    c.returned_by_department_code = c.lead_department_code;
    c.return_reason = in.note;
    c.lead_department_code.clear();
  });
}

absl::StatusOr<ExtensionRequest> CaseService::RequestExtension(const RequestContext& rc,
                                                               const ActionInput& in,
                                                               Micros requested_deadline_time,
                                                               CaseChange* change) {
  auto c = LoadForAction(rc.caller, in, static_cast<int>(CaseAction::kRequestExtension));
  if (!c.ok()) return c.status();
  FieldViolations v;
  CheckActionText(v, CaseAction::kRequestExtension, in.note);
  if (requested_deadline_time == 0) {
    v.Add("requested_deadline_time", "is required");
  } else if (requested_deadline_time <= c->deadline_time) {
    v.Add("requested_deadline_time", "must be after the current deadline");
  } else if (requested_deadline_time > c->deadline_time + kMaxExtension) {
    v.Add("requested_deadline_time", "must be at most 90 days after the current deadline");
  }
  if (!v.empty()) return v.ToStatus();
  store::ExtensionQuery q;
  q.case_id = c->case_id;
  q.states = {ExtensionState::kPending};
  auto pending = cases_->ListExtensionRequests(q);
  if (!pending.ok()) return pending.status();
  if (!pending->empty()) {
    return Precondition("EXTENSION_PENDING", pending->front().extension_request_id,
                        "an extension request is already pending for this case");
  }
  const Micros now = rc.now;
  ExtensionRequest x;
  x.extension_request_id = absl::StrCat("x", util::RandomHex(12));
  x.case_id = c->case_id;
  x.department_code = c->lead_department_code;
  x.requested_by_user_id = rc.caller.user.user_id;
  x.current_deadline_time = c->deadline_time;
  x.requested_deadline_time = requested_deadline_time;
  x.reason = in.note;
  x.state = ExtensionState::kPending;
  x.create_time = now;
  store::CaseWrite w = StartWrite(*c);
  w.extension_upserts.push_back(x);
  w.events.push_back(MakeEvent(&rc.caller, *c, EventType::kExtensionRequested, now,
                               absl::StrCat(x.extension_request_id, ": ", in.note)));
  auto written = Commit(*c, std::move(w), now);
  if (!written.ok()) return written.status();
  if (change) *change = *std::move(written);
  return x;
}

absl::StatusOr<CaseChange> CaseService::AddProgress(const RequestContext& rc,
                                                    const ActionInput& in) {
  return Act(rc, in, CaseAction::kAddProgress);
}

absl::StatusOr<CaseChange> CaseService::ResolveCase(const RequestContext& rc,
                                                    const ActionInput& in) {
  return Act(rc, in, CaseAction::kResolveCase, [&in](Case& c, Micros) {
    c.resolution_note = in.note;
    c.after_photo_ids = in.attachment_ids;
  });
}

// ---- Verification -----------------------------------------------------------------------------

absl::StatusOr<CaseChange> CaseService::VerifyCase(const RequestContext& rc, const ActionInput& in,
                                                   bool passed, VerifyDoor door) {
  if (door == VerifyDoor::kGridLeader && rc.caller.user.role != Role::kGridLeader) {
    return absl::PermissionDeniedError(
        "ReportService.VerifyCase is the grid leader's; the center uses DispatchService");
  }
  if (door == VerifyDoor::kCenter && rc.caller.user.role != Role::kDispatcher) {
    return absl::PermissionDeniedError("DispatchService is the acceptance center's");
  }
  auto c = LoadForAction(rc.caller, in, static_cast<int>(CaseAction::kVerifyCase));
  if (!c.ok()) return c.status();
  FieldViolations v;
  CheckActionText(v, CaseAction::kVerifyCase, in.note, /*negative=*/!passed);
  if (auto s = CheckAttachments(v, "attachment_ids", in.attachment_ids); !s.ok()) return s;
  if (!v.empty()) return v.ToStatus();
  const Micros now = rc.now;
  store::CaseWrite w = StartWrite(*c);
  w.events.push_back(MakeEvent(
      &rc.caller, *c, passed ? EventType::kVerificationPassed : EventType::kVerificationFailed, now,
      in.note, in.attachment_ids));
  if (passed) {
    EnterState(*c, RuleFor(CaseAction::kVerifyCase).to, now);
    c->closed_time = now;
  } else {
    // Rework (返工): back to the same department, counted.
    EnterState(*c, RuleFor(CaseAction::kVerifyCase).to_otherwise, now);
    c->rework_count += 1;
  }
  return Commit(*c, std::move(w), now);
}

// ---- Deadline warnings ----------------------------------------------------------------------

absl::StatusOr<int> CaseService::WarnDeadlines(Micros now, Micros warn_before) {
  int written = 0;
  for (int level : {2, 1}) {  // overdue first, so a long-overdue case skips "due soon"
    store::CaseQuery q;
    q.states = {CaseState::kDispatched, CaseState::kInProgress, CaseState::kReturned};
    q.deadline_before = level == 2 ? now : now + warn_before;
    q.warning_level_below = level;
    q.order = store::CaseQuery::Order::kDeadlineSoonest;
    q.limit = 500;
    auto due = cases_->ListCases(q);
    if (!due.ok()) return due.status();
    for (Case c : *due) {
      store::CaseWrite w = StartWrite(c);
      const absl::Time deadline = absl::FromUnixMicros(c.deadline_time);
      const std::string when = absl::FormatTime("%Y-%m-%d %H:%M", deadline, zone_);
      w.events.push_back(MakeEvent(nullptr, c, EventType::kOverdueWarning, now,
                                   level == 2 ? absl::StrCat("overdue: the deadline was ", when)
                                              : absl::StrCat("due soon: the deadline is ", when)));
      c.warning_level = level;
      auto done = Commit(c, std::move(w), now);
      if (done.ok()) {
        ++written;
      } else if (!absl::IsAborted(done.status())) {
        return done.status();
      }
    }
  }
  return written;
}

}  // namespace gridline::service
