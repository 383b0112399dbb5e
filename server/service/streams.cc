#include "server/service/streams.h"

#include "absl/strings/str_cat.h"
#include "server/domain/errors.h"
#include "server/domain/visibility.h"

namespace gridline::service {

absl::StatusOr<StreamFilter> CaseStreamFor(const domain::Caller& caller) {
  if (caller.user.role != domain::Role::kGridLeader) {
    return absl::PermissionDeniedError("WatchCases is the grid leader's stream");
  }
  domain::User user = caller.user;
  return StreamFilter{[user](const domain::CaseEvent& e) { return domain::CanSee(user, e); },
                      {"u:" + user.user_id, "g:" + user.grid_code}};
}

absl::StatusOr<StreamFilter> QueueStreamFor(store::OrganisationStore* org,
                                            const domain::Caller& caller,
                                            const std::string& grid_code) {
  if (caller.user.role != domain::Role::kDispatcher &&
      caller.user.role != domain::Role::kSupervisor) {
    return absl::PermissionDeniedError(
        "WatchQueue is the acceptance center's and the supervisors' stream");
  }
  std::string grid = caller.user.grid_code;
  if (!grid_code.empty()) {
    auto g = org->FindGrid(grid_code);
    if (!g.ok()) return g.status();
    if (!g->has_value() || (*g)->path.find(absl::StrCat("/", grid, "/")) == std::string::npos) {
      return domain::InvalidField("grid_code",
                                  absl::StrCat("grid ", grid_code, " is not in your subtree"));
    }
    grid = grid_code;
  }
  domain::User user = caller.user;
  return StreamFilter{
      [user, grid](const domain::CaseEvent& e) { return domain::QueueStreamShows(user, grid, e); },
      {"g:" + grid}};
}

absl::StatusOr<StreamFilter> AssignmentStreamFor(const domain::Caller& caller,
                                                 bool include_assisting) {
  if (caller.user.role != domain::Role::kDepartmentStaff) {
    return absl::PermissionDeniedError("WatchAssignments is the departments' stream");
  }
  domain::User user = caller.user;
  return StreamFilter{[user, include_assisting](const domain::CaseEvent& e) {
                        return domain::AssignmentStreamShows(user, include_assisting, e);
                      },
                      {"d:" + user.department_code}};
}

}  // namespace gridline::service
