#include "server/service/routing.h"

#include <vector>

namespace gridline::service {

absl::StatusOr<domain::RouteDecision> ResolveRoute(store::OrganisationStore* store,
                                                   const std::string& category_code,
                                                   const domain::Grid& grid) {
  auto rules = store->ListRoutingRulesForCategory(category_code);
  if (!rules.ok()) return rules.status();
  domain::RouteDecision out = domain::RouteByRules(*rules, grid);
  if (out.source == domain::RouteDecision::Source::kRule) return out;
  std::vector<domain::Grid> path_grids;
  for (const auto& code : domain::PathCodes(grid.path)) {
    auto g = store->FindGrid(code);
    if (!g.ok()) return g.status();
    if (g->has_value()) path_grids.push_back(**g);
  }
  auto departments = store->ListDepartments();
  if (!departments.ok()) return departments.status();
  domain::RouteToStreetOffice(path_grids, *departments, &out);
  return out;
}

}  // namespace gridline::service
