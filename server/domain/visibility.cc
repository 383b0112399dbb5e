#include "server/domain/visibility.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gridline::domain {

bool CanSee(const User& user, const std::string& reporter_user_id, const std::string& grid_path,
            const std::string& lead_department_code,
            const std::vector<std::string>& assisting_department_codes) {
  if (user.disabled) return false;
  auto in_subtree = [&] { return PathHasGrid(grid_path, user.grid_code); };
  switch (user.role) {
    case Role::kGridLeader:
      return reporter_user_id == user.user_id || in_subtree();
    case Role::kDispatcher:
    case Role::kSupervisor:
      return in_subtree();
    case Role::kDepartmentStaff:
      if (user.department_code.empty()) return false;
      if (lead_department_code == user.department_code) return true;
      for (const auto& d : assisting_department_codes) {
        if (d == user.department_code) return true;
      }
      return false;
    case Role::kOperator:
      return true;
    case Role::kPublicApp:  // only PUBLIC cases: the Case overload; no events, no streams
    case Role::kUnspecified:
      break;
  }
  return false;
}

bool CanSee(const User& user, const Case& c) {
  if (user.role == Role::kPublicApp) {
    return !user.disabled && c.source == CaseSource::kPublic &&
           PathHasGrid(c.grid_path, user.grid_code);
  }
  return CanSee(user, c.reporter_user_id, c.grid_path, c.lead_department_code,
                c.assisting_department_codes);
}

bool CanSee(const User& user, const CaseEvent& e) {
  return CanSee(user, e.reporter_user_id, e.grid_path, e.lead_department_code,
                e.assisting_department_codes);
}

std::vector<std::string> EventInterestKeys(const CaseEvent& e) {
  std::vector<std::string> keys;
  for (absl::string_view code : absl::StrSplit(e.grid_path, '/', absl::SkipEmpty())) {
    keys.push_back(absl::StrCat("g:", code));
  }
  if (!e.reporter_user_id.empty()) keys.push_back("u:" + e.reporter_user_id);
  if (!e.lead_department_code.empty()) keys.push_back("d:" + e.lead_department_code);
  if (!e.previous_lead_department_code.empty()) {
    keys.push_back("d:" + e.previous_lead_department_code);
  }
  for (const auto& a : e.assisting_department_codes) keys.push_back("d:" + a);
  return keys;
}

bool QueueStreamShows(const User& dispatcher, const std::string& grid_code, const CaseEvent& e) {
  const bool supervisor = dispatcher.role == Role::kSupervisor;
  if ((dispatcher.role != Role::kDispatcher && !supervisor) || dispatcher.disabled ||
      grid_code.empty()) {
    return false;
  }
  if (!CanSee(dispatcher, e)) return false;
  if (!PathHasGrid(e.grid_path, grid_code)) return false;
  switch (e.type) {
    // Supervision (督办) concerns the center and the supervisors above the case.
    case EventType::kSupervisionOrdered:
    case EventType::kSupervisionAcknowledged:
    case EventType::kSupervisionAnswered:
    case EventType::kSupervisionEscalated:
      return true;
    default:
      break;
  }
  if (supervisor) return e.type == EventType::kOverdueWarning;
  switch (e.type) {
    case EventType::kReported:
    case EventType::kReturnedNotResponsible:
    case EventType::kExtensionRequested:
    case EventType::kOverdueWarning:
    case EventType::kAcceptedForFiling:
    case EventType::kRejectedInvalid:
    case EventType::kMarkedDuplicate:
    case EventType::kCategoryCorrected:
    case EventType::kRouted:
    case EventType::kExtensionDecided:
      return true;
    default:
      return false;
  }
}

bool AssignmentStreamShows(const User& staff, bool include_assisting, const CaseEvent& e) {
  if (staff.role != Role::kDepartmentStaff || staff.disabled || staff.department_code.empty()) {
    return false;
  }
  const std::string& d = staff.department_code;
  if (e.lead_department_code == d || e.previous_lead_department_code == d) return true;
  if (!include_assisting) return false;
  for (const auto& a : e.assisting_department_codes) {
    if (a == d) return true;
  }
  return false;
}

}  // namespace gridline::domain
