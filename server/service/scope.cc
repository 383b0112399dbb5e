#include "server/service/scope.h"

#include "absl/strings/str_cat.h"
#include "server/service/domain_names.h"

namespace gridline::service {

absl::StatusOr<std::string> ListSubtree(store::OrganisationStore* store, FieldViolations& v,
                                        const std::string& scope, const std::string& grid_code) {
  if (grid_code.empty()) return scope;
  auto g = store->FindGrid(grid_code);
  if (!g.ok()) return g.status();
  if (!g->has_value()) {
    v.Add("grid_code", scope.empty() ? "unknown grid " + grid_code
                                     : absl::StrCat("grid ", grid_code, " is not in your subtree"));
  } else if (!scope.empty() &&
             (*g)->path.find(absl::StrCat("/", scope, "/")) == std::string::npos) {
    v.Add("grid_code", absl::StrCat("grid ", grid_code, " is not in your subtree"));
  }
  return grid_code;
}

absl::StatusOr<std::string> FiguresSubtree(store::OrganisationStore* store,
                                           const domain::Caller& caller,
                                           const std::string& grid_code) {
  switch (caller.user.role) {
    case domain::Role::kOperator:
      return grid_code;
    case domain::Role::kSupervisor: {
      FieldViolations v;
      auto subtree = ListSubtree(store, v, caller.user.grid_code, grid_code);
      if (!subtree.ok()) return subtree.status();
      if (!v.empty()) return v.ToStatus();
      return *subtree;
    }
    default:
      return absl::PermissionDeniedError(
          absl::StrCat("the evaluation figures are for operators and supervisors; ",
                       caller.user.user_id, " is ", domain::RoleName(caller.user.role)));
  }
}

}  // namespace gridline::service
