#include "server/domain/organisation.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "server/domain/errors.h"
#include "server/domain/grid_geometry.h"
#include "server/domain/report_checks.h"
#include "server/util/sha256.h"

namespace gridline::domain {
namespace {

constexpr int kMaxDeadlineHours = 8760;  // a year
constexpr char kCodeRule[] = "must be 1..32 characters of [0-9A-Za-z_-]";
constexpr char kIdRule[] = "must be 1..64 characters of [0-9A-Za-z_.-]";

bool IsCodeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

const char* LevelName(GridLevel level) {
  switch (level) {
    case GridLevel::kCity:
      return "CITY";
    case GridLevel::kDistrict:
      return "DISTRICT";
    case GridLevel::kStreet:
      return "STREET";
    case GridLevel::kCommunity:
      return "COMMUNITY";
    case GridLevel::kCell:
      return "CELL";
    case GridLevel::kCompound:
      return "COMPOUND";
    case GridLevel::kUnspecified:
      break;
  }
  return "GRID_LEVEL_UNSPECIFIED";
}

bool IsKnownLevel(GridLevel level) {
  int v = static_cast<int>(level);
  return v >= 1 && v <= 6;
}

bool RoleNeedsGrid(Role role) {
  return role == Role::kGridLeader || role == Role::kDispatcher || role == Role::kSupervisor ||
         role == Role::kPublicApp;
}

// Keeps what the options let through, up to the limit.
class Collector {
 public:
  explicit Collector(const OrgCheckOptions& options) : options_(options) {}

  void Add(OrgKind kind, const std::string& key, size_t index, std::string field,
           std::string description) {
    OrgViolation v{kind, key, static_cast<int64_t>(index), std::move(field),
                   std::move(description)};
    if (options_.keep && !options_.keep(v)) return;
    if (result_.violations.size() >= options_.limit) {
      result_.truncated = true;
      return;
    }
    result_.violations.push_back(std::move(v));
  }
  void Progress(OrgKind kind, int64_t done, int64_t total) {
    if (options_.progress) options_.progress(kind, done, total);
  }
  OrgCheckResult Take() { return std::move(result_); }

 private:
  const OrgCheckOptions& options_;
  OrgCheckResult result_;
};

// The cycles of a parent relation, found in one pass: each code is walked once, so an
// organisation of 200,000 grids in one long chain (or one big cycle) is checked in linear time
// (following the parents from every code in turn took quadratic time: hours for a large import).
class ParentCycles {
 public:
  // `codes`: every code of the kind (repeats allowed); `parent_of`: a code's parent code ("" for
  // a root), nullopt for a code that is not in the organisation.
  template <typename ParentOf>
  ParentCycles(const std::vector<const std::string*>& codes, ParentOf parent_of) {
    // Per code met: the walk that met it, and its position in that walk.
    std::unordered_map<std::string, std::pair<size_t, size_t>> seen;
    for (size_t w = 0; w < codes.size(); ++w) {
      std::vector<std::string> walk;
      std::string cur = *codes[w];
      while (true) {
        auto it = seen.find(cur);
        if (it != seen.end()) {
          // Back on this walk: the codes from there on are a cycle, each one's parent the next.
          if (it->second.first == w) {
            const size_t from = it->second.second;
            cycles_.emplace_back(walk.begin() + static_cast<std::ptrdiff_t>(from), walk.end());
            for (size_t i = from; i < walk.size(); ++i) {
              on_cycle_[walk[i]] = {cycles_.size() - 1, i - from};
            }
          }
          break;
        }
        seen.emplace(cur, std::make_pair(w, walk.size()));
        walk.push_back(cur);
        std::optional<std::string> parent = parent_of(cur);
        if (!parent || parent->empty()) break;
        cur = *std::move(parent);
      }
    }
  }

  // When following the parents from `code` comes back to it: the chain "code -> parent -> ...
  // -> code", with at most eight codes shown (the first six, "…", `code`). Otherwise "".
  std::string ChainFrom(const std::string& code) const {
    auto it = on_cycle_.find(code);
    if (it == on_cycle_.end()) return "";
    const std::vector<std::string>& cycle = cycles_[it->second.first];
    const size_t m = cycle.size();
    const size_t at = it->second.second;
    std::vector<absl::string_view> shown;
    if (m + 1 <= 8) {
      for (size_t i = 0; i <= m; ++i) shown.push_back(cycle[(at + i) % m]);
    } else {
      for (size_t i = 0; i < 6; ++i) shown.push_back(cycle[(at + i) % m]);
      shown.push_back("…");
      shown.push_back(code);
    }
    return absl::StrJoin(shown, " -> ");
  }

 private:
  std::vector<std::vector<std::string>> cycles_;
  // Per code on a cycle: the cycle and its position in it.
  std::unordered_map<std::string, std::pair<size_t, size_t>> on_cycle_;
};

void CheckNameField(Collector& c, OrgKind kind, const std::string& key, size_t i, const char* field,
                    const std::string& name) {
  std::string problem = CheckName(name);
  if (!problem.empty()) c.Add(kind, key, i, field, problem);
}

bool CheckHours(int hours, bool zero_ok) {
  return (zero_ok && hours == 0) || (hours >= 1 && hours <= kMaxDeadlineHours);
}

}  // namespace

bool IsValidCode(absl::string_view code) {
  if (code.empty() || code.size() > 32) return false;
  return std::all_of(code.begin(), code.end(), IsCodeChar);
}

bool IsValidId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) { return IsCodeChar(c) || c == '.'; });
}

std::string CheckName(absl::string_view name) {
  int chars = 0;
  if (!IsValidUtf8(name, &chars)) return "must be valid UTF-8";
  if (chars == 0) return "is required";
  if (chars > 100) return absl::StrCat("must be at most 100 characters, got ", chars);
  return "";
}

const char* OrgKindPlural(OrgKind kind) {
  switch (kind) {
    case OrgKind::kGrid:
      return "grids";
    case OrgKind::kDepartment:
      return "departments";
    case OrgKind::kCategory:
      return "categories";
    case OrgKind::kRoutingRule:
      return "routing_rules";
    case OrgKind::kUser:
      return "users";
    case OrgKind::kUnspecified:
      break;
  }
  return "unspecified";
}

OrgCheckResult CheckOrganisation(const Organisation& org, const OrgCheckOptions& options) {
  Collector c(options);
  const int64_t total =
      static_cast<int64_t>(org.grids.size() + org.departments.size() + org.categories.size() +
                           org.routing_rules.size() + org.users.size());
  int64_t done = 0;

  // ---- grids
  constexpr OrgKind kG = OrgKind::kGrid;
  std::unordered_map<std::string, size_t> grid_at;
  for (size_t i = 0; i < org.grids.size(); ++i) {
    const Grid& g = org.grids[i];
    if (!IsValidCode(g.code)) {
      c.Add(kG, g.code, i, "code", kCodeRule);
    } else if (auto [it, inserted] = grid_at.emplace(g.code, i); !inserted) {
      c.Add(kG, g.code, i, "code",
            absl::StrCat("duplicate grid code ", g.code, " (also grids[", it->second, "])"));
    }
    CheckNameField(c, kG, g.code, i, "name", g.name);
    if (g.level == GridLevel::kUnspecified) {
      c.Add(kG, g.code, i, "level", "is required");
    } else if (!IsKnownLevel(g.level)) {
      c.Add(kG, g.code, i, "level", absl::StrCat("unknown level ", static_cast<int>(g.level)));
    }
  }
  auto grid_parent = [&](const std::string& code) -> std::optional<std::string> {
    auto it = grid_at.find(code);
    if (it == grid_at.end()) return std::nullopt;
    return org.grids[it->second].parent_code;
  };
  std::vector<const std::string*> grid_codes;
  for (const auto& [code, i] : grid_at) grid_codes.push_back(&code);
  const ParentCycles grid_cycles(grid_codes, grid_parent);
  const Grid* root = nullptr;
  for (size_t i = 0; i < org.grids.size(); ++i) {
    const Grid& g = org.grids[i];
    if (g.parent_code.empty()) {
      if (root == nullptr) {
        root = &g;
      } else {
        c.Add(kG, g.code, i, "parent_code",
              absl::StrCat("only one root grid may exist and ", root->code,
                           " is the root: name a parent"));
      }
      continue;
    }
    auto it = grid_at.find(g.parent_code);
    if (it == grid_at.end()) {
      c.Add(kG, g.code, i, "parent_code", absl::StrCat("unknown parent grid ", g.parent_code));
      continue;
    }
    const Grid& parent = org.grids[it->second];
    if (parent.code == g.code) {
      c.Add(kG, g.code, i, "parent_code", "a grid cannot be its own parent");
      continue;
    }
    if (IsKnownLevel(g.level) && IsKnownLevel(parent.level) && parent.level >= g.level) {
      c.Add(kG, g.code, i, "level",
            absl::StrCat("level ", LevelName(g.level), " is not below parent grid ", parent.code,
                         "'s level ", LevelName(parent.level)));
    }
    if (std::string chain = grid_cycles.ChainFrom(g.code); !chain.empty()) {
      c.Add(kG, g.code, i, "parent_code",
            absl::StrCat("the grid tree would have a cycle: ", chain));
    }
  }
  CheckGridBoundaries(org.grids, [&](size_t i, std::string description) {
    c.Add(kG, org.grids[i].code, i, "boundary_geojson", std::move(description));
  });
  done += static_cast<int64_t>(org.grids.size());
  c.Progress(kG, done, total);

  // ---- departments
  constexpr OrgKind kD = OrgKind::kDepartment;
  std::unordered_map<std::string, size_t> dept_at;
  for (size_t i = 0; i < org.departments.size(); ++i) {
    const Department& d = org.departments[i];
    if (!IsValidCode(d.code)) {
      c.Add(kD, d.code, i, "code", kCodeRule);
    } else if (auto [it, inserted] = dept_at.emplace(d.code, i); !inserted) {
      c.Add(kD, d.code, i, "code",
            absl::StrCat("duplicate department code ", d.code, " (also departments[", it->second,
                         "])"));
    }
    CheckNameField(c, kD, d.code, i, "name", d.name);
    if (!d.grid_code.empty() && !grid_at.count(d.grid_code)) {
      c.Add(kD, d.code, i, "grid_code", absl::StrCat("unknown grid ", d.grid_code));
    }
  }
  auto dept_parent = [&](const std::string& code) -> std::optional<std::string> {
    auto it = dept_at.find(code);
    if (it == dept_at.end()) return std::nullopt;
    return org.departments[it->second].parent_code;
  };
  std::vector<const std::string*> dept_codes;
  for (const auto& [code, i] : dept_at) dept_codes.push_back(&code);
  const ParentCycles dept_cycles(dept_codes, dept_parent);
  for (size_t i = 0; i < org.departments.size(); ++i) {
    const Department& d = org.departments[i];
    if (d.parent_code.empty()) continue;
    if (!dept_at.count(d.parent_code)) {
      c.Add(kD, d.code, i, "parent_code", absl::StrCat("unknown department ", d.parent_code));
    } else if (d.parent_code == d.code) {
      c.Add(kD, d.code, i, "parent_code", "a department cannot be its own parent");
    } else if (std::string chain = dept_cycles.ChainFrom(d.code); !chain.empty()) {
      c.Add(kD, d.code, i, "parent_code",
            absl::StrCat("the departments would have a cycle: ", chain));
    }
  }
  done += static_cast<int64_t>(org.departments.size());
  c.Progress(kD, done, total);

  // ---- categories
  constexpr OrgKind kC = OrgKind::kCategory;
  std::unordered_map<std::string, size_t> cat_at;
  for (size_t i = 0; i < org.categories.size(); ++i) {
    const Category& k = org.categories[i];
    if (!IsValidCode(k.code)) {
      c.Add(kC, k.code, i, "code", kCodeRule);
    } else if (auto [it, inserted] = cat_at.emplace(k.code, i); !inserted) {
      c.Add(
          kC, k.code, i, "code",
          absl::StrCat("duplicate category code ", k.code, " (also categories[", it->second, "])"));
    }
    CheckNameField(c, kC, k.code, i, "name", k.name);
    int kind = static_cast<int>(k.kind);
    if (kind == 0) {
      c.Add(kC, k.code, i, "kind", "is required");
    } else if (kind < 0 || kind > 3) {
      c.Add(kC, k.code, i, "kind", absl::StrCat("unknown kind ", kind));
    }
    if (!CheckHours(k.normal_deadline_hours, false)) {
      c.Add(kC, k.code, i, "normal_deadline_hours",
            absl::StrCat("must be 1..", kMaxDeadlineHours, ", got ", k.normal_deadline_hours));
    }
    if (!CheckHours(k.urgent_deadline_hours, true)) {
      c.Add(kC, k.code, i, "urgent_deadline_hours",
            absl::StrCat("must be 0 (as normal) or 1..", kMaxDeadlineHours, ", got ",
                         k.urgent_deadline_hours));
    }
    if (!CheckHours(k.emergency_deadline_hours, true)) {
      c.Add(kC, k.code, i, "emergency_deadline_hours",
            absl::StrCat("must be 0 (as normal) or 1..", kMaxDeadlineHours, ", got ",
                         k.emergency_deadline_hours));
    }
  }
  done += static_cast<int64_t>(org.categories.size());
  c.Progress(kC, done, total);

  // ---- routing rules
  constexpr OrgKind kR = OrgKind::kRoutingRule;
  std::unordered_map<std::string, size_t> rule_at;
  std::map<std::pair<std::string, std::string>, const RoutingRule*> rule_for;
  for (size_t i = 0; i < org.routing_rules.size(); ++i) {
    const RoutingRule& r = org.routing_rules[i];
    if (!IsValidId(r.rule_id)) {
      c.Add(kR, r.rule_id, i, "rule_id", kIdRule);
    } else if (auto [it, inserted] = rule_at.emplace(r.rule_id, i); !inserted) {
      c.Add(
          kR, r.rule_id, i, "rule_id",
          absl::StrCat("duplicate rule id ", r.rule_id, " (also routing_rules[", it->second, "])"));
    }
    if (r.category_code.empty()) {
      c.Add(kR, r.rule_id, i, "category_code", "is required");
    } else if (!cat_at.count(r.category_code)) {
      c.Add(kR, r.rule_id, i, "category_code", absl::StrCat("unknown category ", r.category_code));
    }
    if (!r.grid_code.empty() && !grid_at.count(r.grid_code)) {
      c.Add(kR, r.rule_id, i, "grid_code", absl::StrCat("unknown grid ", r.grid_code));
    }
    if (r.lead_department_code.empty()) {
      c.Add(kR, r.rule_id, i, "lead_department_code", "is required");
    } else if (!dept_at.count(r.lead_department_code)) {
      c.Add(kR, r.rule_id, i, "lead_department_code",
            absl::StrCat("unknown department ", r.lead_department_code));
    }
    std::set<std::string> assisting;
    for (const auto& a : r.assisting_department_codes) {
      if (!dept_at.count(a)) {
        c.Add(kR, r.rule_id, i, "assisting_department_codes",
              absl::StrCat("unknown department ", a));
      } else if (a == r.lead_department_code) {
        c.Add(kR, r.rule_id, i, "assisting_department_codes",
              absl::StrCat("the lead department ", a, " cannot also assist"));
      } else if (!assisting.insert(a).second) {
        c.Add(kR, r.rule_id, i, "assisting_department_codes",
              absl::StrCat("department ", a, " is listed twice"));
      }
    }
    if (auto [it, inserted] = rule_for.emplace(std::make_pair(r.category_code, r.grid_code), &r);
        !inserted) {
      c.Add(kR, r.rule_id, i, "grid_code",
            absl::StrCat("rule ", it->second->rule_id, " already routes category ", r.category_code,
                         r.grid_code.empty() ? " everywhere" : " in grid " + r.grid_code));
    }
  }
  done += static_cast<int64_t>(org.routing_rules.size());
  c.Progress(kR, done, total);

  // ---- users
  constexpr OrgKind kU = OrgKind::kUser;
  std::unordered_map<std::string, size_t> user_at;
  for (size_t i = 0; i < org.users.size(); ++i) {
    const User& u = org.users[i];
    if (!IsValidId(u.user_id)) {
      c.Add(kU, u.user_id, i, "user_id", kIdRule);
    } else if (auto [it, inserted] = user_at.emplace(u.user_id, i); !inserted) {
      c.Add(kU, u.user_id, i, "user_id",
            absl::StrCat("duplicate user id ", u.user_id, " (also users[", it->second, "])"));
    }
    CheckNameField(c, kU, u.user_id, i, "display_name", u.display_name);
    int role = static_cast<int>(u.role);
    if (role == 0) {
      c.Add(kU, u.user_id, i, "role", "is required");
    } else if (role < 0 || role > static_cast<int>(Role::kPublicApp)) {
      c.Add(kU, u.user_id, i, "role", absl::StrCat("unknown role ", role));
    }
    if (u.grid_code.empty()) {
      if (RoleNeedsGrid(u.role)) {
        c.Add(kU, u.user_id, i, "grid_code",
              absl::StrCat("is required for role ", RoleName(u.role)));
      }
    } else if (!grid_at.count(u.grid_code)) {
      c.Add(kU, u.user_id, i, "grid_code", absl::StrCat("unknown grid ", u.grid_code));
    }
    if (u.department_code.empty()) {
      if (u.role == Role::kDepartmentStaff) {
        c.Add(kU, u.user_id, i, "department_code", "is required for role DEPARTMENT_STAFF");
      }
    } else if (!dept_at.count(u.department_code)) {
      c.Add(kU, u.user_id, i, "department_code",
            absl::StrCat("unknown department ", u.department_code));
    }
  }
  for (size_t i = 0; i < org.departments.size(); ++i) {
    const Department& d = org.departments[i];
    if (!d.leader_user_id.empty() && !user_at.count(d.leader_user_id)) {
      c.Add(OrgKind::kDepartment, d.code, i, "leader_user_id",
            absl::StrCat("unknown user ", d.leader_user_id));
    }
  }
  done += static_cast<int64_t>(org.users.size());
  c.Progress(kU, done, total);
  return c.Take();
}

absl::Status ValidateOrganisation(const Organisation& org) {
  FieldViolations v;
  for (const OrgViolation& x : CheckOrganisation(org).violations) {
    v.Add(absl::StrCat(OrgKindPlural(x.kind), "[", x.index, "].", x.field), x.description);
  }
  return v.ToStatus("the organisation is invalid");
}

std::string HashToken(absl::string_view token) { return util::Sha256Hex(token); }

std::string ViolationSignature(const OrgViolation& v) {
  return absl::StrCat(static_cast<int>(v.kind), "\x1f", v.key, "\x1f", v.field, "\x1f",
                      v.description);
}

}  // namespace gridline::domain
