// Dispatch by routing rules (派遣规则), shared by filing, category correction and the operators'
// dry run (AdminService.ResolveRoute), so that all three agree. Pure: the service loads the rules,
// grids and departments it needs (service/routing.h).
#ifndef GRIDLINE_SERVER_DOMAIN_ROUTING_H_
#define GRIDLINE_SERVER_DOMAIN_ROUTING_H_

#include <optional>
#include <string>
#include <vector>

#include "server/domain/types.h"

namespace gridline::domain {

struct RouteDecision {
  enum class Source { kRule = 1, kTerritorialFallback = 2, kNoRoute = 3 };
  Source source = Source::kNoRoute;
  std::optional<RoutingRule> rule;  // kRule: the winner
  std::string lead_department_code;
  std::vector<std::string> assisting_department_codes;
  // kTerritorialFallback and kNoRoute: the STREET grid at or above the case's grid.
  std::string street_grid_code;
  // Rules that also match but lose to a more specific one, most specific first.
  std::vector<RoutingRule> shadowed_rules;
};

// Among `rules` (those of the case's category), the rule with the deepest grid on `grid`'s path
// (or a platform-wide one) wins; kNoRoute when none is on the path.
RouteDecision RouteByRules(const std::vector<RoutingRule>& rules, const Grid& grid);

// With no rule, the street office of the grid leads (属地兜底): the department without a parent
// whose grid is the STREET grid at or above the case's grid. `path_grids` are the stored grids on
// the case's path, root first. Fills `street_grid_code` and, when there is such a department,
// makes `out` a kTerritorialFallback to it.
void RouteToStreetOffice(const std::vector<Grid>& path_grids,
                         const std::vector<Department>& departments, RouteDecision* out);

// The grid codes on `path` ("/a/b/c/"), root first.
std::vector<std::string> PathCodes(const std::string& path);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_ROUTING_H_
