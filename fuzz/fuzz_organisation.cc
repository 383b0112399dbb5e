// Fuzzes the organisation import (AdminService.ImportOrganisation and the organisation file at
// start): the input's first byte picks the stored organisation (empty, or a small valid one), the
// rest is parsed as a gridline.v1.Organisation (one import part). The harness runs what the import
// runs: api::FromProto(Organisation), then service::PlanImport (merge onto the stored
// organisation, domain::CheckOrganisation of the result, only the import's own violations kept)
// over an in-memory OrganisationStore, and domain::ValidateOrganisation as the organisation file
// is checked, with its answer (CheckAnswer).
//
// Beyond "no crash, no sanitizer report", it checks the plan: at most kMaxImportViolations
// violations, each naming an entry of the import (or -1 for a stored one); onto an empty store,
// the plan finds violations exactly when ValidateOrganisation does; and a plan without violations
// leaves a valid organisation (the stored one with the upserts applied passes CheckOrganisation).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "fuzz/fuzz_status.h"
#include "gridline/v1/organisation.pb.h"
#include "server/api/convert.h"
#include "server/domain/organisation.h"
#include "server/service/org_import.h"
#include "server/store/store.h"

namespace gridline::fuzz {
namespace {

namespace v1 = ::gridline::v1;
using domain::Organisation;

// The store's side of an import: the stored organisation and its version; nothing is written.
class FakeOrganisationStore : public store::OrganisationStore {
 public:
  explicit FakeOrganisationStore(Organisation org) : org_(std::move(org)) {}

  absl::Status ApplyOrganisation(const Organisation&) override { return Unused(); }
  absl::Status ChangeOrganisation(const Organisation&, const std::vector<store::OrgKey>&,
                                  int64_t) override {
    return Unused();
  }
  absl::StatusOr<int64_t> OrganisationVersion() override { return 7; }
  absl::StatusOr<Organisation> LoadOrganisation() override { return org_; }
  absl::StatusOr<int64_t> CountCasesReferencing(const store::OrgKey&) override { return 0; }
  absl::StatusOr<std::optional<domain::Grid>> FindGrid(const std::string&) override {
    return Unused();
  }
  absl::StatusOr<std::vector<domain::Grid>> ListGrids() override { return org_.grids; }
  absl::StatusOr<std::optional<domain::Category>> FindCategory(const std::string&) override {
    return Unused();
  }
  absl::StatusOr<std::optional<domain::User>> FindUser(const std::string&) override {
    return Unused();
  }
  absl::StatusOr<std::vector<domain::Category>> ListCategories() override {
    return org_.categories;
  }
  absl::StatusOr<std::vector<domain::Department>> ListDepartments() override {
    return org_.departments;
  }
  absl::StatusOr<std::optional<domain::Department>> FindDepartment(const std::string&) override {
    return Unused();
  }
  absl::StatusOr<std::vector<domain::RoutingRule>> ListRoutingRulesForCategory(
      const std::string&) override {
    return Unused();
  }

 private:
  static absl::Status Unused() { return absl::UnimplementedError("not used by an import plan"); }
  Organisation org_;
};

// A small valid organisation: a city, a district and a street; a department; a category routed
// to it; a dispatcher, a member of staff and a grid leader.
Organisation SmallOrganisation() {
  using domain::GridLevel;
  using domain::Role;
  Organisation o;
  o.grids = {{"C", "City", GridLevel::kCity, "", "/C/"},
             {"D", "District", GridLevel::kDistrict, "C", "/C/D/"},
             {"S", "Street", GridLevel::kStreet, "D", "/C/D/S/"}};
  o.departments = {{"DEPT", "Works", "", "C", ""}};
  domain::Category k;
  k.code = "K1";
  k.name = "Litter";
  k.kind = domain::CategoryKind::kEvent;
  k.normal_deadline_hours = 48;
  k.urgent_deadline_hours = 24;
  k.emergency_deadline_hours = 4;
  o.categories = {k};
  o.routing_rules = {{"R1", "K1", "C", "DEPT", {}}};
  o.users = {{"u-dispatch", "Dispatcher", Role::kDispatcher, "C", "", false},
             {"u-staff", "Staff", Role::kDepartmentStaff, "", "DEPT", false},
             {"u-leader", "Leader", Role::kGridLeader, "S", "", false}};
  return o;
}

template <typename T, typename KeyOf>
void Upsert(std::vector<T>* into, const std::vector<T>& upserts, KeyOf key_of) {
  std::map<std::string, size_t> at;
  for (size_t i = 0; i < into->size(); ++i) at[key_of((*into)[i])] = i;
  for (const T& u : upserts) {
    auto it = at.find(key_of(u));
    if (it != at.end()) {
      (*into)[it->second] = u;
    } else {
      at[key_of(u)] = into->size();
      into->push_back(u);
    }
  }
}

void Run(const uint8_t* data, size_t size) {
  if (size < 1) return;
  const bool empty_store = (data[0] & 1) == 0;
  v1::Organisation part;
  if (!part.ParseFromArray(data + 1, static_cast<int>(size - 1))) return;
  const Organisation incoming = api::FromProto(part);

  const absl::Status alone = domain::ValidateOrganisation(incoming);
  CheckAnswer(alone);

  const Organisation stored = empty_store ? Organisation{} : SmallOrganisation();
  GRIDLINE_FUZZ_CHECK(domain::CheckOrganisation(stored).violations.empty(),
                      "the stored organisation of the harness is invalid");
  FakeOrganisationStore store(stored);
  int64_t progress_calls = 0;
  auto plan = service::PlanImport(
      &store, incoming, [&](service::ImportPhase, domain::OrgKind, int64_t done, int64_t total) {
        GRIDLINE_FUZZ_CHECK(done >= 0 && done <= total, "progress");
        ++progress_calls;
      });
  GRIDLINE_FUZZ_CHECK(plan.ok(), "PlanImport failed over a working store");

  GRIDLINE_FUZZ_CHECK(plan->violations.size() <= service::kMaxImportViolations,
                      "more violations than the import reports");
  const int64_t sizes[6] = {0,
                            static_cast<int64_t>(incoming.grids.size()),
                            static_cast<int64_t>(incoming.departments.size()),
                            static_cast<int64_t>(incoming.categories.size()),
                            static_cast<int64_t>(incoming.routing_rules.size()),
                            static_cast<int64_t>(incoming.users.size())};
  for (const auto& v : plan->violations) {
    const int kind = static_cast<int>(v.kind);
    GRIDLINE_FUZZ_CHECK(kind >= 1 && kind <= 5, "a violation of no kind");
    GRIDLINE_FUZZ_CHECK(v.index >= -1 && v.index < sizes[kind],
                        "a violation's index is not an entry of the import");
    GRIDLINE_FUZZ_CHECK(!v.field.empty() && !v.description.empty(), "an empty violation");
  }
  for (int kind = 1; kind <= 5; ++kind) {
    const auto& c = plan->counts[kind];
    GRIDLINE_FUZZ_CHECK(c.created >= 0 && c.updated >= 0 && c.unchanged >= 0 &&
                            c.created + c.updated + c.unchanged <= sizes[kind],
                        "counts exceed the entries imported");
  }
  if (empty_store) {
    GRIDLINE_FUZZ_CHECK(plan->violations.empty() == alone.ok(),
                        "onto an empty store, the plan and ValidateOrganisation disagree");
  }
  if (plan->violations.empty()) {
    Organisation after = stored;
    const auto& u = plan->upserts;
    auto code = [](const auto& x) { return x.code; };
    Upsert(&after.grids, u.grids, code);
    Upsert(&after.departments, u.departments, code);
    Upsert(&after.categories, u.categories, code);
    Upsert(&after.routing_rules, u.routing_rules,
           [](const domain::RoutingRule& r) { return r.rule_id; });
    Upsert(&after.users, u.users, [](const domain::User& x) { return x.user_id; });
    auto left = domain::CheckOrganisation(after);
    if (!left.violations.empty()) {
      const auto& v = left.violations.front();
      std::fprintf(stderr, "left invalid: %s[%lld] %s: %s\n", domain::OrgKindPlural(v.kind),
                   static_cast<long long>(v.index), v.field.c_str(), v.description.c_str());
    }
    GRIDLINE_FUZZ_CHECK(left.violations.empty(),
                        "a plan without violations leaves an invalid organisation");
  }
}

}  // namespace
}  // namespace gridline::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gridline::fuzz::Run(data, size);
  return 0;
}
