// Dispatch by routing rules (派遣规则), shared by filing, category correction and the operators'
// dry run (AdminService.ResolveRoute), so that all three agree.
#ifndef GRIDLINE_SERVER_DOMAIN_ROUTING_H_
#define GRIDLINE_SERVER_DOMAIN_ROUTING_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/domain/types.h"
#include "server/store/store.h"

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

// The rule with the deepest grid on `grid`'s path (or a platform-wide one) wins; with no rule,
// the street office of the grid leads (属地兜底): the department without a parent whose grid is
// the STREET grid at or above `grid`.
absl::StatusOr<RouteDecision> ResolveRoute(store::Store* store, const std::string& category_code,
                                           const Grid& grid);

// The grid codes on `path` ("/a/b/c/"), root first.
std::vector<std::string> PathCodes(const std::string& path);

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_ROUTING_H_
