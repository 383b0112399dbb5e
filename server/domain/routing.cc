#include "server/domain/routing.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_split.h"

namespace gridline::domain {

std::vector<std::string> PathCodes(const std::string& path) {
  return absl::StrSplit(path, '/', absl::SkipEmpty());
}

RouteDecision RouteByRules(const std::vector<RoutingRule>& rules, const Grid& grid) {
  const std::vector<std::string> path = PathCodes(grid.path);
  // Depth of a rule's grid on the case's path: 0 platform-wide, -1 not on the path.
  auto depth = [&](const RoutingRule& r) -> int {
    if (r.grid_code.empty()) return 0;
    for (size_t i = 0; i < path.size(); ++i) {
      if (path[i] == r.grid_code) return static_cast<int>(i) + 1;
    }
    return -1;
  };
  std::vector<std::pair<int, RoutingRule>> matching;
  for (const auto& r : rules) {
    int d = depth(r);
    if (d >= 0) matching.emplace_back(d, r);
  }
  std::stable_sort(matching.begin(), matching.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  RouteDecision out;
  if (matching.empty()) return out;
  out.source = RouteDecision::Source::kRule;
  out.rule = matching.front().second;
  out.lead_department_code = out.rule->lead_department_code;
  out.assisting_department_codes = out.rule->assisting_department_codes;
  for (size_t i = 1; i < matching.size(); ++i) out.shadowed_rules.push_back(matching[i].second);
  return out;
}

void RouteToStreetOffice(const std::vector<Grid>& path_grids,
                         const std::vector<Department>& departments, RouteDecision* out) {
  out->source = RouteDecision::Source::kNoRoute;
  for (auto it = path_grids.rbegin(); it != path_grids.rend(); ++it) {
    if (it->level == GridLevel::kStreet) {
      out->street_grid_code = it->code;
      break;
    }
  }
  if (out->street_grid_code.empty()) return;
  for (const auto& d : departments) {
    if (d.grid_code == out->street_grid_code && d.parent_code.empty()) {
      out->source = RouteDecision::Source::kTerritorialFallback;
      out->lead_department_code = d.code;
      return;
    }
  }
}

}  // namespace gridline::domain
