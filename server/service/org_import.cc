#include "server/service/org_import.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/domain/errors.h"
#include "server/service/domain_names.h"

namespace gridline::service {

namespace {

bool SameGrid(const Grid& a, const Grid& b) {
  return a.code == b.code && a.name == b.name && a.level == b.level &&
         a.parent_code == b.parent_code && a.boundary_geojson == b.boundary_geojson;
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

// Orders entries so that each comes after its parent (when the parent is among them too): by
// depth, the number of parents above an entry among `all` (all.size() + 1 on or below a cycle).
// Each code's depth is found once, so that a chain of 200,000 departments is ordered in linear
// time (walking up from every entry took quadratic time).
template <typename T>
void ParentsFirst(std::vector<T>* items, const std::vector<T>& all) {
  std::unordered_map<std::string, const T*> by_code;
  for (const T& t : all) by_code.emplace(t.code, &t);
  const int cap = static_cast<int>(all.size()) + 1;
  std::unordered_map<std::string, int> known;  // code -> depth
  // The depth of an entry whose parent code is `parent`.
  auto depth_below = [&](const std::string& parent) {
    if (parent.empty() || !by_code.count(parent)) return 0;
    // Up from `parent` to a code of known depth, a root, an unknown code or a code met already on
    // this walk (a cycle); then the depths down the walk.
    std::vector<std::string> walk;
    std::unordered_map<std::string, size_t> on_walk;
    int above = -1;  // the depth of what the walk stopped at; -1: nothing (a root's parent)
    std::string cur = parent;
    while (true) {
      if (auto it = known.find(cur); it != known.end()) {
        above = it->second;
        break;
      }
      if (!on_walk.emplace(cur, walk.size()).second) {
        above = cap;
        break;
      }
      walk.push_back(cur);
      const std::string& next = by_code.at(cur)->parent_code;
      if (next.empty() || !by_code.count(next)) break;
      cur = next;
    }
    for (size_t i = walk.size(); i-- > 0;) {
      above = std::min(cap, above + 1);
      known[walk[i]] = above;
    }
    return std::min(cap, known.at(parent) + 1);
  };
  std::vector<std::pair<int, T>> keyed;
  keyed.reserve(items->size());
  for (T& t : *items) {
    const int d = depth_below(t.parent_code);
    keyed.emplace_back(d, std::move(t));
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  items->clear();
  for (auto& [d, t] : keyed) items->push_back(std::move(t));
}

}  // namespace

absl::StatusOr<Caller> Authenticate(store::TokenStore* store, absl::string_view token,
                                    bool demo_mode, Micros now) {
  if (token.empty()) {
    return absl::UnauthenticatedError("missing bearer token in 'authorization' metadata");
  }
  auto caller = store->FindCallerByTokenHash(HashToken(token), now);
  if (!caller.ok()) return caller.status();
  return AcceptFound(*std::move(caller), demo_mode);
}

absl::StatusOr<Caller> AcceptFound(std::optional<Caller> found, bool demo_mode) {
  if (!found.has_value()) {
    return absl::UnauthenticatedError("unknown, revoked or expired token");
  }
  if (found->demo_token && !demo_mode) {
    // The demo tokens are public (they are in the repository): never outside demo mode.
    return absl::UnauthenticatedError(
        "demo tokens work only while the server runs in demo mode; ask an operator for a token");
  }
  return *std::move(found);
}

absl::StatusOr<ImportPlan> PlanImport(store::OrganisationStore* store, const Organisation& incoming,
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
    already.insert(domain::ViolationSignature(v));
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
    return imported || !already.count(domain::ViolationSignature(v));
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

absl::Status ApplyImport(store::OrganisationStore* org, store::TokenStore* tokens,
                         const ImportPlan& plan, Micros now) {
  if (!plan.violations.empty()) {
    return absl::FailedPreconditionError("an import with violations cannot be applied");
  }
  const Organisation& u = plan.upserts;
  if (u.grids.empty() && u.departments.empty() && u.categories.empty() && u.routing_rules.empty() &&
      u.users.empty()) {
    return absl::OkStatus();  // nothing changes: nothing to write, nothing to race
  }
  if (absl::Status s = org->ChangeOrganisation(u, {}, plan.version); !s.ok()) return s;
  for (const std::string& user_id : plan.users_to_disable) {
    if (absl::Status s = tokens->DisableUser(user_id, now); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> StoreDemoTokens(store::TokenStore* store,
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

absl::StatusOr<std::vector<std::string>> LoadOrganisation(store::OrganisationStore* store,
                                                          store::TokenStore* tokens,
                                                          const Organisation& org, bool demo,
                                                          Micros now) {
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
    absl::Status s = ApplyImport(store, tokens, *plan, now);
    if (s.code() == absl::StatusCode::kAborted && attempt < kAttempts) continue;
    if (!s.ok()) return s;
    break;
  }
  if (!demo) return std::vector<std::string>{};
  return StoreDemoTokens(tokens, org);
}

}  // namespace gridline::service
