#include "server/domain/workflow.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/domain/case_service.h"
#include "server/domain/errors.h"

namespace gridline::domain {
namespace {

using S = CaseState;

bool IsLead(const User& u, const Case& c) {
  return !u.department_code.empty() && c.lead_department_code == u.department_code;
}

}  // namespace

const char* CaseActionName(CaseAction a) {
  switch (a) {
    case CaseAction::kAcceptCase:
      return "AcceptCase";
    case CaseAction::kRejectCase:
      return "RejectCase";
    case CaseAction::kMarkDuplicate:
      return "MarkDuplicate";
    case CaseAction::kCorrectCategory:
      return "CorrectCategory";
    case CaseAction::kRouteCase:
      return "RouteCase";
    case CaseAction::kDecideExtension:
      return "DecideExtension";
    case CaseAction::kAcceptAssignment:
      return "AcceptAssignment";
    case CaseAction::kReturnCase:
      return "ReturnCase";
    case CaseAction::kRequestExtension:
      return "RequestExtension";
    case CaseAction::kAddProgress:
      return "AddProgress";
    case CaseAction::kResolveCase:
      return "ResolveCase";
    case CaseAction::kVerifyCase:
      return "VerifyCase";
  }
  return "?";
}

const std::vector<CaseAction>& AllCaseActions() {
  static const auto* all = new std::vector<CaseAction>{
      CaseAction::kAcceptCase,       CaseAction::kRejectCase,  CaseAction::kMarkDuplicate,
      CaseAction::kCorrectCategory,  CaseAction::kRouteCase,   CaseAction::kDecideExtension,
      CaseAction::kAcceptAssignment, CaseAction::kReturnCase,  CaseAction::kRequestExtension,
      CaseAction::kAddProgress,      CaseAction::kResolveCase, CaseAction::kVerifyCase};
  return *all;
}

const std::vector<CaseState>& AllowedStates(CaseAction a) {
  static const auto* triage = new std::vector<S>{S::kPendingTriage};
  static const auto* triage_or_returned = new std::vector<S>{S::kPendingTriage, S::kReturned};
  static const auto* correctable =
      new std::vector<S>{S::kPendingTriage, S::kDispatched, S::kReturned};
  static const auto* routable = new std::vector<S>{S::kDispatched, S::kInProgress, S::kReturned};
  static const auto* held = new std::vector<S>{S::kDispatched, S::kInProgress};
  static const auto* dispatched = new std::vector<S>{S::kDispatched};
  static const auto* in_progress = new std::vector<S>{S::kInProgress};
  static const auto* resolved = new std::vector<S>{S::kResolved};
  switch (a) {
    case CaseAction::kAcceptCase:
      return *triage;
    case CaseAction::kRejectCase:
    case CaseAction::kMarkDuplicate:
      return *triage_or_returned;
    case CaseAction::kCorrectCategory:
      return *correctable;
    case CaseAction::kRouteCase:
      return *routable;
    case CaseAction::kDecideExtension:
    case CaseAction::kReturnCase:
    case CaseAction::kRequestExtension:
    case CaseAction::kAddProgress:
      return *held;
    case CaseAction::kAcceptAssignment:
      return *dispatched;
    case CaseAction::kResolveCase:
      return *in_progress;
    case CaseAction::kVerifyCase:
      return *resolved;
  }
  return *triage;
}

bool IsOpen(CaseState s) {
  return s != S::kClosed && s != S::kRejected && s != S::kMerged && s != S::kUnspecified;
}

absl::Status CheckAllowed(const User& actor, const Case& c, CaseAction a) {
  const char* name = CaseActionName(a);
  // 1. Role.
  bool role_ok = false;
  switch (a) {
    case CaseAction::kAcceptCase:
    case CaseAction::kRejectCase:
    case CaseAction::kMarkDuplicate:
    case CaseAction::kCorrectCategory:
    case CaseAction::kRouteCase:
    case CaseAction::kDecideExtension:
      role_ok = actor.role == Role::kDispatcher;
      break;
    case CaseAction::kAcceptAssignment:
    case CaseAction::kReturnCase:
    case CaseAction::kRequestExtension:
    case CaseAction::kAddProgress:
    case CaseAction::kResolveCase:
      role_ok = actor.role == Role::kDepartmentStaff;
      break;
    case CaseAction::kVerifyCase:
      role_ok = actor.role == Role::kGridLeader || actor.role == Role::kDispatcher;
      break;
  }
  if (!role_ok || actor.disabled) {
    return absl::PermissionDeniedError(absl::StrCat(RoleName(actor.role), " may not ", name));
  }
  // 2. Visibility.
  if (!CanSee(actor, c)) return absl::NotFoundError(absl::StrCat("case ", c.case_id, " not found"));
  // 3. Relation.
  switch (a) {
    case CaseAction::kAcceptAssignment:
    case CaseAction::kReturnCase:
    case CaseAction::kRequestExtension:
    case CaseAction::kResolveCase:
      if (!IsLead(actor, c)) {
        return absl::PermissionDeniedError(
            absl::StrCat("department ", actor.department_code, " assists on case ", c.case_id,
                         "; only the lead department ", c.lead_department_code, " may ", name));
      }
      break;
    case CaseAction::kVerifyCase:
      if (actor.role == Role::kGridLeader && c.reporter_user_id != actor.user_id) {
        return absl::PermissionDeniedError(
            "only the grid leader who reported the case, or the acceptance center, verifies it");
      }
      break;
    default:
      break;
  }
  // 4. State.
  const auto& allowed = AllowedStates(a);
  if (std::find(allowed.begin(), allowed.end(), c.state) == allowed.end()) {
    return WrongState(c.state, name);
  }
  return absl::OkStatus();
}

}  // namespace gridline::domain
