#include "server/domain/workflow.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/domain/errors.h"
#include "server/domain/visibility.h"

namespace gridline::domain {
namespace {

using S = CaseState;

bool IsLead(const User& u, const Case& c) {
  return !u.department_code.empty() && c.lead_department_code == u.department_code;
}

}  // namespace

const std::vector<ActionRule>& TransitionTable() {
  using A = CaseAction;
  using R = ActionRelation;
  const std::vector<Role> center = {Role::kDispatcher};
  const std::vector<Role> staff = {Role::kDepartmentStaff};
  using E = EventType;
  using T = ActionRecord::Text;
  using X = CancelsExtension;
  static const auto* table = new std::vector<ActionRule>{
      // action, RPC, roles, relation, from, to,
      //   {event, text field, text, takes photos, cancels a pending extension} [, to when negative]
      {A::kAcceptCase,
       "AcceptCase",
       center,
       R::kAny,
       {S::kPendingTriage},
       S::kDispatched,
       {E::kAcceptedForFiling, "note", T::kOptional, false, X::kNever}},
      {A::kRejectCase,
       "RejectCase",
       center,
       R::kAny,
       {S::kPendingTriage, S::kReturned},
       S::kRejected,
       {E::kRejectedInvalid, "reason", T::kRequired, false, X::kNever}},
      {A::kMarkDuplicate,
       "MarkDuplicate",
       center,
       R::kAny,
       {S::kPendingTriage, S::kReturned},
       S::kMerged,
       {E::kMarkedDuplicate, "note", T::kOptional, false, X::kNever}},
      {A::kCorrectCategory,
       "CorrectCategory",
       center,
       R::kAny,
       {S::kPendingTriage, S::kDispatched, S::kReturned},
       S::kUnspecified,
       {E::kCategoryCorrected, "note", T::kOptional, false, X::kWhenRerouted}},
      {A::kRouteCase,
       "RouteCase",
       center,
       R::kAny,
       {S::kDispatched, S::kInProgress, S::kReturned},
       S::kDispatched,
       {E::kRouted, "note", T::kRequired, false, X::kWhenRerouted}},
      {A::kDecideExtension,
       "DecideExtension",
       center,
       R::kAny,
       {S::kDispatched, S::kInProgress},
       S::kUnspecified,
       {E::kExtensionDecided, "note", T::kRequiredWhenNegative, false, X::kNever}},
      {A::kAcceptAssignment,
       "AcceptAssignment",
       staff,
       R::kLeadDepartment,
       {S::kDispatched},
       S::kInProgress,
       {E::kAssignmentAccepted, "note", T::kOptional, false, X::kNever}},
      {A::kReturnCase,
       "ReturnCase",
       staff,
       R::kLeadDepartment,
       {S::kDispatched, S::kInProgress},
       S::kReturned,
       {E::kReturnedNotResponsible, "reason", T::kRequired, false, X::kAlways}},
      {A::kRequestExtension,
       "RequestExtension",
       staff,
       R::kLeadDepartment,
       {S::kDispatched, S::kInProgress},
       S::kUnspecified,
       {E::kExtensionRequested, "reason", T::kRequired, false, X::kNever}},
      {A::kAddProgress,
       "AddProgress",
       staff,
       R::kAny,
       {S::kDispatched, S::kInProgress},
       S::kUnspecified,
       {E::kProgressAdded, "note", T::kRequired, true, X::kNever}},
      {A::kResolveCase,
       "ResolveCase",
       staff,
       R::kLeadDepartment,
       {S::kInProgress},
       S::kResolved,
       {E::kCaseResolved, "result", T::kRequired, true, X::kAlways}},
      {A::kVerifyCase,
       "VerifyCase",
       {Role::kGridLeader, Role::kDispatcher},
       R::kReporterOrCenter,
       {S::kResolved},
       S::kClosed,
       {E::kVerificationPassed, "note", T::kRequiredWhenNegative, true, X::kNever},
       S::kInProgress},
  };
  return *table;
}

const ActionRule& RuleFor(CaseAction a) {
  const auto& table = TransitionTable();
  return table.at(static_cast<size_t>(a));  // rows are in enum order (domain_test checks)
}

const char* CaseActionName(CaseAction a) { return RuleFor(a).name; }

const std::vector<CaseAction>& AllCaseActions() {
  static const auto* all = [] {
    auto* v = new std::vector<CaseAction>;
    for (const ActionRule& r : TransitionTable()) v->push_back(r.action);
    return v;
  }();
  return *all;
}

const std::vector<CaseState>& AllowedStates(CaseAction a) { return RuleFor(a).from; }

bool IsOpen(CaseState s) {
  return s != S::kClosed && s != S::kRejected && s != S::kMerged && s != S::kUnspecified;
}

absl::Status CheckAllowed(const User& actor, const Case& c, CaseAction a) {
  const ActionRule& rule = RuleFor(a);
  const char* name = rule.name;
  // 1. Role.
  const bool role_ok =
      std::find(rule.roles.begin(), rule.roles.end(), actor.role) != rule.roles.end();
  if (!role_ok || actor.disabled) {
    return absl::PermissionDeniedError(absl::StrCat(RoleName(actor.role), " may not ", name));
  }
  // 2. Visibility.
  if (!CanSee(actor, c)) return absl::NotFoundError(absl::StrCat("case ", c.case_id, " not found"));
  // 3. Relation.
  switch (rule.relation) {
    case ActionRelation::kLeadDepartment:
      if (!IsLead(actor, c)) {
        return absl::PermissionDeniedError(
            absl::StrCat("department ", actor.department_code, " assists on case ", c.case_id,
                         "; only the lead department ", c.lead_department_code, " may ", name));
      }
      break;
    case ActionRelation::kReporterOrCenter:
      if (actor.role == Role::kGridLeader && c.reporter_user_id != actor.user_id) {
        return absl::PermissionDeniedError(
            "only the grid leader who reported the case, or the acceptance center, verifies it");
      }
      break;
    case ActionRelation::kAny:
      break;
  }
  // 4. State.
  if (std::find(rule.from.begin(), rule.from.end(), c.state) == rule.from.end()) {
    return WrongState(c.state, name);
  }
  return absl::OkStatus();
}

}  // namespace gridline::domain
