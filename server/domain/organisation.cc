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
#include "server/domain/case_service.h"
#include "server/domain/errors.h"
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
  return role == Role::kGridLeader || role == Role::kDispatcher || role == Role::kSupervisor;
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

// Follows `parent_of` up from `start`; the chain of codes if it comes back to `start` (a cycle),
// otherwise empty. Bounded, so a cycle further up cannot loop forever.
template <typename ParentOf>
std::vector<std::string> CycleThrough(const std::string& start, size_t bound, ParentOf parent_of) {
  std::vector<std::string> chain = {start};
  std::string cur = parent_of(start).value_or("");
  for (size_t steps = 0; !cur.empty() && steps <= bound; ++steps) {
    chain.push_back(cur);
    if (cur == start) return chain;
    auto next = parent_of(cur);
    if (!next) break;
    cur = *next;
  }
  return {};
}

std::string ChainText(const std::vector<std::string>& chain) {
  if (chain.size() <= 8) return absl::StrJoin(chain, " -> ");
  std::vector<std::string> shown(chain.begin(), chain.begin() + 6);
  shown.push_back("…");
  shown.push_back(chain.back());
  return absl::StrJoin(shown, " -> ");
}

void CheckNameField(Collector& c, OrgKind kind, const std::string& key, size_t i, const char* field,
                    const std::string& name) {
  std::string problem = CheckName(name);
  if (!problem.empty()) c.Add(kind, key, i, field, problem);
}

bool CheckHours(int hours, bool zero_ok) {
  return (zero_ok && hours == 0) || (hours >= 1 && hours <= kMaxDeadlineHours);
}

bool SameGrid(const Grid& a, const Grid& b) {
  return a.code == b.code && a.name == b.name && a.level == b.level &&
         a.parent_code == b.parent_code;
}
bool SameDepartment(const Department& a, const Department& b) {
  return a.code == b.code && a.name == b.name && a.parent_code == b.parent_code &&
         a.grid_code == b.grid_code;
}
bool SameCategory(const Category& a, const Category& b) {
  return a.code == b.code && a.name == b.name && a.kind == b.kind &&
         a.normal_deadline_hours == b.normal_deadline_hours &&
         a.urgent_deadline_hours == b.urgent_deadline_hours &&
         a.emergency_deadline_hours == b.emergency_deadline_hours && a.auto_accept == b.auto_accept;
}
bool SameRule(const RoutingRule& a, const RoutingRule& b) {
  return a.rule_id == b.rule_id && a.category_code == b.category_code &&
         a.grid_code == b.grid_code && a.lead_department_code == b.lead_department_code &&
         a.assisting_department_codes == b.assisting_department_codes;
}
bool SameUser(const User& a, const User& b) {
  return a.user_id == b.user_id && a.display_name == b.display_name && a.role == b.role &&
         a.grid_code == b.grid_code && a.department_code == b.department_code &&
         a.disabled == b.disabled;
}

std::string Signature(const OrgViolation& v) {
  return absl::StrCat(static_cast<int>(v.kind), "\x1f", v.key, "\x1f", v.field, "\x1f",
                      v.description);
}

// Merges one kind of the import onto the stored entries: replaces by key, appends new ones,
// reports duplicates within the import, counts, and collects the upserts.
template <typename T, typename KeyOf, typename Same>
void MergeKind(OrgKind kind, const char* key_field, const std::vector<T>& incoming, KeyOf key_of,
               Same same, std::vector<T>* merged, std::vector<int64_t>* origin,
               ImportCounts* counts, std::vector<T>* upserts, std::vector<OrgViolation>* dups) {
  std::unordered_map<std::string, size_t> at;  // key -> position in merged
  for (size_t p = 0; p < merged->size(); ++p) at.emplace(key_of((*merged)[p]), p);
  origin->assign(merged->size(), -1);
  std::unordered_map<std::string, size_t> first;  // key -> index in the import
  for (size_t i = 0; i < incoming.size(); ++i) {
    const T& x = incoming[i];
    const std::string& key = key_of(x);
    if (auto [it, inserted] = first.emplace(key, i); !inserted) {
      dups->push_back(
          {kind, key, static_cast<int64_t>(i), key_field,
           absl::StrCat("duplicate ", key_field, " ", key, " (first at index ", it->second, ")")});
      continue;
    }
    auto it = at.find(key);
    if (it == at.end()) {
      at.emplace(key, merged->size());
      merged->push_back(x);
      origin->push_back(static_cast<int64_t>(i));
      ++counts->created;
      upserts->push_back(x);
    } else {
      T& stored = (*merged)[it->second];
      if (same(stored, x)) {
        ++counts->unchanged;
      } else {
        ++counts->updated;
        upserts->push_back(x);
      }
      stored = x;
      (*origin)[it->second] = static_cast<int64_t>(i);
    }
  }
}

// Orders entries so that each comes after its parent (when the parent is among them too).
template <typename T>
void ParentsFirst(std::vector<T>* items, const std::vector<T>& all) {
  std::unordered_map<std::string, const T*> by_code;
  for (const T& t : all) by_code.emplace(t.code, &t);
  auto depth = [&](const T& t) {
    int d = 0;
    const T* cur = &t;
    while (!cur->parent_code.empty() && d <= static_cast<int>(all.size())) {
      auto it = by_code.find(cur->parent_code);
      if (it == by_code.end()) break;
      cur = it->second;
      ++d;
    }
    return d;
  };
  std::vector<std::pair<int, T>> keyed;
  keyed.reserve(items->size());
  for (T& t : *items) keyed.emplace_back(depth(t), std::move(t));
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  items->clear();
  for (auto& [d, t] : keyed) items->push_back(std::move(t));
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
    if (auto chain = CycleThrough(g.code, org.grids.size(), grid_parent); !chain.empty()) {
      c.Add(kG, g.code, i, "parent_code",
            absl::StrCat("the grid tree would have a cycle: ", ChainText(chain)));
    }
  }
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
  for (size_t i = 0; i < org.departments.size(); ++i) {
    const Department& d = org.departments[i];
    if (d.parent_code.empty()) continue;
    if (!dept_at.count(d.parent_code)) {
      c.Add(kD, d.code, i, "parent_code", absl::StrCat("unknown department ", d.parent_code));
    } else if (d.parent_code == d.code) {
      c.Add(kD, d.code, i, "parent_code", "a department cannot be its own parent");
    } else if (auto chain = CycleThrough(d.code, org.departments.size(), dept_parent);
               !chain.empty()) {
      c.Add(kD, d.code, i, "parent_code",
            absl::StrCat("the departments would have a cycle: ", ChainText(chain)));
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
    } else if (role < 0 || role > 5) {
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

absl::StatusOr<Caller> Authenticate(store::Store* store, absl::string_view token, bool demo_mode) {
  if (token.empty()) {
    return absl::UnauthenticatedError("missing bearer token in 'authorization' metadata");
  }
  auto caller = store->FindCallerByTokenHash(HashToken(token), NowMicros());
  if (!caller.ok()) return caller.status();
  if (!caller->has_value()) {
    return absl::UnauthenticatedError("unknown, revoked or expired token");
  }
  if ((*caller)->demo_token && !demo_mode) {
    // The demo tokens are public (they are in the repository): never outside demo mode.
    return absl::UnauthenticatedError(
        "demo tokens work only while the server runs in demo mode; ask an operator for a token");
  }
  return **caller;
}

absl::StatusOr<ImportPlan> PlanImport(store::Store* store, const Organisation& incoming,
                                      const ImportProgressFn& progress) {
  // The version first: if the organisation moves between the two reads, applying aborts.
  auto version = store->OrganisationVersion();
  if (!version.ok()) return version.status();
  auto stored = store->LoadOrganisation();
  if (!stored.ok()) return stored.status();

  ImportPlan plan;
  plan.version = *version;
  std::set<std::string> already;  // what was wrong before the import is not its fault
  for (const OrgViolation& v : CheckOrganisation(*stored).violations) {
    already.insert(Signature(v));
  }
  std::map<std::string, bool> was_disabled;
  for (const User& u : stored->users) was_disabled.emplace(u.user_id, u.disabled);

  Organisation merged = *std::move(stored);
  merged.demo_tokens.clear();
  std::array<std::vector<int64_t>, 6> origin;
  std::vector<OrgViolation> dups;
  auto code_of = [](const auto& x) -> const std::string& { return x.code; };
  MergeKind(OrgKind::kGrid, "code", incoming.grids, code_of, SameGrid, &merged.grids, &origin[1],
            &plan.counts[1], &plan.upserts.grids, &dups);
  MergeKind(OrgKind::kDepartment, "code", incoming.departments, code_of, SameDepartment,
            &merged.departments, &origin[2], &plan.counts[2], &plan.upserts.departments, &dups);
  MergeKind(OrgKind::kCategory, "code", incoming.categories, code_of, SameCategory,
            &merged.categories, &origin[3], &plan.counts[3], &plan.upserts.categories, &dups);
  MergeKind(
      OrgKind::kRoutingRule, "rule_id", incoming.routing_rules,
      [](const RoutingRule& r) -> const std::string& { return r.rule_id; }, SameRule,
      &merged.routing_rules, &origin[4], &plan.counts[4], &plan.upserts.routing_rules, &dups);
  MergeKind(
      OrgKind::kUser, "user_id", incoming.users,
      [](const User& u) -> const std::string& { return u.user_id; }, SameUser, &merged.users,
      &origin[5], &plan.counts[5], &plan.upserts.users, &dups);

  OrgCheckOptions options;
  options.limit = dups.size() >= kMaxImportViolations ? 0 : kMaxImportViolations - dups.size();
  options.keep = [&](const OrgViolation& v) {
    const auto& o = origin[static_cast<int>(v.kind)];
    bool imported = v.index >= 0 && static_cast<size_t>(v.index) < o.size() && o[v.index] >= 0;
    return imported || !already.count(Signature(v));
  };
  if (progress) {
    options.progress = [&](OrgKind kind, int64_t done, int64_t total) {
      progress(ImportPhase::kValidating, kind, done, total);
    };
  }
  OrgCheckResult checked = CheckOrganisation(merged, options);

  plan.violations_truncated = checked.truncated || dups.size() > kMaxImportViolations;
  if (dups.size() > kMaxImportViolations) dups.resize(kMaxImportViolations);
  plan.violations = std::move(dups);
  for (OrgViolation& v : checked.violations) {
    v.index = origin[static_cast<int>(v.kind)][v.index];
    if (v.index < 0) {
      absl::StrAppend(&v.description, " (in the stored ", OrgKindPlural(v.kind),
                      ", not in the import)");
    }
    plan.violations.push_back(std::move(v));
  }
  std::stable_sort(plan.violations.begin(), plan.violations.end(),
                   [](const OrgViolation& a, const OrgViolation& b) {
                     auto rank = [](int64_t i) { return i < 0 ? INT64_MAX : i; };
                     return std::make_pair(static_cast<int>(a.kind), rank(a.index)) <
                            std::make_pair(static_cast<int>(b.kind), rank(b.index));
                   });

  ParentsFirst(&plan.upserts.grids, merged.grids);
  ParentsFirst(&plan.upserts.departments, merged.departments);
  for (const User& u : plan.upserts.users) {
    auto it = was_disabled.find(u.user_id);
    if (u.disabled && it != was_disabled.end() && !it->second) {
      plan.users_to_disable.push_back(u.user_id);
    }
  }
  return plan;
}

absl::Status ApplyImport(store::Store* store, const ImportPlan& plan) {
  if (!plan.violations.empty()) {
    return absl::FailedPreconditionError("an import with violations cannot be applied");
  }
  const Organisation& u = plan.upserts;
  if (u.grids.empty() && u.departments.empty() && u.categories.empty() && u.routing_rules.empty() &&
      u.users.empty()) {
    return absl::OkStatus();  // nothing changes: nothing to write, nothing to race
  }
  if (absl::Status s = store->ChangeOrganisation(u, {}, plan.version); !s.ok()) return s;
  for (const std::string& user_id : plan.users_to_disable) {
    if (absl::Status s = store->DisableUser(user_id, NowMicros()); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> StoreDemoTokens(store::Store* store,
                                                         const Organisation& org) {
  std::vector<std::string> lines;
  std::map<std::string, const User*> by_id;
  for (const auto& u : org.users) by_id[u.user_id] = &u;
  for (const auto& [user_id, token] : org.demo_tokens) {
    auto it = by_id.find(user_id);
    if (it == by_id.end() || token.empty()) continue;
    if (absl::Status s = store->PutDemoToken(HashToken(token), user_id); !s.ok()) return s;
    const User& u = *it->second;
    lines.push_back(absl::StrCat(u.user_id, "  ", RoleName(u.role), "  ",
                                 u.department_code.empty() ? u.grid_code : u.department_code, "  ",
                                 token));
  }
  return lines;
}

absl::StatusOr<std::vector<std::string>> LoadOrganisation(store::Store* store,
                                                          const Organisation& org, bool demo) {
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    auto plan = PlanImport(store, org);
    if (!plan.ok()) return plan.status();
    if (!plan->violations.empty()) {
      FieldViolations v;
      for (const OrgViolation& x : plan->violations) {
        v.Add(x.index >= 0
                  ? absl::StrCat(OrgKindPlural(x.kind), "[", x.index, "].", x.field)
                  : absl::StrCat("stored ", OrgKindPlural(x.kind), " ", x.key, ".", x.field),
              x.description);
      }
      return v.ToStatus("the organisation is invalid");
    }
    absl::Status s = ApplyImport(store, *plan);
    if (s.code() == absl::StatusCode::kAborted && attempt < kAttempts) continue;
    if (!s.ok()) return s;
    break;
  }
  if (!demo) return std::vector<std::string>{};
  return StoreDemoTokens(store, org);
}

}  // namespace gridline::domain
