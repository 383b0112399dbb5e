#include "server/domain/workflow.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/domain/visibility.h"
#include "server/domain/errors.h"

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
  static const auto* table = new std::vector<ActionRule>{
      // action, RPC, roles, relation, from, to [, to when negative]
      {A::kAcceptCase, "AcceptCase", center, R::kAny, {S::kPendingTriage}, S::kDispatched},
      {A::kRejectCase,
       "RejectCase",
       center,
       R::kAny,
       {S::kPendingTriage, S::kReturned},
       S::kRejected},
      {A::kMarkDuplicate,
       "MarkDuplicate",
       center,
       R::kAny,
       {S::kPendingTriage, S::kReturned},
       S::kMerged},
      {A::kCorrectCategory,
       "CorrectCategory",
       center,
       R::kAny,
       {S::kPendingTriage, S::kDispatched, S::kReturned},
       S::kUnspecified},
      {A::kRouteCase,
       "RouteCase",
       center,
       R::kAny,
       {S::kDispatched, S::kInProgress, S::kReturned},
       S::kDispatched},
      {A::kDecideExtension,
       "DecideExtension",
       center,
       R::kAny,
       {S::kDispatched, S::kInProgress},
       S::kUnspecified},
      {A::kAcceptAssignment,
       "AcceptAssignment",
       staff,
       R::kLeadDepartment,
       {S::kDispatched},
       S::kInProgress},
      {A::kReturnCase,
       "ReturnCase",
       staff,
       R::kLeadDepartment,
       {S::kDispatched, S::kInProgress},
       S::kReturned},
      {A::kRequestExtension,
       "RequestExtension",
       staff,
       R::kLeadDepartment,
       {S::kDispatched, S::kInProgress},
       S::kUnspecified},
      {A::kAddProgress,
       "AddProgress",
       staff,
       R::kAny,
       {S::kDispatched, S::kInProgress},
       S::kUnspecified},
      {A::kResolveCase, "ResolveCase", staff, R::kLeadDepartment, {S::kInProgress}, S::kResolved},
      {A::kVerifyCase,
       "VerifyCase",
       {Role::kGridLeader, Role::kDispatcher},
       R::kReporterOrCenter,
       {S::kResolved},
       S::kClosed,
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
