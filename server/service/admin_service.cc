#include "server/service/admin_service.h"

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "server/domain/errors.h"
#include "server/service/case_service.h"
#include "server/service/domain_names.h"
#include "server/util/sha256.h"

namespace gridline::service {

namespace {

// A write that loses the race for the organisation version reloads and tries again; each round
// has a winner, so this covers as many concurrent writers as the worker pool runs by default.
constexpr int kWriteAttempts = 8;
constexpr char kPageTokenPrefix[] = "p1.";

const char* Singular(OrgKind kind) {
  switch (kind) {
    case OrgKind::kGrid:
      return "grid";
    case OrgKind::kDepartment:
      return "department";
    case OrgKind::kCategory:
      return "category";
    case OrgKind::kRoutingRule:
      return "routing rule";
    case OrgKind::kUser:
      return "user";
    case OrgKind::kUnspecified:
      break;
  }
  return "entry";
}

bool Has(const std::vector<std::string>& paths, absl::string_view path) {
  return std::find(paths.begin(), paths.end(), path) != paths.end();
}

// INVALID_ARGUMENT unless `paths` is a non-empty list of `mutable_paths`.
absl::Status CheckMask(const std::vector<std::string>& paths,
                       std::initializer_list<absl::string_view> mutable_paths,
                       absl::string_view immutable) {
  FieldViolations v;
  if (paths.empty()) v.Add("update_mask", "is required: name the fields to change");
  for (const std::string& p : paths) {
    if (p == immutable) {
      v.Add("update_mask.paths", absl::StrCat(p, " is immutable: it names the resource"));
    } else if (std::find(mutable_paths.begin(), mutable_paths.end(), p) == mutable_paths.end()) {
      v.Add("update_mask.paths", absl::StrCat("unknown path '", p, "'; mutable paths are ",
                                              absl::StrJoin(mutable_paths, ", ")));
    }
  }
  return v.ToStatus("bad update_mask");
}

absl::Status RequireKey(const char* field, const std::string& key) {
  if (key.empty()) return InvalidField(field, "is required");
  return absl::OkStatus();
}

template <typename T>
T* FindCode(std::vector<T>& items, const std::string& code) {
  for (T& t : items) {
    if (t.code == code) return &t;
  }
  return nullptr;
}

RoutingRule* FindRule(std::vector<RoutingRule>& rules, const std::string& rule_id) {
  for (RoutingRule& r : rules) {
    if (r.rule_id == rule_id) return &r;
  }
  return nullptr;
}

User* FindUserIn(std::vector<User>& users, const std::string& user_id) {
  for (User& u : users) {
    if (u.user_id == user_id) return &u;
  }
  return nullptr;
}

// Collects the IN_USE violations of a delete: one per kind of reference.
class InUse {
 public:
  template <typename T, typename Refers, typename Name>
  void Check(const char* subject, const std::vector<T>& items, Refers refers, Name name) {
    int64_t n = 0;
    std::string example;
    for (const T& t : items) {
      if (!refers(t)) continue;
      if (n++ == 0) example = name(t);
    }
    if (n > 0) {
      violations_.push_back(
          {"IN_USE", subject, absl::StrCat(n, " ", subject, " refer to it, e.g. ", example)});
    }
  }
  // Cases are history: a code any case uses stays.
  absl::Status CheckCases(store::OrganisationStore* store, OrgKind kind, const std::string& code) {
    auto n = store->CountCasesReferencing({kind, code});
    if (!n.ok()) return n.status();
    if (*n > 0) {
      violations_.push_back({"IN_USE", "cases",
                             absl::StrCat(*n,
                                          " cases (open or closed) refer to it; cases are "
                                          "history, so rename it instead")});
    }
    return absl::OkStatus();
  }
  absl::Status ToStatus(OrgKind kind, const std::string& code) const {
    if (violations_.empty()) return absl::OkStatus();
    return PreconditionFailed(violations_, absl::StrCat(Singular(kind), " ", code, " is in use"));
  }

 private:
  std::vector<PreconditionViolation> violations_;
};

absl::Status NotFound(OrgKind kind, const std::string& key) {
  return absl::NotFoundError(absl::StrCat(Singular(kind), " ", key, " not found"));
}

absl::Status Exists(OrgKind kind, const std::string& key) {
  return absl::AlreadyExistsError(absl::StrCat(Singular(kind), " ", key, " exists already"));
}

// ALREADY_EXISTS naming the rule that covers the same category and grid, if any but `self`.
absl::Status CheckRuleSlot(const std::vector<RoutingRule>& rules, const RoutingRule& r) {
  for (const RoutingRule& other : rules) {
    if (other.rule_id == r.rule_id) continue;
    if (other.category_code == r.category_code && other.grid_code == r.grid_code) {
      FieldViolations v;
      v.Add("routing_rule.grid_code",
            absl::StrCat("rule ", other.rule_id, " already routes category ", r.category_code,
                         r.grid_code.empty() ? " everywhere" : " in grid " + r.grid_code));
      return v.ToStatusWithCode(
          absl::StatusCode::kAlreadyExists,
          absl::StrCat("rule ", other.rule_id, " covers the same category and grid"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status PageBounds(const PageRequest& request, size_t total, size_t* begin, size_t* end,
                        std::string* next_page_token) {
  if (request.page_size < 0) return InvalidField("page_size", "must not be negative");
  size_t size = request.page_size == 0 ? 50 : std::min(request.page_size, 500);
  size_t offset = 0;
  if (!request.page_token.empty()) {
    if (!absl::StartsWith(request.page_token, kPageTokenPrefix) ||
        !absl::SimpleAtoi(request.page_token.substr(sizeof(kPageTokenPrefix) - 1), &offset)) {
      return InvalidField("page_token", "is not a page token of this list");
    }
  }
  *begin = std::min(offset, total);
  *end = std::min(total, *begin + size);
  next_page_token->clear();
  if (*end < total) *next_page_token = absl::StrCat(kPageTokenPrefix, *end);
  return absl::OkStatus();
}

absl::Status AdminService::WriteOrganisation(OrgKind kind, const std::string& key,
                                             const std::string& prefix,
                                             const std::string& other_field, const EditFn& edit) {
  for (int attempt = 1;; ++attempt) {
    // The version first: a change between the two reads makes the write abort, never lose.
    auto version = org_->OrganisationVersion();
    if (!version.ok()) return version.status();
    auto org = org_->LoadOrganisation();
    if (!org.ok()) return org.status();
    std::set<std::string> before;
    for (const OrgViolation& v : CheckOrganisation(*org).violations)
      before.insert(domain::ViolationSignature(v));

    OrgEdit out;
    if (absl::Status s = edit(&*org, &out); !s.ok()) return s;

    OrgCheckOptions options;
    options.limit = 100;
    options.keep = [&](const OrgViolation& v) {
      return !before.count(domain::ViolationSignature(v));
    };
    FieldViolations violations;
    for (const OrgViolation& v : CheckOrganisation(*org, options).violations) {
      if (v.kind == kind && v.key == key) {
        violations.Add(absl::StrCat(prefix, ".", v.field), v.description);
      } else {
        violations.Add(other_field,
                       absl::StrCat(Singular(v.kind), " ", v.key, ": ", v.description));
      }
    }
    if (!violations.empty()) return violations.ToStatus(absl::StrCat("invalid ", prefix));

    absl::Status s = org_->ChangeOrganisation(out.upserts, out.deletes, *version);
    if (s.code() == absl::StatusCode::kAborted && attempt < kWriteAttempts) continue;
    return s;
  }
}

// ---- Grids ------------------------------------------------------------------------------------

absl::StatusOr<Grid> AdminService::CreateGrid(const Grid& grid) {
  Grid g = grid;
  g.path.clear();
  absl::Status s = WriteOrganisation(OrgKind::kGrid, g.code, "grid", "grid",
                                     [&](Organisation* org, OrgEdit* out) {
                                       if (!g.code.empty() && FindCode(org->grids, g.code))
                                         return Exists(OrgKind::kGrid, g.code);
                                       org->grids.push_back(g);
                                       out->upserts.grids.push_back(g);
                                       return absl::OkStatus();
                                     });
  if (!s.ok()) return s;
  return GetGrid(g.code);
}

absl::StatusOr<Grid> AdminService::GetGrid(const std::string& code) {
  if (absl::Status s = RequireKey("code", code); !s.ok()) return s;
  auto g = org_->FindGrid(code);
  if (!g.ok()) return g.status();
  if (!g->has_value()) return NotFound(OrgKind::kGrid, code);
  return **g;
}

absl::StatusOr<std::vector<Grid>> AdminService::ListGrids(const std::string& parent_code,
                                                          GridLevel level) {
  auto grids = org_->ListGrids();
  if (!grids.ok()) return grids.status();
  if (!parent_code.empty() && std::none_of(grids->begin(), grids->end(),
                                           [&](const Grid& g) { return g.code == parent_code; })) {
    return InvalidField("parent_code", absl::StrCat("unknown grid ", parent_code));
  }
  std::vector<Grid> out;
  for (Grid& g : *grids) {
    if (!parent_code.empty() && g.parent_code != parent_code) continue;
    if (level != GridLevel::kUnspecified && g.level != level) continue;
    out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(), [](const Grid& a, const Grid& b) { return a.code < b.code; });
  return out;
}

absl::StatusOr<Grid> AdminService::UpdateGrid(const Grid& grid,
                                              const std::vector<std::string>& paths) {
  if (absl::Status s = RequireKey("grid.code", grid.code); !s.ok()) return s;
  if (absl::Status s =
          CheckMask(paths, {"name", "level", "parent_code", "boundary_geojson"}, "code");
      !s.ok()) {
    return s;
  }
  // A level change can break the children; a move can make a cycle through other grids; a new
  // boundary can leave a child outside it or overlap a sibling.
  const std::string other = Has(paths, "level")              ? "grid.level"
                            : Has(paths, "boundary_geojson") ? "grid.boundary_geojson"
                                                             : "grid.parent_code";
  absl::Status s = WriteOrganisation(OrgKind::kGrid, grid.code, "grid", other,
                                     [&](Organisation* org, OrgEdit* out) {
                                       Grid* g = FindCode(org->grids, grid.code);
                                       if (g == nullptr) return NotFound(OrgKind::kGrid, grid.code);
                                       if (Has(paths, "name")) g->name = grid.name;
                                       if (Has(paths, "level")) g->level = grid.level;
                                       if (Has(paths, "parent_code"))
                                         g->parent_code = grid.parent_code;
                                       if (Has(paths, "boundary_geojson"))
                                         g->boundary_geojson = grid.boundary_geojson;
                                       out->upserts.grids.push_back(*g);
                                       return absl::OkStatus();
                                     });
  if (!s.ok()) return s;
  return GetGrid(grid.code);
}

absl::Status AdminService::DeleteGrid(const std::string& code) {
  if (absl::Status s = RequireKey("code", code); !s.ok()) return s;
  return WriteOrganisation(
      OrgKind::kGrid, code, "grid", "code", [&](Organisation* org, OrgEdit* out) -> absl::Status {
        auto it = std::find_if(org->grids.begin(), org->grids.end(),
                               [&](const Grid& g) { return g.code == code; });
        if (it == org->grids.end()) return NotFound(OrgKind::kGrid, code);
        InUse use;
        use.Check(
            "grids", org->grids, [&](const Grid& g) { return g.parent_code == code; },
            [](const Grid& g) { return g.code; });
        use.Check(
            "departments", org->departments,
            [&](const Department& d) { return d.grid_code == code; },
            [](const Department& d) { return d.code; });
        use.Check(
            "routing_rules", org->routing_rules,
            [&](const RoutingRule& r) { return r.grid_code == code; },
            [](const RoutingRule& r) { return r.rule_id; });
        use.Check(
            "users", org->users, [&](const User& u) { return u.grid_code == code; },
            [](const User& u) { return u.user_id; });
        if (absl::Status s = use.CheckCases(org_, OrgKind::kGrid, code); !s.ok()) return s;
        if (absl::Status s = use.ToStatus(OrgKind::kGrid, code); !s.ok()) return s;
        org->grids.erase(it);
        out->deletes.push_back({OrgKind::kGrid, code});
        return absl::OkStatus();
      });
}

// ---- Departments ------------------------------------------------------------------------------

absl::StatusOr<Department> AdminService::CreateDepartment(const Department& department) {
  const Department& d = department;
  absl::Status s = WriteOrganisation(OrgKind::kDepartment, d.code, "department", "department",
                                     [&](Organisation* org, OrgEdit* out) {
                                       if (!d.code.empty() && FindCode(org->departments, d.code)) {
                                         return Exists(OrgKind::kDepartment, d.code);
                                       }
                                       org->departments.push_back(d);
                                       out->upserts.departments.push_back(d);
                                       return absl::OkStatus();
                                     });
  if (!s.ok()) return s;
  return GetDepartment(d.code);
}

absl::StatusOr<Department> AdminService::GetDepartment(const std::string& code) {
  if (absl::Status s = RequireKey("code", code); !s.ok()) return s;
  auto d = org_->FindDepartment(code);
  if (!d.ok()) return d.status();
  if (!d->has_value()) return NotFound(OrgKind::kDepartment, code);
  return **d;
}

absl::StatusOr<std::vector<Department>> AdminService::ListDepartments(
    const std::string& parent_code, const std::string& grid_code) {
  auto depts = org_->ListDepartments();
  if (!depts.ok()) return depts.status();
  std::vector<Department> out;
  for (Department& d : *depts) {
    if (!parent_code.empty() && d.parent_code != parent_code) continue;
    if (!grid_code.empty() && d.grid_code != grid_code) continue;
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(),
            [](const Department& a, const Department& b) { return a.code < b.code; });
  return out;
}

absl::StatusOr<Department> AdminService::UpdateDepartment(const Department& department,
                                                          const std::vector<std::string>& paths) {
  const Department& in = department;
  if (absl::Status s = RequireKey("department.code", in.code); !s.ok()) return s;
  if (absl::Status s =
          CheckMask(paths, {"name", "parent_code", "grid_code", "leader_user_id"}, "code");
      !s.ok()) {
    return s;
  }
  absl::Status s =
      WriteOrganisation(OrgKind::kDepartment, in.code, "department", "department.parent_code",
                        [&](Organisation* org, OrgEdit* out) {
                          Department* d = FindCode(org->departments, in.code);
                          if (d == nullptr) return NotFound(OrgKind::kDepartment, in.code);
                          if (Has(paths, "name")) d->name = in.name;
                          if (Has(paths, "parent_code")) d->parent_code = in.parent_code;
                          if (Has(paths, "grid_code")) d->grid_code = in.grid_code;
                          if (Has(paths, "leader_user_id")) d->leader_user_id = in.leader_user_id;
                          out->upserts.departments.push_back(*d);
                          return absl::OkStatus();
                        });
  if (!s.ok()) return s;
  return GetDepartment(in.code);
}

absl::Status AdminService::DeleteDepartment(const std::string& code) {
  if (absl::Status s = RequireKey("code", code); !s.ok()) return s;
  return WriteOrganisation(
      OrgKind::kDepartment, code, "department", "code",
      [&](Organisation* org, OrgEdit* out) -> absl::Status {
        auto it = std::find_if(org->departments.begin(), org->departments.end(),
                               [&](const Department& d) { return d.code == code; });
        if (it == org->departments.end()) return NotFound(OrgKind::kDepartment, code);
        InUse use;
        use.Check(
            "departments", org->departments,
            [&](const Department& d) { return d.parent_code == code; },
            [](const Department& d) { return d.code; });
        use.Check(
            "routing_rules", org->routing_rules,
            [&](const RoutingRule& r) {
              return r.lead_department_code == code ||
                     std::count(r.assisting_department_codes.begin(),
                                r.assisting_department_codes.end(), code) > 0;
            },
            [](const RoutingRule& r) { return r.rule_id; });
        use.Check(
            "users", org->users, [&](const User& u) { return u.department_code == code; },
            [](const User& u) { return u.user_id; });
        if (absl::Status s = use.CheckCases(org_, OrgKind::kDepartment, code); !s.ok()) {
          return s;
        }
        if (absl::Status s = use.ToStatus(OrgKind::kDepartment, code); !s.ok()) return s;
        org->departments.erase(it);
        out->deletes.push_back({OrgKind::kDepartment, code});
        return absl::OkStatus();
      });
}

// ---- Categories -------------------------------------------------------------------------------

absl::StatusOr<Category> AdminService::CreateCategory(const Category& category) {
  const Category& k = category;
  absl::Status s = WriteOrganisation(OrgKind::kCategory, k.code, "category", "category",
                                     [&](Organisation* org, OrgEdit* out) {
                                       if (!k.code.empty() && FindCode(org->categories, k.code)) {
                                         return Exists(OrgKind::kCategory, k.code);
                                       }
                                       org->categories.push_back(k);
                                       out->upserts.categories.push_back(k);
                                       return absl::OkStatus();
                                     });
  if (!s.ok()) return s;
  return GetCategory(k.code);
}

absl::StatusOr<Category> AdminService::GetCategory(const std::string& code) {
  if (absl::Status s = RequireKey("code", code); !s.ok()) return s;
  auto k = org_->FindCategory(code);
  if (!k.ok()) return k.status();
  if (!k->has_value()) return NotFound(OrgKind::kCategory, code);
  return **k;
}

absl::StatusOr<std::vector<Category>> AdminService::ListCategories(CategoryKind kind) {
  auto cats = org_->ListCategories();
  if (!cats.ok()) return cats.status();
  std::vector<Category> out;
  for (Category& k : *cats) {
    if (kind != CategoryKind::kUnspecified && k.kind != kind) continue;
    out.push_back(std::move(k));
  }
  std::sort(out.begin(), out.end(),
            [](const Category& a, const Category& b) { return a.code < b.code; });
  return out;
}

absl::StatusOr<Category> AdminService::UpdateCategory(const Category& category,
                                                      const std::vector<std::string>& paths) {
  const Category& in = category;
  if (absl::Status s = RequireKey("category.code", in.code); !s.ok()) return s;
  if (absl::Status s = CheckMask(paths,
                                 {"name", "kind", "normal_deadline_hours", "urgent_deadline_hours",
                                  "emergency_deadline_hours", "auto_accept"},
                                 "code");
      !s.ok()) {
    return s;
  }
  absl::Status s = WriteOrganisation(OrgKind::kCategory, in.code, "category", "category",
                                     [&](Organisation* org, OrgEdit* out) {
                                       Category* k = FindCode(org->categories, in.code);
                                       if (k == nullptr)
                                         return NotFound(OrgKind::kCategory, in.code);
                                       if (Has(paths, "name")) k->name = in.name;
                                       if (Has(paths, "kind")) k->kind = in.kind;
                                       if (Has(paths, "normal_deadline_hours")) {
                                         k->normal_deadline_hours = in.normal_deadline_hours;
                                       }
                                       if (Has(paths, "urgent_deadline_hours")) {
                                         k->urgent_deadline_hours = in.urgent_deadline_hours;
                                       }
                                       if (Has(paths, "emergency_deadline_hours")) {
                                         k->emergency_deadline_hours = in.emergency_deadline_hours;
                                       }
                                       if (Has(paths, "auto_accept"))
                                         k->auto_accept = in.auto_accept;
                                       out->upserts.categories.push_back(*k);
                                       return absl::OkStatus();
                                     });
  if (!s.ok()) return s;
  return GetCategory(in.code);
}

absl::Status AdminService::DeleteCategory(const std::string& code) {
  if (absl::Status s = RequireKey("code", code); !s.ok()) return s;
  return WriteOrganisation(
      OrgKind::kCategory, code, "category", "code",
      [&](Organisation* org, OrgEdit* out) -> absl::Status {
        auto it = std::find_if(org->categories.begin(), org->categories.end(),
                               [&](const Category& k) { return k.code == code; });
        if (it == org->categories.end()) return NotFound(OrgKind::kCategory, code);
        InUse use;
        use.Check(
            "routing_rules", org->routing_rules,
            [&](const RoutingRule& r) { return r.category_code == code; },
            [](const RoutingRule& r) { return r.rule_id; });
        if (absl::Status s = use.CheckCases(org_, OrgKind::kCategory, code); !s.ok()) return s;
        if (absl::Status s = use.ToStatus(OrgKind::kCategory, code); !s.ok()) return s;
        org->categories.erase(it);
        out->deletes.push_back({OrgKind::kCategory, code});
        return absl::OkStatus();
      });
}

// ---- Routing rules ----------------------------------------------------------------------------

absl::StatusOr<RoutingRule> AdminService::CreateRoutingRule(const RoutingRule& rule) {
  RoutingRule r = rule;
  if (r.rule_id.empty()) r.rule_id = absl::StrCat("R-", util::RandomHex(6));
  absl::Status s =
      WriteOrganisation(OrgKind::kRoutingRule, r.rule_id, "routing_rule", "routing_rule",
                        [&](Organisation* org, OrgEdit* out) {
                          if (FindRule(org->routing_rules, r.rule_id)) {
                            return Exists(OrgKind::kRoutingRule, r.rule_id);
                          }
                          if (absl::Status s = CheckRuleSlot(org->routing_rules, r); !s.ok())
                            return s;
                          org->routing_rules.push_back(r);
                          out->upserts.routing_rules.push_back(r);
                          return absl::OkStatus();
                        });
  if (!s.ok()) return s;
  return r;
}

absl::StatusOr<std::vector<RoutingRule>> AdminService::ListRoutingRules(
    const RoutingRuleFilter& filter) {
  auto org = org_->LoadOrganisation();
  if (!org.ok()) return org.status();
  std::vector<RoutingRule> out;
  for (RoutingRule& r : org->routing_rules) {
    if (!filter.category_code.empty() && r.category_code != filter.category_code) continue;
    if (!filter.grid_code.empty() && r.grid_code != filter.grid_code) continue;
    if (!filter.department_code.empty() && r.lead_department_code != filter.department_code &&
        std::count(r.assisting_department_codes.begin(), r.assisting_department_codes.end(),
                   filter.department_code) == 0) {
      continue;
    }
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const RoutingRule& a, const RoutingRule& b) {
    return std::tie(a.category_code, a.grid_code, a.rule_id) <
           std::tie(b.category_code, b.grid_code, b.rule_id);
  });
  return out;
}

absl::StatusOr<RoutingRule> AdminService::UpdateRoutingRule(const RoutingRule& rule,
                                                            const std::vector<std::string>& paths) {
  const RoutingRule& in = rule;
  if (absl::Status s = RequireKey("routing_rule.rule_id", in.rule_id); !s.ok()) return s;
  if (absl::Status s = CheckMask(
          paths,
          {"category_code", "grid_code", "lead_department_code", "assisting_department_codes"},
          "rule_id");
      !s.ok()) {
    return s;
  }
  RoutingRule result;
  absl::Status s =
      WriteOrganisation(OrgKind::kRoutingRule, in.rule_id, "routing_rule", "routing_rule",
                        [&](Organisation* org, OrgEdit* out) {
                          RoutingRule* r = FindRule(org->routing_rules, in.rule_id);
                          if (r == nullptr) return NotFound(OrgKind::kRoutingRule, in.rule_id);
                          if (Has(paths, "category_code")) r->category_code = in.category_code;
                          if (Has(paths, "grid_code")) r->grid_code = in.grid_code;
                          if (Has(paths, "lead_department_code"))
                            r->lead_department_code = in.lead_department_code;
                          if (Has(paths, "assisting_department_codes")) {
                            r->assisting_department_codes = in.assisting_department_codes;
                          }
                          if (absl::Status s = CheckRuleSlot(org->routing_rules, *r); !s.ok())
                            return s;
                          out->upserts.routing_rules.push_back(*r);
                          result = *r;
                          return absl::OkStatus();
                        });
  if (!s.ok()) return s;
  return result;
}

absl::Status AdminService::DeleteRoutingRule(const std::string& rule_id) {
  if (absl::Status s = RequireKey("rule_id", rule_id); !s.ok()) return s;
  return WriteOrganisation(OrgKind::kRoutingRule, rule_id, "routing_rule", "rule_id",
                           [&](Organisation* org, OrgEdit* out) {
                             auto& rules = org->routing_rules;
                             auto it = std::find_if(
                                 rules.begin(), rules.end(),
                                 [&](const RoutingRule& r) { return r.rule_id == rule_id; });
                             if (it == rules.end()) {
                               return NotFound(OrgKind::kRoutingRule, rule_id);
                             }
                             rules.erase(it);
                             out->deletes.push_back({OrgKind::kRoutingRule, rule_id});
                             return absl::OkStatus();
                           });
}

absl::StatusOr<RouteDecision> AdminService::ResolveRoute(const std::string& category_code,
                                                         const std::string& grid_code) {
  FieldViolations v;
  if (category_code.empty()) {
    v.Add("category_code", "is required");
  } else {
    auto k = org_->FindCategory(category_code);
    if (!k.ok()) return k.status();
    if (!k->has_value()) v.Add("category_code", absl::StrCat("unknown category ", category_code));
  }
  std::optional<Grid> grid;
  if (grid_code.empty()) {
    v.Add("grid_code", "is required");
  } else {
    auto g = org_->FindGrid(grid_code);
    if (!g.ok()) return g.status();
    if (g->has_value()) {
      grid = *std::move(*g);
    } else {
      v.Add("grid_code", absl::StrCat("unknown grid ", grid_code));
    }
  }
  if (!v.empty()) return v.ToStatus("cannot resolve the route");
  return service::ResolveRoute(org_, category_code, *grid);
}

// ---- Users ------------------------------------------------------------------------------------

absl::StatusOr<User> AdminService::CreateUser(const User& user) {
  User u = user;
  u.disabled = false;
  if (u.user_id.empty()) u.user_id = absl::StrCat("u-", util::RandomHex(8));
  absl::Status s = WriteOrganisation(OrgKind::kUser, u.user_id, "user", "user",
                                     [&](Organisation* org, OrgEdit* out) {
                                       if (FindUserIn(org->users, u.user_id))
                                         return Exists(OrgKind::kUser, u.user_id);
                                       org->users.push_back(u);
                                       out->upserts.users.push_back(u);
                                       return absl::OkStatus();
                                     });
  if (!s.ok()) return s;
  return GetUser(u.user_id);
}

absl::StatusOr<User> AdminService::GetUser(const std::string& user_id) {
  if (absl::Status s = RequireKey("user_id", user_id); !s.ok()) return s;
  auto u = org_->FindUser(user_id);
  if (!u.ok()) return u.status();
  if (!u->has_value()) return NotFound(OrgKind::kUser, user_id);
  return **u;
}

absl::StatusOr<std::vector<User>> AdminService::ListUsers(const UserFilter& filter) {
  auto org = org_->LoadOrganisation();
  if (!org.ok()) return org.status();
  std::string subtree;  // path prefix of the filter grid
  std::map<std::string, std::string> path_of;
  if (!filter.grid_code.empty()) {
    for (const Grid& g : org->grids) path_of.emplace(g.code, g.path);
    auto it = path_of.find(filter.grid_code);
    if (it == path_of.end()) return std::vector<User>{};
    subtree = it->second.empty() ? absl::StrCat("/", filter.grid_code, "/") : it->second;
  }
  std::vector<User> out;
  for (User& u : org->users) {
    if (u.disabled && !filter.include_disabled) continue;
    if (filter.role != Role::kUnspecified && u.role != filter.role) continue;
    if (!filter.department_code.empty() && u.department_code != filter.department_code) continue;
    if (!filter.grid_code.empty()) {
      auto it = path_of.find(u.grid_code);
      if (u.grid_code != filter.grid_code &&
          (it == path_of.end() || !absl::StartsWith(it->second, subtree))) {
        continue;
      }
    }
    out.push_back(std::move(u));
  }
  std::sort(out.begin(), out.end(),
            [](const User& a, const User& b) { return a.user_id < b.user_id; });
  return out;
}

absl::StatusOr<User> AdminService::UpdateUser(const Caller& caller, const User& user,
                                              const std::vector<std::string>& paths) {
  if (absl::Status s = RequireKey("user.user_id", user.user_id); !s.ok()) return s;
  if (absl::Status s = CheckMask(
          paths, {"display_name", "role", "grid_code", "department_code", "disabled"}, "user_id");
      !s.ok()) {
    return s;
  }
  FieldViolations v;
  if (Has(paths, "disabled") && user.disabled) {
    v.Add("user.disabled", "can only be set to false here: disable a user with DisableUser");
  }
  if (Has(paths, "role") && user.user_id == caller.user.user_id && user.role != Role::kOperator) {
    v.Add("user.role", "an operator cannot remove their own OPERATOR role");
  }
  if (!v.empty()) return v.ToStatus("invalid user update");
  absl::Status s = WriteOrganisation(OrgKind::kUser, user.user_id, "user", "user",
                                     [&](Organisation* org, OrgEdit* out) {
                                       User* u = FindUserIn(org->users, user.user_id);
                                       if (u == nullptr)
                                         return NotFound(OrgKind::kUser, user.user_id);
                                       if (Has(paths, "display_name"))
                                         u->display_name = user.display_name;
                                       if (Has(paths, "role")) u->role = user.role;
                                       if (Has(paths, "grid_code")) u->grid_code = user.grid_code;
                                       if (Has(paths, "department_code"))
                                         u->department_code = user.department_code;
                                       if (Has(paths, "disabled")) u->disabled = false;
                                       out->upserts.users.push_back(*u);
                                       return absl::OkStatus();
                                     });
  if (!s.ok()) return s;
  return GetUser(user.user_id);
}

absl::StatusOr<User> AdminService::DisableUser(const Caller& caller, const std::string& user_id) {
  if (absl::Status s = RequireKey("user_id", user_id); !s.ok()) return s;
  if (user_id == caller.user.user_id) {
    return InvalidField("user_id", "an operator cannot disable themself");
  }
  auto user = GetUser(user_id);
  if (!user.ok() || user->disabled) return user;
  if (absl::Status s = tokens_->DisableUser(user_id, clock_->NowMicros()); !s.ok()) return s;
  return GetUser(user_id);
}

// ---- Tokens -----------------------------------------------------------------------------------

std::optional<std::string> NormalizeFingerprint(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ':') continue;
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  if (out.size() != 64) return std::nullopt;
  return out;
}

absl::StatusOr<IssuedToken> AdminService::IssueToken(const Caller& caller,
                                                     const TokenRequest& request) {
  const Micros now = clock_->NowMicros();
  FieldViolations v;
  if (request.user_id.empty()) v.Add("user_id", "is required");
  int chars = 0;
  if (!IsValidUtf8(request.label, &chars)) {
    v.Add("label", "must be valid UTF-8");
  } else if (chars > 100) {
    v.Add("label", absl::StrCat("must be at most 100 characters, got ", chars));
  }
  if (!IsValidUtf8(request.device_id, &chars)) {
    v.Add("device_id", "must be valid UTF-8");
  } else if (chars > 64) {
    v.Add("device_id", absl::StrCat("must be at most 64 characters, got ", chars));
  }
  if (request.expire_time != 0 && request.expire_time <= now) {
    v.Add("expire_time", "is in the past");
  } else if (request.expire_time > now + kMaxTokenLifetime) {
    v.Add("expire_time", "is more than 2 years ahead");
  }
  std::string fingerprint;
  if (!request.client_cert_sha256.empty()) {
    auto normal = NormalizeFingerprint(request.client_cert_sha256);
    if (!normal.has_value()) {
      v.Add("client_certificate_sha256",
            "must be the certificate's SHA-256 fingerprint: 64 hex digits (colons allowed)");
    } else {
      fingerprint = *normal;
    }
  }
  if (!v.empty()) return v.ToStatus("cannot issue the token");

  auto user = GetUser(request.user_id);
  if (!user.ok()) return user.status();
  if (user->disabled) {
    return Precondition(
        "USER_DISABLED", request.user_id,
        absl::StrCat("user ", request.user_id, " is disabled; re-enable them first"));
  }
  IssuedToken issued;
  // The prefix makes a leaked token recognisable (e.g. by secret scanners).
  issued.token = absl::StrCat("gl_", util::RandomHex(24));
  TokenInfo& info = issued.info;
  info.token_id = absl::StrCat("tok-", util::RandomHex(8));
  info.user_id = request.user_id;
  info.label = request.label;
  info.device_id = request.device_id;
  info.create_time = now;
  info.expire_time =
      request.expire_time != 0 ? request.expire_time : now + token_policy_.default_lifetime;
  info.issued_by_user_id = caller.user.user_id;
  info.client_cert_sha256 = fingerprint;
  if (absl::Status s = tokens_->CreateToken(info, HashToken(issued.token)); !s.ok()) return s;
  return issued;
}

absl::StatusOr<IssuedToken> AdminService::RotateToken(const Caller& caller,
                                                      const std::string& token_id, Micros grace) {
  if (absl::Status s = RequireKey("token_id", token_id); !s.ok()) return s;
  constexpr Micros kMaxGrace = 30LL * 24 * 3600 * 1000000;
  if (grace < 0 || grace > kMaxGrace) {
    return InvalidField("grace_seconds", "must be between 0 and 30 days");
  }
  if (grace == 0) grace = token_policy_.rotation_grace;
  const Micros now = clock_->NowMicros();
  IssuedToken issued;
  issued.token = absl::StrCat("gl_", util::RandomHex(24));
  auto rotation = tokens_->RotateToken(token_id, absl::StrCat("tok-", util::RandomHex(8)),
                                       HashToken(issued.token), caller.user.user_id,
                                       now + token_policy_.default_lifetime, now + grace, now);
  if (!rotation.ok()) return rotation.status();
  if (!rotation->has_value()) {
    return absl::NotFoundError(absl::StrCat("token ", token_id, " not found"));
  }
  const TokenInfo& old = (*rotation)->old_token;
  if (!(*rotation)->rotated) {
    const char* why = old.revoked                         ? "revoked"
                      : !old.replaced_by_token_id.empty() ? "rotated already; rotate its successor"
                                                          : "expired";
    return Precondition(
        "TOKEN_INACTIVE", token_id,
        absl::StrCat(
            "token ", token_id, " is ", why,
            old.replaced_by_token_id.empty() ? "" : absl::StrCat(" ", old.replaced_by_token_id)));
  }
  issued.info = (*rotation)->new_token;
  return issued;
}

absl::StatusOr<std::vector<TokenInfo>> AdminService::ListTokens(const std::string& user_id,
                                                                bool include_inactive) {
  return tokens_->ListTokens(user_id, include_inactive, clock_->NowMicros());
}

absl::StatusOr<IssuedToken> AdminService::Bootstrap(const std::string& user_id,
                                                    const std::string& display_name) {
  if (absl::Status s = RequireKey("operator", user_id); !s.ok()) return s;
  UserFilter operators;
  operators.role = Role::kOperator;
  operators.include_disabled = true;
  auto existing = ListUsers(operators);
  if (!existing.ok()) return existing.status();
  if (!existing->empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this installation has an operator already (", existing->front().user_id,
        "); bootstrap only creates the first one: issue tokens with `gridctl token issue`"));
  }
  User op;
  op.user_id = user_id;
  op.display_name = display_name;
  op.role = Role::kOperator;
  auto created = CreateUser(op);
  if (!created.ok()) return created.status();
  Caller self;
  self.user = *created;
  TokenRequest request;
  request.user_id = created->user_id;
  request.label = "bootstrap";
  return IssueToken(self, request);
}

absl::StatusOr<TokenInfo> AdminService::RevokeToken(const std::string& token_id) {
  if (absl::Status s = RequireKey("token_id", token_id); !s.ok()) return s;
  auto info = tokens_->RevokeToken(token_id, clock_->NowMicros());
  if (!info.ok()) return info.status();
  if (!info->has_value())
    return absl::NotFoundError(absl::StrCat("token ", token_id, " not found"));
  return **info;
}

// ---- Audit ------------------------------------------------------------------------------------

absl::StatusOr<std::vector<AuditEntry>> AdminService::ListAudit(const store::AuditQuery& query) {
  if (query.start_time != 0 && query.end_time != 0 && query.start_time >= query.end_time) {
    return InvalidField("start_time", "must be before end_time");
  }
  return audit_->ListAudit(query);
}

absl::StatusOr<CallerView> AdminService::DescribeCaller(const domain::Caller& caller,
                                                        domain::Micros now) {
  CallerView view;
  view.user = caller.user;
  auto tokens = tokens_->ListTokens(caller.user.user_id, /*include_inactive=*/false, now);
  if (!tokens.ok()) return tokens.status();
  for (auto& t : *tokens) {
    if (t.token_id == caller.token_id) view.token = std::move(t);
  }
  if (view.token.token_id.empty()) {  // revoked between authentication and now
    view.token.token_id = caller.token_id;
    view.token.user_id = caller.user.user_id;
    view.token.demo = caller.demo_token;
  }
  if (!caller.user.grid_code.empty()) {
    auto g = org_->FindGrid(caller.user.grid_code);
    if (!g.ok()) return g.status();
    if (g->has_value()) view.grid_name = (*g)->name;
  }
  if (!caller.user.department_code.empty()) {
    auto d = org_->FindDepartment(caller.user.department_code);
    if (!d.ok()) return d.status();
    if (d->has_value()) view.department_name = (*d)->name;
  }
  return view;
}

}  // namespace gridline::service
