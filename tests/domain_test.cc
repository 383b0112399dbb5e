// The domain core on its own: validation rules and visibility. No store, no gRPC.
#include <gtest/gtest.h>

#include <functional>

#include "server/domain/errors.h"
#include "server/domain/organisation.h"
#include "server/domain/patrol.h"
#include "server/domain/report_checks.h"
#include "server/domain/supervision.h"
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

// ---- Patrol tracks -----------------------------------------------------------------------------

constexpr Micros kSecond = 1000 * 1000;
constexpr Micros kStart = 1790000000LL * kSecond;  // the patrol's start
// About 111 m per 0.001 degree of latitude.
TrackPoint At(Micros seconds_after_start, double lat, double lng = 113.739) {
  return {kStart + seconds_after_start * kSecond, lat, lng};
}

std::vector<std::string> TrackViolations(const std::vector<TrackPoint>& batch,
                                         std::optional<TrackPoint> last = std::nullopt) {
  FieldViolations v;
  CheckTrackBatch(v, batch, last, kStart, kStart + 3600 * kSecond);
  std::vector<std::string> fields;
  for (const auto& f : GetFieldViolations(v.ToStatus())) fields.push_back(f.field);
  return fields;
}

TEST(PatrolTrack, BadBatchesNameTheirPoints) {
  struct Case {
    const char* name;
    std::vector<TrackPoint> batch;
    std::optional<TrackPoint> last;
    std::vector<std::string> fields;
  };
  const std::vector<Case> cases = {
      {"a walk", {At(0, 34.396), At(60, 34.397), At(120, 34.398)}, std::nullopt, {}},
      {"empty", {}, std::nullopt, {"points"}},
      {"before the start", {At(-10, 34.396)}, std::nullopt, {"points[0].time"}},
      {"an hour and more in the future",
       {At(3600 + 301, 34.396)},
       std::nullopt,
       {"points[0].time"}},
      {"out of order", {At(60, 34.396), At(30, 34.3965)}, std::nullopt, {"points[1].time"}},
      {"the same time twice", {At(60, 34.396), At(60, 34.396)}, std::nullopt, {"points[1].time"}},
      {"not after the stored track", {At(60, 34.396)}, At(60, 34.396), {"points[0].time"}},
      {"latitude out of range", {At(0, 91)}, std::nullopt, {"points[0].latitude"}},
      {"longitude out of range", {At(0, 34.396, -180.5)}, std::nullopt, {"points[0].longitude"}},
      {"not a number", {At(0, std::nan(""))}, std::nullopt, {"points[0].latitude"}},
      // 11 km in 60 s is 660 km/h.
      {"too fast", {At(0, 34.396), At(60, 34.496)}, std::nullopt, {"points[1]"}},
      {"too fast from the stored track", {At(60, 34.496)}, At(0, 34.396), {"points[0]"}},
      // 1 km in one second: the jump fails although the gap is under the minimum interval.
      {"a jump within a second", {At(0, 34.396), At(1, 34.405)}, std::nullopt, {"points[1]"}},
      // 20 m in one second: jitter passes.
      {"jitter within a second", {At(0, 34.396), At(1, 34.39618)}, std::nullopt, {}},
      // 1.1 km in 60 s (66 km/h, a car) passes; a bad point does not become the reference.
      {"a car", {At(0, 34.396), At(60, 34.406)}, std::nullopt, {}},
      {"after a bad point, the good one before is the reference",
       {At(0, 34.396), At(30, 95), At(60, 34.397)},
       std::nullopt,
       {"points[1].latitude"}},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(TrackViolations(c.batch, c.last), c.fields) << c.name;
  }
  std::vector<TrackPoint> big(1001, At(0, 34.396));
  for (size_t i = 0; i < big.size(); ++i) big[i].time += static_cast<Micros>(i) * kSecond;
  EXPECT_EQ(TrackViolations(big), std::vector<std::string>{"points"});
}

TEST(PatrolTrack, LengthAndDurationFollowThePoints) {
  EXPECT_EQ(TrackLengthMetres({}), 0);
  EXPECT_EQ(TrackDuration({At(0, 34.396)}), 0);
  const std::vector<TrackPoint> walk = {At(0, 34.396), At(600, 34.406), At(1200, 34.396)};
  // 0.01 degree of latitude is 1,111.95 m on the WGS-84 mean radius; there and back.
  EXPECT_NEAR(TrackLengthMetres(walk), 2 * 1111.95, 1.0);
  EXPECT_EQ(TrackDuration(walk), 1200 * kSecond);
}

TEST(PatrolTrack, BatchesAddUpToTheWholeTrack) {
  const std::vector<TrackPoint> walk = {At(0, 34.396), At(600, 34.406), At(1200, 34.396),
                                        At(1500, 34.398)};
  Patrol p;
  p.state = PatrolState::kActive;
  p.start_time = kStart;
  ApplyTrackBatch(p, {walk[0], walk[1]});
  ApplyTrackBatch(p, {walk[2], walk[3]});
  EXPECT_EQ(p.point_count, 4);
  EXPECT_NEAR(p.length_metres, TrackLengthMetres(walk), 1e-6);
  ASSERT_TRUE(p.last_point.has_value());
  EXPECT_EQ(p.last_point->time, walk[3].time);
  EXPECT_EQ(PatrolDuration(p), 1500 * kSecond);
  p.state = PatrolState::kEnded;
  p.end_time = kStart + 1800 * kSecond;
  EXPECT_EQ(PatrolDuration(p), 1800 * kSecond);
}

std::vector<std::string> FieldsOf(const FieldViolations& v) {
  std::vector<std::string> fields;
  for (const auto& f : v.items()) fields.push_back(f.field);
  return fields;
}

TEST(PatrolRules, VisitsAndEndsAreChecked) {
  Patrol p;
  p.state = PatrolState::kActive;
  p.start_time = kStart;
  p.last_point = At(600, 34.396);
  p.last_visit_time = kStart + 900 * kSecond;
  const Micros now = kStart + 3600 * kSecond;
  Visit good;
  good.kind = VisitKind::kHousehold;
  good.subject = "3号楼2单元101";
  good.visit_time = kStart + 60 * kSecond;
  struct Case {
    const char* name;
    std::function<void(Visit&)> edit;
    std::vector<std::string> fields;
  };
  const std::vector<Case> cases = {
      {"a household", [](Visit&) {}, {}},
      {"no kind", [](Visit& v) { v.kind = VisitKind::kUnspecified; }, {"kind"}},
      {"no subject", [](Visit& v) { v.subject.clear(); }, {"subject"}},
      {"a subject of 201 characters", [](Visit& v) { v.subject = std::string(201, 'x'); },
       {"subject"}},
      {"a note of 2001 characters", [](Visit& v) { v.note = std::string(2001, 'x'); }, {"note"}},
      {"bad position",
       [](Visit& v) {
         v.has_position = true;
         v.latitude = 100;
       },
       {"position"}},
      {"before the patrol", [](Visit& v) { v.visit_time = kStart - 1; }, {"visit_time"}},
      {"in the future", [&](Visit& v) { v.visit_time = now + 301 * kSecond; }, {"visit_time"}},
      {"ten photos", [](Visit& v) { v.attachment_ids.assign(10, "a"); }, {"attachment_ids"}},
  };
  for (const auto& c : cases) {
    Visit v = good;
    c.edit(v);
    FieldViolations violations;
    CheckVisit(violations, v, p, now);
    EXPECT_EQ(FieldsOf(violations), c.fields) << c.name;
  }
  struct End {
    const char* name;
    Micros end;
    bool ok;
  };
  for (const End& e : std::vector<End>{{"after everything", kStart + 1000 * kSecond, true},
                                       {"before the start", kStart - 1, false},
                                       {"before the last point", kStart + 599 * kSecond, false},
                                       {"before the last visit", kStart + 899 * kSecond, false},
                                       {"in the future", now + 301 * kSecond, false}}) {
    FieldViolations v;
    CheckPatrolEnd(v, p, e.end, now);
    EXPECT_EQ(v.empty(), e.ok) << e.name;
  }
}

TEST(PatrolRules, WhoPatrolsAndWhoSees) {
  User leader{"l1", "", Role::kGridLeader, "C1", "", false};
  User staff{"s1", "", Role::kDepartmentStaff, "C1", "CG", false};
  User office_staff{"s2", "", Role::kDepartmentStaff, "", "CG", false};
  User dispatcher{"d1", "", Role::kDispatcher, "S1", "", false};
  User other_dispatcher{"d2", "", Role::kDispatcher, "S2", "", false};
  User supervisor{"v1", "", Role::kSupervisor, "D1", "", false};
  User operator_{"o1", "", Role::kOperator, "", "", false};
  User other_leader{"l2", "", Role::kGridLeader, "C1", "", false};
  EXPECT_TRUE(MayPatrol(leader));
  EXPECT_TRUE(MayPatrol(staff));
  EXPECT_FALSE(MayPatrol(office_staff));  // not stationed in a grid
  EXPECT_FALSE(MayPatrol(dispatcher));
  Patrol p;
  p.user_id = "s1";
  p.department_code = "CG";
  p.grid_path = "/D1/S1/C1/";
  EXPECT_TRUE(CanSeePatrol(staff, p));
  EXPECT_TRUE(CanSeePatrol(office_staff, p));  // the same department
  EXPECT_TRUE(CanSeePatrol(dispatcher, p));
  EXPECT_FALSE(CanSeePatrol(other_dispatcher, p));
  EXPECT_TRUE(CanSeePatrol(supervisor, p));
  EXPECT_TRUE(CanSeePatrol(operator_, p));
  EXPECT_FALSE(CanSeePatrol(leader, p));  // a grid leader sees only their own
  p.user_id = "l1";
  p.department_code.clear();
  EXPECT_TRUE(CanSeePatrol(leader, p));
  EXPECT_FALSE(CanSeePatrol(other_leader, p));
  EXPECT_FALSE(CanSeePatrol(office_staff, p));
}

// ---- Supervision (督办) -------------------------------------------------------------------------

TEST(Supervision, OrdersEscalateUpTheGridPathOncePerLevel) {
  const std::string path = "/410100/410184/410184001/410184001001/410184001001001/";
  EXPECT_EQ(EscalationTarget(path, "410184001"), std::optional<std::string>("410184"));
  EXPECT_EQ(EscalationTarget(path, "410184"), std::optional<std::string>("410100"));
  EXPECT_EQ(EscalationTarget(path, "410100"), std::nullopt);  // the root
  EXPECT_EQ(EscalationTarget(path, "410199"), std::nullopt);  // not on the path
  const Micros due = 1000 * kSecond;
  const Micros hour = 3600 * kSecond;
  EXPECT_EQ(NextEscalationTime(due, 0, hour, "410184"), due);
  EXPECT_EQ(NextEscalationTime(due, 1, hour, "410100"), due + hour);
  EXPECT_EQ(NextEscalationTime(due, 2, hour, std::nullopt), 0);

  SupervisionOrder o;
  o.respond_by_time = due;
  o.state = SupervisionState::kAnswered;
  o.answer_time = due;  // the boundary counts as on time
  EXPECT_TRUE(AnsweredOnTime(o));
  o.answer_time = due + 1;
  EXPECT_FALSE(AnsweredOnTime(o));
  o.state = SupervisionState::kAcknowledged;
  o.answer_time = 0;
  EXPECT_FALSE(AnsweredOnTime(o));
}

TEST(Supervision, WhoIssuesAndWhatAnOrderSays) {
  Case c;
  c.grid_path = "/410100/410184/410184001/410184001001/410184001001001/";
  EXPECT_TRUE(MayIssueSupervision({"d1", "", Role::kDispatcher, "410184001", "", false}, c));
  EXPECT_FALSE(MayIssueSupervision({"d2", "", Role::kDispatcher, "410184002", "", false}, c));
  EXPECT_TRUE(MayIssueSupervision({"v1", "", Role::kSupervisor, "410184", "", false}, c));
  EXPECT_FALSE(MayIssueSupervision({"v1", "", Role::kSupervisor, "410184", "", true}, c));
  EXPECT_FALSE(MayIssueSupervision({"l1", "", Role::kGridLeader, "410184001001001", "", false}, c));
  EXPECT_FALSE(MayIssueSupervision({"o1", "", Role::kOperator, "410100", "", false}, c));
  const Micros now = 1790000000LL * kSecond;
  const Micros minute = 60 * kSecond;
  struct Row {
    const char* name;
    std::string reason;
    Micros respond_by;
    std::vector<std::string> fields;
  };
  for (const Row& r : std::vector<Row>{
           {"a minute ahead", "请加快处置", now + minute, {}},
           {"90 days ahead", "请加快处置", now + 90 * 24 * 60 * minute, {}},
           {"under a minute", "请加快处置", now + minute - 1, {"respond_by_time"}},
           {"over 90 days", "请加快处置", now + 90 * 24 * 60 * minute + 1, {"respond_by_time"}},
           {"no reason", "", now + minute, {"reason"}},
           {"a reason of 2001 characters", std::string(2001, 'x'), now + minute, {"reason"}},
       }) {
    FieldViolations v;
    CheckSupervisionOrder(v, r.reason, r.respond_by, now);
    EXPECT_EQ(FieldsOf(v), r.fields) << r.name;
  }
}

}  // namespace
}  // namespace gridline::domain
