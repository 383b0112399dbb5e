// The organisation import's plan (service::PlanImport) on deep trees, over a real store. Found
// with the organisation import's fuzz harness (fuzz/fuzz_organisation.cc): both the cycle check
// and the ordering of the upserts (parents before children) walked up from every entry in turn,
// quadratic in the depth of the tree, so an import of the largest size accepted (200,000 entries)
// as one chain of departments, a valid organisation, held a worker for hours. It now takes
// seconds.
#include "server/service/org_import.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "server/store/store.h"
#include "tests/test_support.h"

namespace gridline {
namespace {

TEST(OrgImportTest, PlansAChainOf200000DepartmentsInLinearTime) {
  testing::TempDir dir;
  std::unique_ptr<store::Store> store = testing::OpenStoreForTest(testing::Backend::kSqlite, dir);
  ASSERT_NE(store, nullptr);
  constexpr int kDepartments = 200000;
  domain::Organisation org;
  // Children first, so that the plan has to reorder every one of them.
  for (int i = kDepartments - 1; i >= 0; --i) {
    org.departments.push_back(
        {absl::StrCat("d", i), "dept", i == 0 ? "" : absl::StrCat("d", i - 1), "", ""});
  }
  auto plan = service::PlanImport(store.get(), org);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->violations.empty()) << plan->violations.front().description;
  ASSERT_EQ(plan->upserts.departments.size(), static_cast<size_t>(kDepartments));
  std::map<std::string, size_t> at;
  for (size_t i = 0; i < plan->upserts.departments.size(); ++i) {
    at[plan->upserts.departments[i].code] = i;
  }
  for (const domain::Department& d : plan->upserts.departments) {
    if (d.parent_code.empty()) continue;
    ASSERT_LT(at.at(d.parent_code), at.at(d.code)) << d.code << " comes before its parent";
  }
}

}  // namespace
}  // namespace gridline
