// The domain core on its own: validation rules and visibility. No store, no gRPC.
#include <gtest/gtest.h>

#include "server/domain/errors.h"
#include "server/domain/organisation.h"
#include "server/domain/report_checks.h"
#include "server/domain/visibility.h"

namespace gridline::domain {
namespace {

TEST(Utf8, AcceptsChineseAndEmojiAndRejectsMalformed) {
  int n = 0;
  EXPECT_TRUE(IsValidUtf8("路面塌陷 ok 🚧", &n));
  EXPECT_EQ(n, 9);
  EXPECT_FALSE(IsValidUtf8("\xff", &n));
  EXPECT_FALSE(IsValidUtf8("\xe8\xb7", &n));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf", &n));              // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80", &n));          // surrogate
  EXPECT_FALSE(IsValidUtf8(std::string("a\0b", 3), &n));  // NUL
}

TEST(Errors, FieldViolationsSurviveTheStatus) {
  FieldViolations v;
  v.Add("location.grid_code", "unknown grid X");
  v.Add("description", "is required");
  absl::Status s = v.ToStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  auto got = GetFieldViolations(s);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].field, "location.grid_code");
  EXPECT_EQ(got[1].description, "is required");
  EXPECT_EQ(GetWrongState(WrongState(CaseState::kResolved, "accept")), CaseState::kResolved);
}

Organisation SmallOrg() {
  Organisation org;
  org.grids = {{"D", "district", GridLevel::kDistrict, "", ""},
               {"S", "street", GridLevel::kStreet, "D", ""},
               {"C", "cell", GridLevel::kCell, "S", ""}};
  org.departments = {{"CG", "城管", "", "D"}};
  Category k;
  k.code = "K";
  k.name = "k";
  k.kind = CategoryKind::kEvent;
  k.normal_deadline_hours = 24;
  org.categories = {k};
  org.routing_rules = {{"r1", "K", "S", "CG", {}}};
  org.users = {{"u", "u", Role::kGridLeader, "C", "", false}};
  return org;
}

TEST(Organisation, AcceptsAWellFormedTree) { EXPECT_TRUE(ValidateOrganisation(SmallOrg()).ok()); }

TEST(Organisation, RejectsCyclesUnknownsAndDuplicates) {
  Organisation cycle = SmallOrg();
  cycle.grids[0].parent_code = "C";
  cycle.grids[0].level = GridLevel::kCompound;
  EXPECT_FALSE(ValidateOrganisation(cycle).ok());

  Organisation unknown = SmallOrg();
  unknown.routing_rules[0].lead_department_code = "NOPE";
  auto s = ValidateOrganisation(unknown);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(GetFieldViolations(s)[0].field, "routing_rules[0].lead_department_code");

  Organisation dup = SmallOrg();
  dup.grids.push_back(dup.grids[2]);
  EXPECT_FALSE(ValidateOrganisation(dup).ok());

  Organisation level = SmallOrg();
  level.grids[2].level = GridLevel::kDistrict;  // a cell above its street
  EXPECT_FALSE(ValidateOrganisation(level).ok());
}

TEST(Visibility, FollowsRoleAndScope) {
  const std::string path = "/D/S/C/";
  User leader{"u1", "", Role::kGridLeader, "C", "", false};
  User other_leader{"u2", "", Role::kGridLeader, "C2", "", false};
  User dispatcher{"d", "", Role::kDispatcher, "S", "", false};
  User other_dispatcher{"d2", "", Role::kDispatcher, "S2", "", false};
  User staff{"s", "", Role::kDepartmentStaff, "", "CG", false};
  User helper{"h", "", Role::kDepartmentStaff, "", "GA", false};
  EXPECT_TRUE(CanSee(leader, "someone", path, "", {}));   // own grid
  EXPECT_TRUE(CanSee(other_leader, "u2", path, "", {}));  // reported it elsewhere
  EXPECT_FALSE(CanSee(other_leader, "someone", path, "", {}));
  EXPECT_TRUE(CanSee(dispatcher, "x", path, "", {}));
  EXPECT_FALSE(CanSee(other_dispatcher, "x", path, "", {}));
  EXPECT_TRUE(CanSee(staff, "x", path, "CG", {}));
  EXPECT_FALSE(CanSee(staff, "x", path, "SZ", {}));
  EXPECT_TRUE(CanSee(helper, "x", path, "CG", {"GA"}));
  // A code that is a prefix of another must not match: "/C/" is not inside "/CC/".
  EXPECT_FALSE(CanSee(leader, "someone", "/D/S/CC/", "", {}));
}

}  // namespace
}  // namespace gridline::domain
