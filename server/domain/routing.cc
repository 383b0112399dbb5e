#include "server/domain/routing.h"

#include <algorithm>

#include "absl/strings/str_split.h"

namespace gridline::domain {

std::vector<std::string> PathCodes(const std::string& path) {
  return absl::StrSplit(path, '/', absl::SkipEmpty());
}

absl::StatusOr<RouteDecision> ResolveRoute(store::Store* store, const std::string& category_code,
                                           const Grid& grid) {
  auto rules = store->ListRoutingRulesForCategory(category_code);
  if (!rules.ok()) return rules.status();
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
  for (const auto& r : *rules) {
    int d = depth(r);
    if (d >= 0) matching.emplace_back(d, r);
  }
  std::stable_sort(matching.begin(), matching.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  RouteDecision out;
  if (!matching.empty()) {
    out.source = RouteDecision::Source::kRule;
    out.rule = matching.front().second;
    out.lead_department_code = out.rule->lead_department_code;
    out.assisting_department_codes = out.rule->assisting_department_codes;
    for (size_t i = 1; i < matching.size(); ++i) out.shadowed_rules.push_back(matching[i].second);
    return out;
  }
  // 属地兜底: the street office of the STREET grid at or above the case's grid.
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    auto g = store->FindGrid(*it);
    if (!g.ok()) return g.status();
    if (g->has_value() && (*g)->level == GridLevel::kStreet) {
      out.street_grid_code = *it;
      break;
    }
  }
  out.source = RouteDecision::Source::kNoRoute;
  if (out.street_grid_code.empty()) return out;
  auto depts = store->ListDepartments();
  if (!depts.ok()) return depts.status();
  for (const auto& d : *depts) {
    if (d.grid_code == out.street_grid_code && d.parent_code.empty()) {
      out.source = RouteDecision::Source::kTerritorialFallback;
      out.lead_department_code = d.code;
      break;
    }
  }
  return out;
}

}  // namespace gridline::domain
