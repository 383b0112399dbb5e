// The domain core on its own: validation rules and visibility. No store, no gRPC.
#include <gtest/gtest.h>

#include <functional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/domain/accountability.h"
#include "server/domain/errors.h"
#include "server/domain/organisation.h"
#include "server/domain/patrol.h"
#include "server/domain/rate_limit.h"
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

// Found with the organisation import's fuzz harness (fuzz/fuzz_organisation.cc: an input of
// 4,000 grids in one chain took 10-14 s): the cycle check followed the parents from every grid
// and department in turn, quadratic in the depth of the tree, so an import of the largest size
// accepted (200,000 entries) in one chain or one cycle took hours of a worker's time. These checks
// now take about a second.
TEST(Organisation, ChecksALongChainAndALongCycleInLinearTime) {
  constexpr int kGrids = 200000;
  Organisation chain;
  for (int i = 0; i < kGrids; ++i) {
    chain.grids.push_back({absl::StrCat("g", i), "g", GridLevel::kCompound,
                           i == 0 ? "" : absl::StrCat("g", i - 1), ""});
  }
  OrgCheckResult checked = CheckOrganisation(chain);
  ASSERT_EQ(checked.violations.size(), static_cast<size_t>(kGrids - 1));  // the levels
  EXPECT_EQ(checked.violations[0].field, "level");

  Organisation cycle = chain;
  cycle.grids[0].parent_code = absl::StrCat("g", kGrids - 1);
  checked = CheckOrganisation(cycle);
  int cycles = 0;
  for (const OrgViolation& v : checked.violations) {
    if (v.field != "parent_code") continue;
    ++cycles;
    if (v.key == "g5") {
      EXPECT_EQ(v.description,
                "the grid tree would have a cycle: g5 -> g4 -> g3 -> g2 -> g1 -> g0 -> … -> g5");
    }
  }
  EXPECT_EQ(cycles, kGrids);

  // Departments: a cycle of three, and one department below it.
  Organisation depts = SmallOrg();
  depts.departments.insert(
      depts.departments.end(),
      {{"A", "a", "B", "D"}, {"B", "b", "C", "D"}, {"C", "c", "A", "D"}, {"X", "x", "A", "D"}});
  checked = CheckOrganisation(depts);
  ASSERT_EQ(checked.violations.size(), 3u);
  EXPECT_EQ(checked.violations[0].description,
            "the departments would have a cycle: A -> B -> C -> A");
  EXPECT_EQ(checked.violations[2].key, "C");
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
      {"a subject of 201 characters",
       [](Visit& v) { v.subject = std::string(201, 'x'); },
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

// ---- 三责 accountability
// -------------------------------------------------------------------------

constexpr Micros kHour = 3600 * kSecond;
constexpr Micros kDay = 24 * kHour;
// The month of the tests: [kMonth, kMonth + 30 days).
constexpr Micros kMonth = 1790000000LL * kSecond;
constexpr Micros kMonthEnd = kMonth + 30 * kDay;
constexpr char kCell[] = "C1";
constexpr char kCellPath[] = "/D1/S1/C1/";

AccountabilityOrg TestOrg() {
  AccountabilityOrg org;
  org.grids["D1"] = {"D1", "district", GridLevel::kDistrict, "", "/D1/"};
  org.grids["S1"] = {"S1", "street", GridLevel::kStreet, "D1", "/D1/S1/"};
  org.grids["C1"] = {"C1", "cell", GridLevel::kCell, "S1", kCellPath};
  org.departments["CG"] = {"CG", "城管", "", "D1", "cg-leader"};
  org.users = {{"leader", "", Role::kGridLeader, "C1", "", false},
               {"sunk", "", Role::kDepartmentStaff, "C1", "CG", false},
               {"station", "", Role::kDepartmentStaff, "S1", "CG", false},
               {"hq", "", Role::kDepartmentStaff, "D1", "CG", false},
               {"center", "", Role::kDispatcher, "S1", "", false}};
  return org;
}

AccountabilityCase ACase(const std::string& id, CaseSource source, Micros created) {
  AccountabilityCase c;
  c.case_id = id;
  c.source = source;
  c.state = CaseState::kInProgress;
  c.category_code = "K1";
  c.grid_code = kCell;
  c.grid_path = kCellPath;
  c.has_coordinates = true;
  c.latitude = 34.396;
  c.longitude = 113.739;
  c.observe_time = created;
  c.create_time = created;
  c.triage_end_time = created + 10 * 60 * kSecond;
  return c;
}

// "rule unit user cases weight" per record, for a compact expected set.
std::vector<std::string> Summaries(const std::vector<AccountabilityRecord>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    out.push_back(absl::StrCat(AccountabilityRuleName(r.rule), " ", r.unit_code, " ", r.user_id,
                               " ", absl::StrJoin(r.case_ids, "+"), " ", r.weight));
  }
  return out;
}

TEST(Accountability, TheRulesFindExactlyWhatTheyShould) {
  const AccountabilityRules rules;  // 200 m, 72 h, 120 min triage, 100 m / 30 days, 3/3/2
  const Micros t = kMonth + 10 * kDay;
  // About 111 m per 0.001 degree of latitude.
  struct Row {
    const char* name;
    std::vector<AccountabilityCase> cases;
    std::vector<std::string> want;
  };
  auto x = ACase("X", CaseSource::kPublic, t);
  auto h = ACase("H", CaseSource::kHandset, t - kHour);
  auto with = [](AccountabilityCase c, const std::function<void(AccountabilityCase&)>& f) {
    f(c);
    return c;
  };
  const std::vector<std::string> x_not_found = {"SHOULD_HAVE_FOUND C1 leader X 2",
                                                "SHOULD_HAVE_FOUND C1 sunk X 2"};
  const std::vector<Row> rows = {
      {"a public report nobody found", {x}, x_not_found},
      {"found by a handset report an hour before", {x, h}, {}},
      {"found exactly at the window's edge",
       {x, with(h, [&](auto& c) { c.observe_time = t - rules.find_window; })},
       {}},
      {"found a second too early",
       {x, with(h, [&](auto& c) { c.observe_time = t - rules.find_window - kSecond; })},
       x_not_found},
      {"found after it was reported",
       {x, with(h, [&](auto& c) { c.observe_time = t + 1; })},
       x_not_found},
      {"found 199 m away", {x, with(h, [](auto& c) { c.latitude += 0.00179; })}, {}},
      {"found 201 m away", {x, with(h, [](auto& c) { c.latitude += 0.00181; })}, x_not_found},
      {"found in another category",
       {x, with(h, [](auto& c) { c.category_code = "K2"; })},
       x_not_found},
      {"the public case re-categorised to what the handset found",
       {with(x, [](auto& c) { c.category_code = "K2"; }),
        with(h, [](auto& c) { c.category_code = "K2"; })},
       {}},
      {"a handset report merged as a duplicate still shows it was found",
       {x, with(h, [](auto& c) { c.state = CaseState::kMerged; })},
       {}},
      {"a public report merged as a duplicate is no case of its own",
       {with(x, [](auto& c) { c.state = CaseState::kMerged; })},
       {}},
      {"a leader's assignment weighs 3",
       {ACase("X", CaseSource::kLeader, t)},
       {"SHOULD_HAVE_FOUND C1 leader X 3", "SHOULD_HAVE_FOUND C1 sunk X 3"}},
      {"an inspection's finding weighs 1",
       {ACase("X", CaseSource::kInspection, t)},
       {"SHOULD_HAVE_FOUND C1 leader X 1", "SHOULD_HAVE_FOUND C1 sunk X 1"}},
      {"triage past its limit falls on the street's center",
       {with(h, [&](auto& c) { c.triage_end_time = c.create_time + rules.triage_limit + 1; })},
       {"SHOULD_HAVE_REPORTED S1  H 1"}},
      {"triage just in time",
       {with(h, [&](auto& c) { c.triage_end_time = c.create_time + rules.triage_limit; })},
       {}},
      {"still in triage",
       {with(h, [&](auto& c) { c.triage_end_time = 0; })},
       {"SHOULD_HAVE_REPORTED S1  H 1"}},
      {"overdue at the month's end: the department and its sunk staff (not headquarters)",
       {with(h,
             [&](auto& c) {
               c.lead_department_code = "CG";
               c.deadline_time = kMonthEnd - 1;
             })},
       {"SHOULD_HAVE_HANDLED CG  H 1", "SHOULD_HAVE_HANDLED CG station H 1",
        "SHOULD_HAVE_HANDLED CG sunk H 1"}},
      {"due exactly at the month's end is not overdue yet",
       {with(h,
             [&](auto& c) {
               c.lead_department_code = "CG";
               c.deadline_time = kMonthEnd;
             })},
       {}},
      {"closed late in the month",
       {with(h,
             [&](auto& c) {
               c.lead_department_code = "CG";
               c.state = CaseState::kClosed;
               c.deadline_time = t;
               c.closed_time = t + kHour;
             })},
       {"SHOULD_HAVE_HANDLED CG  H 1", "SHOULD_HAVE_HANDLED CG station H 1",
        "SHOULD_HAVE_HANDLED CG sunk H 1"}},
      {"closed on time",
       {with(h,
             [&](auto& c) {
               c.lead_department_code = "CG";
               c.state = CaseState::kClosed;
               c.deadline_time = t + kHour;
               c.closed_time = t;
             })},
       {}},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(
        Summaries(ComputeAccountability(rules, TestOrg(), r.cases, 2026, 10, kMonth, kMonthEnd)),
        r.want)
        << r.name;
  }
}

TEST(Accountability, FixedAndBackFallsOnTheClosingDepartmentAndItsLeader) {
  const AccountabilityRules rules;
  const Micros t = kMonth + 10 * kDay;
  auto closed = ACase("Y", CaseSource::kHandset, t - 40 * kDay);
  closed.state = CaseState::kClosed;
  closed.lead_department_code = "CG";
  closed.deadline_time = t - 20 * kDay;
  closed.closed_time = t - 29 * kDay;
  auto again = ACase("Z", CaseSource::kHandset, t);
  auto run = [&](std::vector<AccountabilityCase> cases) {
    std::vector<std::string> out;
    for (auto& s :
         Summaries(ComputeAccountability(rules, TestOrg(), cases, 2026, 10, kMonth, kMonthEnd))) {
      if (absl::StartsWith(s, "FIXED_AND_BACK")) out.push_back(s);
    }
    return out;
  };
  const std::vector<std::string> both = {"FIXED_AND_BACK CG  Z+Y 1",
                                         "FIXED_AND_BACK CG cg-leader Z+Y 1"};
  EXPECT_EQ(run({closed, again}), both);
  auto edge = closed;
  edge.closed_time = t - rules.recurrence_window;  // the window's first instant
  EXPECT_EQ(run({edge, again}), both);
  edge.closed_time = t - rules.recurrence_window - 1;
  EXPECT_TRUE(run({edge, again}).empty());
  auto far = again;
  far.latitude += 0.00091;  // 101 m
  EXPECT_TRUE(run({closed, far}).empty());
  auto near = again;
  near.latitude += 0.00089;  // 99 m
  EXPECT_EQ(run({closed, near}), both);
  auto merged = again;
  merged.state = CaseState::kMerged;  // a duplicate is no new case
  EXPECT_TRUE(run({closed, merged}).empty());
  auto from_media = again;
  from_media.source = CaseSource::kMedia;
  auto weighted = run({closed, from_media});
  ASSERT_EQ(weighted.size(), 2u);
  EXPECT_EQ(weighted[0], "FIXED_AND_BACK CG  Z+Y 3");
}

}  // namespace
}  // namespace gridline::domain

namespace gridline::domain {
namespace {

constexpr Micros kSec = 1000000;

TEST(RateLimit, ABucketGivesItsBurstThenRefillsAtItsRate) {
  const BucketRule rule{2, 3};  // 3 at once, 2 a second
  Bucket b;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(TakeFromBucket(rule, 1, 10 * kSec, &b), 0) << i;
  // Empty: one more unit in half a second.
  EXPECT_EQ(TakeFromBucket(rule, 1, 10 * kSec, &b), kSec / 2);
  EXPECT_EQ(TakeFromBucket(rule, 1, 10 * kSec + kSec / 4, &b), kSec / 4);
  EXPECT_EQ(TakeFromBucket(rule, 1, 10 * kSec + kSec / 2, &b), 0);
  // A long quiet time refills to the burst, not beyond.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(TakeFromBucket(rule, 1, 100 * kSec, &b), 0) << i;
  EXPECT_GT(TakeFromBucket(rule, 1, 100 * kSec, &b), 0);
  // A cost above the burst waits for a full bucket, then passes and leaves a debt.
  Bucket big;
  EXPECT_EQ(TakeFromBucket(rule, 10, 0, &big), 0);
  EXPECT_EQ(TakeFromBucket(rule, 1, 0, &big), 4 * kSec);  // from -7 to 1 at 2 a second
}

TEST(RateLimit, ChargesCountBytesAlreadyReceivedAndSayWhenTheDebtIsPaid) {
  const BucketRule rule{100, 1000};
  Bucket b;
  EXPECT_EQ(ChargeBucket(rule, 600, 0, &b), 0);
  EXPECT_EQ(ChargeBucket(rule, 600, 0, &b), 2 * kSec);  // 200 over at 100 a second
  EXPECT_EQ(ChargeBucket(rule, 0, 2 * kSec, &b), 0);
}

TEST(RateLimit, LockoutComesAfterTheThresholdAndDoublesUntilAQuietWindow) {
  LockoutRule rule;
  rule.failures_before_lockout = 3;
  rule.window = 600 * kSec;
  rule.first_lockout = 2 * kSec;
  rule.max_lockout = 10 * kSec;
  LockoutState s;
  Micros t = 1000 * kSec;
  EXPECT_EQ(RecordAuthFailure(rule, t, &s), 0);
  EXPECT_EQ(RecordAuthFailure(rule, t + 1, &s), 0);
  EXPECT_EQ(LockedFor(s, t + 1), 0);
  EXPECT_EQ(RecordAuthFailure(rule, t + 2, &s), 2 * kSec);
  EXPECT_EQ(LockedFor(s, t + 2 + kSec), kSec);
  EXPECT_EQ(LockedFor(s, t + 2 + 2 * kSec), 0);
  // After a lockout, each further failure locks again, twice as long, up to the maximum.
  t += 3 * kSec;
  EXPECT_EQ(RecordAuthFailure(rule, t, &s), 4 * kSec);
  EXPECT_EQ(RecordAuthFailure(rule, t + 5 * kSec, &s), 8 * kSec);
  EXPECT_EQ(RecordAuthFailure(rule, t + 20 * kSec, &s), 10 * kSec);
  EXPECT_EQ(RecordAuthFailure(rule, t + 40 * kSec, &s), 10 * kSec);
  // Ten quiet minutes forget it all: the threshold counts again.
  t += 40 * kSec + 601 * kSec;
  EXPECT_EQ(RecordAuthFailure(rule, t, &s), 0);
  EXPECT_EQ(RecordAuthFailure(rule, t + 1, &s), 0);
  EXPECT_EQ(RecordAuthFailure(rule, t + 2, &s), 2 * kSec);
}

}  // namespace
}  // namespace gridline::domain

// PathHasGrid: a whole code between slashes, wherever it is, and never a part of a longer one.
TEST(PathHasGridTest, MatchesWholeCodesOnThePathOnly) {
  const std::string path = "/410184/410184001/410184001001/";
  EXPECT_TRUE(gridline::domain::PathHasGrid(path, "410184"));
  EXPECT_TRUE(gridline::domain::PathHasGrid(path, "410184001"));
  EXPECT_TRUE(gridline::domain::PathHasGrid(path, "410184001001"));
  EXPECT_FALSE(gridline::domain::PathHasGrid(path, "41018400"));      // a prefix of a code
  EXPECT_FALSE(gridline::domain::PathHasGrid(path, "84001"));         // the middle of one
  EXPECT_FALSE(gridline::domain::PathHasGrid(path, "410184001002"));  // not there
  EXPECT_FALSE(gridline::domain::PathHasGrid(path, ""));
  EXPECT_FALSE(gridline::domain::PathHasGrid("", "410184"));
  // The first occurrence is part of a longer code, the second is whole.
  EXPECT_TRUE(gridline::domain::PathHasGrid("/4101841/410184/", "410184"));
  EXPECT_FALSE(gridline::domain::PathHasGrid("410184", "410184"));  // no slashes around it
}
