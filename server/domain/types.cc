#include "server/domain/types.h"

#include <atomic>
#include <chrono>

namespace gridline::domain {

const char* CaseStateName(CaseState s) {
  switch (s) {
    case CaseState::kPendingTriage:
      return "PENDING_TRIAGE";
    case CaseState::kDispatched:
      return "DISPATCHED";
    case CaseState::kInProgress:
      return "IN_PROGRESS";
    case CaseState::kReturned:
      return "RETURNED";
    case CaseState::kResolved:
      return "RESOLVED";
    case CaseState::kClosed:
      return "CLOSED";
    case CaseState::kRejected:
      return "REJECTED";
    case CaseState::kMerged:
      return "MERGED";
    case CaseState::kUnspecified:
      break;
  }
  return "CASE_STATE_UNSPECIFIED";
}

const char* CaseSourceName(CaseSource s) {
  switch (s) {
    case CaseSource::kHandset:
      return "HANDSET";
    case CaseSource::kPublic:
      return "PUBLIC";
    case CaseSource::kMedia:
      return "MEDIA";
    case CaseSource::kLeader:
      return "LEADER";
    case CaseSource::kInspection:
      return "INSPECTION";
    case CaseSource::kUnspecified:
      break;
  }
  return "CASE_SOURCE_UNSPECIFIED";
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kGridLeader:
      return "GRID_LEADER";
    case Role::kDispatcher:
      return "DISPATCHER";
    case Role::kDepartmentStaff:
      return "DEPARTMENT_STAFF";
    case Role::kSupervisor:
      return "SUPERVISOR";
    case Role::kOperator:
      return "OPERATOR";
    case Role::kPublicApp:
      return "PUBLIC_APP";
    case Role::kUnspecified:
      break;
  }
  return "ROLE_UNSPECIFIED";
}

const char* ExtensionStateName(ExtensionState s) {
  switch (s) {
    case ExtensionState::kPending:
      return "EXTENSION_PENDING";
    case ExtensionState::kApproved:
      return "EXTENSION_APPROVED";
    case ExtensionState::kDenied:
      return "EXTENSION_DENIED";
    case ExtensionState::kCancelled:
      return "EXTENSION_CANCELLED";
    case ExtensionState::kUnspecified:
      break;
  }
  return "EXTENSION_STATE_UNSPECIFIED";
}

bool PathHasGrid(const std::string& path, const std::string& code) {
  if (code.empty()) return false;
  for (size_t at = path.find(code); at != std::string::npos; at = path.find(code, at + 1)) {
    const size_t end = at + code.size();
    if (at > 0 && path[at - 1] == '/' && end < path.size() && path[end] == '/') return true;
  }
  return false;
}

}  // namespace gridline::domain
