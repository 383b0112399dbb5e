#include "server/domain/organisation.h"

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/domain/errors.h"
#include "server/util/sha256.h"

namespace gridline::domain {
namespace {

bool IsCode(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

absl::Status ValidateOrganisation(const Organisation& org) {
  FieldViolations v;
  std::map<std::string, const Grid*> grids;
  for (size_t i = 0; i < org.grids.size(); ++i) {
    const Grid& g = org.grids[i];
    std::string f = absl::StrCat("grids[", i, "]");
    if (!IsCode(g.code)) v.Add(f + ".code", "must be 1..64 of [A-Za-z0-9_-]");
    if (!grids.emplace(g.code, &g).second) v.Add(f + ".code", "duplicate grid " + g.code);
    if (g.name.empty()) v.Add(f + ".name", "is required");
    if (g.level == GridLevel::kUnspecified || static_cast<int>(g.level) > 6) {
      v.Add(f + ".level", "is required");
    }
  }
  for (size_t i = 0; i < org.grids.size(); ++i) {
    const Grid& g = org.grids[i];
    std::string f = absl::StrCat("grids[", i, "].parent_code");
    if (g.parent_code.empty()) continue;
    auto it = grids.find(g.parent_code);
    if (it == grids.end()) {
      v.Add(f, "unknown parent grid " + g.parent_code);
      continue;
    }
    if (static_cast<int>(it->second->level) >= static_cast<int>(g.level)) {
      v.Add(f, "a child's level must be below its parent's");
    }
    // Walk up: a cycle would revisit the start.
    std::set<std::string> seen = {g.code};
    for (std::string cur = g.parent_code; !cur.empty();) {
      if (!seen.insert(cur).second) {
        v.Add(f, "the grid tree has a cycle through " + g.code);
        break;
      }
      auto p = grids.find(cur);
      if (p == grids.end()) break;
      cur = p->second->parent_code;
    }
  }
  std::set<std::string> depts;
  for (size_t i = 0; i < org.departments.size(); ++i) {
    const Department& d = org.departments[i];
    std::string f = absl::StrCat("departments[", i, "]");
    if (!IsCode(d.code)) v.Add(f + ".code", "must be 1..64 of [A-Za-z0-9_-]");
    if (!depts.insert(d.code).second) v.Add(f + ".code", "duplicate department " + d.code);
    if (d.name.empty()) v.Add(f + ".name", "is required");
    if (!d.grid_code.empty() && !grids.count(d.grid_code)) {
      v.Add(f + ".grid_code", "unknown grid " + d.grid_code);
    }
  }
  for (size_t i = 0; i < org.departments.size(); ++i) {
    const Department& d = org.departments[i];
    if (!d.parent_code.empty() && !depts.count(d.parent_code)) {
      v.Add(absl::StrCat("departments[", i, "].parent_code"),
            "unknown department " + d.parent_code);
    }
  }
  std::set<std::string> cats;
  for (size_t i = 0; i < org.categories.size(); ++i) {
    const Category& k = org.categories[i];
    std::string f = absl::StrCat("categories[", i, "]");
    if (!IsCode(k.code)) v.Add(f + ".code", "must be 1..64 of [A-Za-z0-9_-]");
    if (!cats.insert(k.code).second) v.Add(f + ".code", "duplicate category " + k.code);
    if (k.name.empty()) v.Add(f + ".name", "is required");
    if (k.normal_deadline_hours <= 0) v.Add(f + ".normal_deadline_hours", "must be positive");
    if (k.urgent_deadline_hours < 0 || k.emergency_deadline_hours < 0) {
      v.Add(f, "deadline hours must not be negative");
    }
  }
  std::set<std::string> rules;
  for (size_t i = 0; i < org.routing_rules.size(); ++i) {
    const RoutingRule& r = org.routing_rules[i];
    std::string f = absl::StrCat("routing_rules[", i, "]");
    if (!IsCode(r.rule_id)) v.Add(f + ".rule_id", "must be 1..64 of [A-Za-z0-9_-]");
    if (!rules.insert(r.rule_id).second) v.Add(f + ".rule_id", "duplicate rule " + r.rule_id);
    if (!cats.count(r.category_code)) v.Add(f + ".category_code", "unknown category");
    if (!r.grid_code.empty() && !grids.count(r.grid_code)) v.Add(f + ".grid_code", "unknown grid");
    if (!depts.count(r.lead_department_code)) {
      v.Add(f + ".lead_department_code", "unknown department");
    }
    for (const auto& a : r.assisting_department_codes) {
      if (!depts.count(a) || a == r.lead_department_code) {
        v.Add(f + ".assisting_department_codes", "unknown or lead department " + a);
      }
    }
  }
  std::set<std::string> users;
  for (size_t i = 0; i < org.users.size(); ++i) {
    const User& u = org.users[i];
    std::string f = absl::StrCat("users[", i, "]");
    if (!IsCode(u.user_id)) v.Add(f + ".user_id", "must be 1..64 of [A-Za-z0-9_-]");
    if (!users.insert(u.user_id).second) v.Add(f + ".user_id", "duplicate user " + u.user_id);
    if (u.role == Role::kUnspecified || static_cast<int>(u.role) > 5) {
      v.Add(f + ".role", "is required");
    }
    if (u.role != Role::kOperator && u.role != Role::kDepartmentStaff &&
        !grids.count(u.grid_code)) {
      v.Add(f + ".grid_code", "must name a grid for this role");
    }
    if (u.role == Role::kDepartmentStaff && !depts.count(u.department_code)) {
      v.Add(f + ".department_code", "must name a department for department staff");
    }
  }
  return v.ToStatus("the organisation is invalid");
}

std::string HashToken(absl::string_view token) { return util::Sha256Hex(token); }

absl::StatusOr<Caller> Authenticate(store::Store* store, absl::string_view token) {
  if (token.empty()) {
    return absl::UnauthenticatedError("missing bearer token in 'authorization' metadata");
  }
  auto user = store->FindUserByTokenHash(HashToken(token));
  if (!user.ok()) return user.status();
  if (!user->has_value()) return absl::UnauthenticatedError("unknown or revoked token");
  return Caller{**user};
}

absl::StatusOr<std::vector<std::string>> LoadOrganisation(store::Store* store,
                                                          const Organisation& org, bool demo) {
  if (absl::Status s = ValidateOrganisation(org); !s.ok()) return s;
  if (absl::Status s = store->ApplyOrganisation(org); !s.ok()) return s;
  std::vector<std::string> lines;
  if (!demo) return lines;
  std::map<std::string, const User*> by_id;
  for (const auto& u : org.users) by_id[u.user_id] = &u;
  for (const auto& [user_id, token] : org.demo_tokens) {
    auto it = by_id.find(user_id);
    if (it == by_id.end() || token.empty()) continue;
    if (absl::Status s = store->PutToken(HashToken(token), user_id, "demo"); !s.ok()) return s;
    const User& u = *it->second;
    lines.push_back(absl::StrCat(u.user_id, "  ", RoleName(u.role), "  ",
                                 u.department_code.empty() ? u.grid_code : u.department_code, "  ",
                                 token));
  }
  return lines;
}

}  // namespace gridline::domain
