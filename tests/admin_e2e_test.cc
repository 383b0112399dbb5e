// AdminService end to end: a real gridline-server process with the demo organisation, on SQLite
// and on the MariaDB started by the test command, driven over real gRPC by an operator (and by
// callers who are not one).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "gridline/v1/admin_service.grpc.pb.h"
#include "tests/e2e_fixture.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using ::google::protobuf::util::TimeUtil;
using testing::Backend;
using testing::kDispatcher1;
using testing::kLeader1;
using testing::kLeader3;
using testing::kOperator;

using AdminStub = v1::AdminService::Stub;

using testing::FieldsOf;
using testing::PreconditionsOf;
using testing::Violation;

class AdminTest : public testing::E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (IsSkipped() || HasFailure()) return;
    server_ = StartServer(&port_);
    ASSERT_TRUE(server_);
    channel_ = Channel(port_);
    admin_ = v1::AdminService::NewStub(channel_);
    reports_ = v1::ReportService::NewStub(channel_);
  }

  // One unary AdminService call with `token` (empty: none).
  template <typename Req, typename Resp>
  grpc::Status Call(grpc::Status (AdminStub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    const Req& req, Resp* resp, const std::string& token = kOperator) {
    grpc::ClientContext ctx;
    Authorize(&ctx, token);
    return (admin_.get()->*method)(&ctx, req, resp);
  }

  // ReportService.GetCase on an id that does not exist: NOT_FOUND tells an accepted token from
  // a refused one (UNAUTHENTICATED).
  grpc::StatusCode ProbeToken(const std::string& token) {
    v1::Case out;
    return GetCase(reports_.get(), "c-no-such-case", &out, token).error_code();
  }

  static std::string DescriptionsOf(const grpc::Status& status) {
    std::string out;
    google::rpc::Status rich;
    if (!rich.ParseFromString(status.error_details())) return out;
    for (const auto& any : rich.details()) {
      google::rpc::BadRequest bad;
      if (any.UnpackTo(&bad)) {
        for (const auto& v : bad.field_violations()) {
          absl::StrAppend(&out, v.field(), ": ", v.description(), "\n");
        }
      }
    }
    return out;
  }

  static bool HasField(const grpc::Status& status, const std::string& field) {
    auto fields = FieldsOf(status);
    return std::find(fields.begin(), fields.end(), field) != fields.end();
  }

  static v1::Grid MakeGrid(const std::string& code, const std::string& name, v1::GridLevel level,
                           const std::string& parent) {
    v1::Grid g;
    g.set_code(code);
    g.set_name(name);
    g.set_level(level);
    g.set_parent_code(parent);
    return g;
  }

  grpc::Status CreateGrid(const v1::Grid& g, v1::Grid* out = nullptr) {
    v1::CreateGridRequest req;
    *req.mutable_grid() = g;
    v1::Grid ignored;
    return Call(&AdminStub::CreateGrid, req, out ? out : &ignored);
  }

  grpc::Status UpdateGrid(const v1::Grid& g, std::vector<std::string> paths,
                          v1::Grid* out = nullptr) {
    v1::UpdateGridRequest req;
    *req.mutable_grid() = g;
    for (auto& p : paths) req.mutable_update_mask()->add_paths(p);
    v1::Grid ignored;
    return Call(&AdminStub::UpdateGrid, req, out ? out : &ignored);
  }

  grpc::Status GetGrid(const std::string& code, v1::Grid* out = nullptr) {
    v1::GetGridRequest req;
    req.set_code(code);
    v1::Grid ignored;
    return Call(&AdminStub::GetGrid, req, out ? out : &ignored);
  }

  grpc::Status DeleteGrid(const std::string& code) {
    v1::DeleteGridRequest req;
    req.set_code(code);
    google::protobuf::Empty out;
    return Call(&AdminStub::DeleteGrid, req, &out);
  }

  grpc::Status Resolve(const std::string& category, const std::string& grid,
                       v1::ResolveRouteResponse* out) {
    v1::ResolveRouteRequest req;
    req.set_category_code(category);
    req.set_grid_code(grid);
    return Call(&AdminStub::ResolveRoute, req, out);
  }

  grpc::Status Issue(const std::string& user_id, v1::IssueTokenResponse* out,
                     const std::string& label = "handset") {
    v1::IssueTokenRequest req;
    req.set_user_id(user_id);
    req.set_label(label);
    return Call(&AdminStub::IssueToken, req, out);
  }

  static std::vector<std::string> RuleIds(
      const google::protobuf::RepeatedPtrField<v1::RoutingRule>& rules) {
    std::vector<std::string> ids;
    for (const auto& r : rules) ids.push_back(r.rule_id());
    return ids;
  }

  // The whole stream of one import: the responses in order and the final status.
  struct ImportRun {
    std::vector<v1::ImportOrganisationResponse> responses;
    grpc::Status status;
    const v1::ImportResult* result() const {
      if (responses.empty() || !responses.back().has_result()) return nullptr;
      return &responses.back().result();
    }
    int Count(v1::ImportProgress::Phase phase) const {
      return static_cast<int>(std::count_if(responses.begin(), responses.end(), [&](auto& r) {
        return r.has_progress() && r.progress().phase() == phase;
      }));
    }
  };

  ImportRun Import(const std::vector<v1::ImportOrganisationRequest>& messages,
                   const std::string& token = kOperator) {
    grpc::ClientContext ctx;
    Authorize(&ctx, token, 60000);
    auto stream = admin_->ImportOrganisation(&ctx);
    ImportRun run;
    for (const auto& m : messages) {
      if (!stream->Write(m)) break;  // the server ended the stream early
    }
    stream->WritesDone();
    v1::ImportOrganisationResponse r;
    while (stream->Read(&r)) run.responses.push_back(r);
    run.status = stream->Finish();
    return run;
  }

  static v1::ImportOrganisationRequest Options(bool dry_run, int64_t expected = 0) {
    v1::ImportOrganisationRequest m;
    m.mutable_options()->set_dry_run(dry_run);
    m.mutable_options()->set_expected_entries(expected);
    return m;
  }

  static v1::ImportOrganisationRequest Part(const v1::Organisation& org) {
    v1::ImportOrganisationRequest m;
    *m.mutable_part() = org;
    return m;
  }

  static const v1::ImportCounts& CountsOf(const v1::ImportResult& r, v1::OrganisationKind kind) {
    for (const auto& c : r.counts()) {
      if (c.kind() == kind) return c;
    }
    static const v1::ImportCounts kNone;
    return kNone;
  }

  std::unique_ptr<testing::ServerProcess> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<AdminStub> admin_;
  std::unique_ptr<v1::ReportService::Stub> reports_;
};

TEST_P(AdminTest, OnlyOperatorsGetInAndCallersMustAuthenticate) {
  v1::GetGridRequest get;
  get.set_code("410184");
  v1::Grid grid;
  EXPECT_EQ(Call(&AdminStub::GetGrid, get, &grid, "").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Call(&AdminStub::GetGrid, get, &grid, "not-a-token").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // The organisation's names are for everyone signed in; the rest is the operators'.
  v1::ListUsersRequest users;
  v1::ListUsersResponse listed;
  for (const char* token : {kLeader1, kDispatcher1, testing::kSupervisor}) {
    EXPECT_TRUE(Call(&AdminStub::GetGrid, get, &grid, token).ok()) << token;
    EXPECT_EQ(Call(&AdminStub::ListUsers, users, &listed, token).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << token;
  }

  // A write by a non-operator is refused and changes nothing.
  v1::CreateGridRequest create;
  *create.mutable_grid() = MakeGrid("410184001001009", "第九网格", v1::CELL, "410184001001");
  EXPECT_EQ(Call(&AdminStub::CreateGrid, create, &grid, kLeader1).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(GetGrid("410184001001009").error_code(), grpc::StatusCode::NOT_FOUND);

  ASSERT_TRUE(Call(&AdminStub::GetGrid, get, &grid).ok());
  EXPECT_EQ(grid.name(), "新郑市");
  EXPECT_EQ(grid.level(), v1::DISTRICT);
  EXPECT_EQ(grid.parent_code(), "410100");
}

TEST_P(AdminTest, GridsAreCreatedListedRenamedMovedAndDeletedWithinTheTreeRules) {
  v1::Grid created;
  ASSERT_TRUE(
      CreateGrid(MakeGrid("410184001001004", "郑韩路社区第四网格", v1::CELL, "410184001001"),
                 &created)
          .ok());
  EXPECT_EQ(created.code(), "410184001001004");
  EXPECT_EQ(created.name(), "郑韩路社区第四网格");
  EXPECT_EQ(created.parent_code(), "410184001001");

  v1::Grid got;
  ASSERT_TRUE(GetGrid("410184001001004", &got).ok());
  EXPECT_EQ(got.SerializeAsString(), created.SerializeAsString());
  EXPECT_EQ(GetGrid("999").error_code(), grpc::StatusCode::NOT_FOUND);

  // Children of a community, by code, in pages.
  v1::ListGridsRequest list;
  list.set_parent_code("410184001001");
  list.set_page_size(3);
  v1::ListGridsResponse page1, page2;
  ASSERT_TRUE(Call(&AdminStub::ListGrids, list, &page1).ok());
  ASSERT_EQ(page1.grids_size(), 3);
  EXPECT_EQ(page1.grids(0).code(), "410184001001001");
  EXPECT_EQ(page1.grids(2).code(), "410184001001003");
  ASSERT_FALSE(page1.next_page_token().empty());
  list.set_page_token(page1.next_page_token());
  ASSERT_TRUE(Call(&AdminStub::ListGrids, list, &page2).ok());
  ASSERT_EQ(page2.grids_size(), 1);
  EXPECT_EQ(page2.grids(0).code(), "410184001001004");
  EXPECT_TRUE(page2.next_page_token().empty());
  list.set_page_token("garbage");
  EXPECT_EQ(Call(&AdminStub::ListGrids, list, &page2).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListGridsRequest by_level;
  by_level.set_level(v1::STREET);
  v1::ListGridsResponse streets;
  ASSERT_TRUE(Call(&AdminStub::ListGrids, by_level, &streets).ok());
  ASSERT_EQ(streets.grids_size(), 2);
  EXPECT_EQ(streets.grids(0).code(), "410184001");
  EXPECT_EQ(streets.grids(1).code(), "410184002");
  v1::ListGridsRequest unknown_parent;
  unknown_parent.set_parent_code("nope");
  EXPECT_EQ(Call(&AdminStub::ListGrids, unknown_parent, &streets).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Creation rules.
  auto dup = CreateGrid(MakeGrid("410184001001004", "again", v1::CELL, "410184001001"));
  EXPECT_EQ(dup.error_code(), grpc::StatusCode::ALREADY_EXISTS) << dup.error_message();
  auto unknown = CreateGrid(MakeGrid("410184001001005", "x", v1::CELL, "410184009009"));
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(unknown, "grid.parent_code")) << DescriptionsOf(unknown);
  auto level = CreateGrid(MakeGrid("410184001001006", "x", v1::COMMUNITY, "410184001001001"));
  EXPECT_EQ(level.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(level, "grid.level")) << DescriptionsOf(level);
  auto root = CreateGrid(MakeGrid("410200", "开封市", v1::CITY, ""));
  EXPECT_EQ(root.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(root, "grid.parent_code")) << DescriptionsOf(root);
  auto bad = CreateGrid(MakeGrid("bad code!", "", v1::GRID_LEVEL_UNSPECIFIED, "410184001001"));
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(bad, "grid.code")) << DescriptionsOf(bad);
  EXPECT_TRUE(HasField(bad, "grid.name")) << DescriptionsOf(bad);
  EXPECT_TRUE(HasField(bad, "grid.level")) << DescriptionsOf(bad);
  auto too_long = CreateGrid(MakeGrid(std::string(33, '1'), "x", v1::CELL, "410184001001"));
  EXPECT_TRUE(HasField(too_long, "grid.code")) << DescriptionsOf(too_long);

  // Update: the mask is required and names mutable fields only.
  v1::Grid renamed = MakeGrid("410184001001004", "第四网格（新）", v1::CELL, "");
  EXPECT_EQ(UpdateGrid(renamed, {}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(UpdateGrid(renamed, {"code"}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(UpdateGrid(renamed, {"colour"}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::Grid missing = renamed;
  missing.set_code("410184001001099");
  EXPECT_EQ(UpdateGrid(missing, {"name"}).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::Grid updated;
  ASSERT_TRUE(UpdateGrid(renamed, {"name"}, &updated).ok());
  EXPECT_EQ(updated.name(), "第四网格（新）");
  EXPECT_EQ(updated.parent_code(), "410184001001") << "fields outside the mask stay";

  // Move the cell to another street: routing follows the new place (its path was recomputed).
  v1::ResolveRouteResponse route;
  ASSERT_TRUE(Resolve("C20_RESIDENT_ERRAND", "410184001001004", &route).ok());
  EXPECT_EQ(route.lead_department_code(), "JD-410184001");
  v1::Grid moved = MakeGrid("410184001001004", "", v1::CELL, "410184002001");
  ASSERT_TRUE(UpdateGrid(moved, {"parent_code"}, &updated).ok());
  EXPECT_EQ(updated.parent_code(), "410184002001");
  EXPECT_EQ(updated.name(), "第四网格（新）");
  ASSERT_TRUE(Resolve("C20_RESIDENT_ERRAND", "410184001001004", &route).ok());
  EXPECT_EQ(route.lead_department_code(), "JD-410184002");
  EXPECT_EQ(route.street_grid_code(), "410184002");

  // A cycle: a street under one of its own cells.
  auto cycle =
      UpdateGrid(MakeGrid("410184001", "", v1::STREET, "410184001001001"), {"parent_code"});
  EXPECT_EQ(cycle.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(cycle, "grid.parent_code")) << DescriptionsOf(cycle);
  EXPECT_TRUE(absl::StrContains(DescriptionsOf(cycle), "cycle")) << DescriptionsOf(cycle);
  // A level change that puts a community level with its own cells.
  auto child_level = UpdateGrid(MakeGrid("410184001002", "", v1::CELL, ""), {"level"});
  EXPECT_EQ(child_level.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(child_level, "grid.level")) << DescriptionsOf(child_level);
  // A move to an unknown parent, or to no parent (a second root).
  auto nowhere = UpdateGrid(MakeGrid("410184001001004", "", v1::CELL, "nope"), {"parent_code"});
  EXPECT_TRUE(HasField(nowhere, "grid.parent_code")) << DescriptionsOf(nowhere);
  auto new_root = UpdateGrid(MakeGrid("410184001001004", "", v1::CELL, ""), {"parent_code"});
  EXPECT_TRUE(HasField(new_root, "grid.parent_code")) << DescriptionsOf(new_root);
  ASSERT_TRUE(GetGrid("410184001", &got).ok());
  EXPECT_EQ(got.parent_code(), "410184") << "a refused update changes nothing";

  // Delete a leaf; then it is gone.
  EXPECT_TRUE(DeleteGrid("410184001001004").ok());
  EXPECT_EQ(GetGrid("410184001001004").error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(DeleteGrid("410184001001004").error_code(), grpc::StatusCode::NOT_FOUND);

  // A street is in use by child grids, departments, rules and users: one violation per kind.
  auto in_use = DeleteGrid("410184001");
  EXPECT_EQ(in_use.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  std::set<std::string> subjects;
  for (const auto& v : PreconditionsOf(in_use)) {
    EXPECT_EQ(v.type, "IN_USE");
    subjects.insert(v.subject);
  }
  EXPECT_EQ(subjects, (std::set<std::string>{"grids", "departments", "routing_rules", "users"}));

  // A leaf cell that only a case names stays: cases are history.
  auto report = Report("admin-e2e-case-1");
  report.mutable_location()->set_grid_code("410184001001002");
  v1::SubmitReportResponse submitted;
  ASSERT_TRUE(Submit(reports_.get(), report, &submitted).ok());
  auto case_use = DeleteGrid("410184001001002");
  EXPECT_EQ(case_use.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  auto pv = PreconditionsOf(case_use);
  ASSERT_EQ(pv.size(), 1u) << case_use.error_message();
  EXPECT_EQ(pv[0].type, "IN_USE");
  EXPECT_EQ(pv[0].subject, "cases");
  EXPECT_TRUE(absl::StrContains(pv[0].description, "1")) << pv[0].description;
  EXPECT_TRUE(GetGrid("410184001001002").ok());
}

TEST_P(AdminTest, ConcurrentWritesAllLandWithoutLosingEachOther) {
  // Each write checks the whole organisation and commits only on the version it read; losers
  // of that race reload and try again, so none of these is lost or refused.
  constexpr int kWriters = 8;
  std::vector<std::thread> threads;
  std::vector<grpc::Status> results(kWriters);
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      results[i] = CreateGrid(MakeGrid(absl::StrCat("41018400100100", i + 4),
                                       absl::StrCat("网格", i + 4), v1::CELL, "410184001001"));
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kWriters; ++i) {
    EXPECT_TRUE(results[i].ok()) << i << ": " << results[i].error_message();
  }
  v1::ListGridsRequest list;
  list.set_parent_code("410184001001");
  v1::ListGridsResponse children;
  ASSERT_TRUE(Call(&AdminStub::ListGrids, list, &children).ok());
  EXPECT_EQ(children.grids_size(), 3 + kWriters);
}

TEST_P(AdminTest, DepartmentsAndCategoriesAreCheckedAndKeptWhileInUse) {
  v1::CreateDepartmentRequest create;
  auto* d = create.mutable_department();
  d->set_code("SW-410184002");
  d->set_name("新郑市水务局新华路站");
  d->set_parent_code("SW");
  d->set_grid_code("410184002");
  v1::Department dept;
  ASSERT_TRUE(Call(&AdminStub::CreateDepartment, create, &dept).ok());
  EXPECT_EQ(dept.parent_code(), "SW");
  EXPECT_EQ(Call(&AdminStub::CreateDepartment, create, &dept).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  v1::CreateDepartmentRequest bad = create;
  bad.mutable_department()->set_code("XX");
  bad.mutable_department()->set_parent_code("NOPE");
  bad.mutable_department()->set_grid_code("999");
  auto s = Call(&AdminStub::CreateDepartment, bad, &dept);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(s, "department.parent_code")) << DescriptionsOf(s);
  EXPECT_TRUE(HasField(s, "department.grid_code")) << DescriptionsOf(s);

  // The parent chain may not loop: SW under its own team.
  v1::UpdateDepartmentRequest loop;
  loop.mutable_department()->set_code("SW");
  loop.mutable_department()->set_parent_code("SW-410184002");
  loop.mutable_update_mask()->add_paths("parent_code");
  s = Call(&AdminStub::UpdateDepartment, loop, &dept);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(s, "department.parent_code")) << DescriptionsOf(s);

  v1::UpdateDepartmentRequest rename;
  rename.mutable_department()->set_code("SW-410184002");
  rename.mutable_department()->set_name("水务新华路站");
  rename.mutable_update_mask()->add_paths("name");
  ASSERT_TRUE(Call(&AdminStub::UpdateDepartment, rename, &dept).ok());
  EXPECT_EQ(dept.name(), "水务新华路站");
  EXPECT_EQ(dept.parent_code(), "SW");

  v1::ListDepartmentsRequest teams;
  teams.set_parent_code("SW");
  v1::ListDepartmentsResponse listed;
  ASSERT_TRUE(Call(&AdminStub::ListDepartments, teams, &listed).ok());
  ASSERT_EQ(listed.departments_size(), 1);
  EXPECT_EQ(listed.departments(0).code(), "SW-410184002");

  // SW has a team, leads rules and has staff.
  v1::DeleteDepartmentRequest del;
  del.set_code("SW");
  google::protobuf::Empty empty;
  s = Call(&AdminStub::DeleteDepartment, del, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  std::set<std::string> subjects;
  for (const auto& v : PreconditionsOf(s)) subjects.insert(v.subject);
  EXPECT_EQ(subjects, (std::set<std::string>{"departments", "routing_rules", "users"}));
  del.set_code("SW-410184002");
  EXPECT_TRUE(Call(&AdminStub::DeleteDepartment, del, &empty).ok());
  v1::GetDepartmentRequest get;
  get.set_code("SW-410184002");
  EXPECT_EQ(Call(&AdminStub::GetDepartment, get, &dept).error_code(), grpc::StatusCode::NOT_FOUND);

  // Categories.
  v1::CreateCategoryRequest cat;
  auto* k = cat.mutable_category();
  k->set_code("C21_NOISE");
  k->set_name("噪声扰民");
  k->set_kind(v1::EVENT);
  k->set_normal_deadline_hours(48);
  k->set_urgent_deadline_hours(12);
  v1::Category category;
  ASSERT_TRUE(Call(&AdminStub::CreateCategory, cat, &category).ok());
  EXPECT_EQ(category.urgent_deadline_hours(), 12);
  EXPECT_EQ(category.emergency_deadline_hours(), 0);
  EXPECT_EQ(Call(&AdminStub::CreateCategory, cat, &category).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  v1::CreateCategoryRequest bad_cat = cat;
  bad_cat.mutable_category()->set_code("C22");
  bad_cat.mutable_category()->set_kind(v1::CATEGORY_KIND_UNSPECIFIED);
  bad_cat.mutable_category()->set_normal_deadline_hours(0);
  bad_cat.mutable_category()->set_emergency_deadline_hours(9000);
  s = Call(&AdminStub::CreateCategory, bad_cat, &category);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(s, "category.kind")) << DescriptionsOf(s);
  EXPECT_TRUE(HasField(s, "category.normal_deadline_hours")) << DescriptionsOf(s);
  EXPECT_TRUE(HasField(s, "category.emergency_deadline_hours")) << DescriptionsOf(s);
  EXPECT_FALSE(HasField(s, "category.urgent_deadline_hours")) << DescriptionsOf(s);

  v1::UpdateCategoryRequest upd;
  upd.mutable_category()->set_code("C21_NOISE");
  upd.mutable_category()->set_auto_accept(true);
  upd.mutable_category()->set_normal_deadline_hours(1);  // not in the mask: ignored
  upd.mutable_update_mask()->add_paths("auto_accept");
  ASSERT_TRUE(Call(&AdminStub::UpdateCategory, upd, &category).ok());
  EXPECT_TRUE(category.auto_accept());
  EXPECT_EQ(category.normal_deadline_hours(), 48);

  v1::ListCategoriesRequest services;
  services.set_kind(v1::SERVICE);
  v1::ListCategoriesResponse cats;
  ASSERT_TRUE(Call(&AdminStub::ListCategories, services, &cats).ok());
  ASSERT_EQ(cats.categories_size(), 1);
  EXPECT_EQ(cats.categories(0).code(), "C20_RESIDENT_ERRAND");

  // A category with a rule stays until the rule goes; one used by a case stays for good.
  v1::DeleteCategoryRequest del_cat;
  del_cat.set_code("C02_STANDING_WATER");
  s = Call(&AdminStub::DeleteCategory, del_cat, &empty);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  auto pv = PreconditionsOf(s);
  ASSERT_EQ(pv.size(), 1u);
  EXPECT_EQ(pv[0].subject, "routing_rules");
  EXPECT_TRUE(absl::StrContains(pv[0].description, "R-C02-ALL")) << pv[0].description;
  del_cat.set_code("C21_NOISE");
  EXPECT_TRUE(Call(&AdminStub::DeleteCategory, del_cat, &empty).ok());
  EXPECT_EQ(Call(&AdminStub::DeleteCategory, del_cat, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_P(AdminTest, RoutingRulesNameExistingThingsAndOnePerCategoryAndGrid) {
  v1::CreateRoutingRuleRequest create;
  auto* r = create.mutable_routing_rule();
  r->set_rule_id("R-C09-410184002");
  r->set_category_code("C09_ILLEGAL_POSTERS");
  r->set_grid_code("410184002");
  r->set_lead_department_code("JD-410184002");
  r->add_assisting_department_codes("CG");
  v1::RoutingRule rule;
  ASSERT_TRUE(Call(&AdminStub::CreateRoutingRule, create, &rule).ok());
  EXPECT_EQ(rule.rule_id(), "R-C09-410184002");
  EXPECT_EQ(Call(&AdminStub::CreateRoutingRule, create, &rule).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  // Another rule for the same (category, grid): ALREADY_EXISTS naming the existing rule.
  v1::CreateRoutingRuleRequest same_slot = create;
  same_slot.mutable_routing_rule()->set_rule_id("");
  auto s = Call(&AdminStub::CreateRoutingRule, same_slot, &rule);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(absl::StrContains(DescriptionsOf(s), "R-C09-410184002")) << DescriptionsOf(s);

  // Unknown references and a lead that also assists.
  v1::CreateRoutingRuleRequest bad;
  r = bad.mutable_routing_rule();
  r->set_category_code("C99");
  r->set_grid_code("999");
  r->set_lead_department_code("NOPE");
  s = Call(&AdminStub::CreateRoutingRule, bad, &rule);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(s, "routing_rule.category_code")) << DescriptionsOf(s);
  EXPECT_TRUE(HasField(s, "routing_rule.grid_code")) << DescriptionsOf(s);
  EXPECT_TRUE(HasField(s, "routing_rule.lead_department_code")) << DescriptionsOf(s);
  v1::CreateRoutingRuleRequest lead_assists;
  r = lead_assists.mutable_routing_rule();
  r->set_category_code("C09_ILLEGAL_POSTERS");
  r->set_grid_code("410184001");
  r->set_lead_department_code("CG");
  r->add_assisting_department_codes("CG");
  s = Call(&AdminStub::CreateRoutingRule, lead_assists, &rule);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(s, "routing_rule.assisting_department_codes")) << DescriptionsOf(s);

  // Without an id the server assigns one.
  lead_assists.mutable_routing_rule()->clear_assisting_department_codes();
  ASSERT_TRUE(Call(&AdminStub::CreateRoutingRule, lead_assists, &rule).ok());
  EXPECT_FALSE(rule.rule_id().empty());
  const std::string assigned = rule.rule_id();

  // Moving it onto the slot the other rule holds: ALREADY_EXISTS; elsewhere: fine.
  v1::UpdateRoutingRuleRequest upd;
  upd.mutable_routing_rule()->set_rule_id(assigned);
  upd.mutable_routing_rule()->set_grid_code("410184002");
  upd.mutable_update_mask()->add_paths("grid_code");
  EXPECT_EQ(Call(&AdminStub::UpdateRoutingRule, upd, &rule).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  upd.mutable_routing_rule()->set_grid_code("410184001001");
  ASSERT_TRUE(Call(&AdminStub::UpdateRoutingRule, upd, &rule).ok());
  EXPECT_EQ(rule.grid_code(), "410184001001");
  EXPECT_EQ(rule.lead_department_code(), "CG");
  upd.mutable_update_mask()->clear_paths();
  upd.mutable_update_mask()->add_paths("rule_id");
  EXPECT_EQ(Call(&AdminStub::UpdateRoutingRule, upd, &rule).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Listing: by category then grid, platform-wide first; filters combine.
  v1::ListRoutingRulesRequest list;
  list.set_category_code("C09_ILLEGAL_POSTERS");
  v1::ListRoutingRulesResponse rules;
  ASSERT_TRUE(Call(&AdminStub::ListRoutingRules, list, &rules).ok());
  EXPECT_EQ(RuleIds(rules.routing_rules()),
            (std::vector<std::string>{"R-C09-ALL", assigned, "R-C09-410184002"}));
  v1::ListRoutingRulesRequest by_dept;
  by_dept.set_department_code("ZJ");
  ASSERT_TRUE(Call(&AdminStub::ListRoutingRules, by_dept, &rules).ok());
  EXPECT_EQ(RuleIds(rules.routing_rules()),
            (std::vector<std::string>{"R-C08-410184001", "R-C11-ALL"}));

  v1::DeleteRoutingRuleRequest del;
  del.set_rule_id(assigned);
  google::protobuf::Empty empty;
  EXPECT_TRUE(Call(&AdminStub::DeleteRoutingRule, del, &empty).ok());
  EXPECT_EQ(Call(&AdminStub::DeleteRoutingRule, del, &empty).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_P(AdminTest, ResolveRouteShowsTheDeepestRuleTheShadowedOnesAndTheFallbacks) {
  v1::ResolveRouteResponse route;
  // A street rule beats the platform-wide one, which it shadows.
  ASSERT_TRUE(Resolve("C07_STREET_VENDING", testing::kCell1, &route).ok());
  EXPECT_EQ(route.source(), v1::ROUTING_RULE);
  EXPECT_EQ(route.rule().rule_id(), "R-C07-410184001");
  EXPECT_EQ(route.lead_department_code(), "CG-410184001");
  EXPECT_EQ(RuleIds(route.shadowed_rules()), (std::vector<std::string>{"R-C07-ALL"}));
  // Elsewhere only the platform-wide rule matches.
  ASSERT_TRUE(Resolve("C07_STREET_VENDING", "410184002001001", &route).ok());
  EXPECT_EQ(route.rule().rule_id(), "R-C07-ALL");
  EXPECT_EQ(route.lead_department_code(), "CG");
  EXPECT_EQ(route.shadowed_rules_size(), 0);
  ASSERT_TRUE(Resolve("C16_ILLEGAL_FUNDRAISING", "410184002001001", &route).ok());
  EXPECT_EQ(route.lead_department_code(), "JR");
  EXPECT_EQ(std::vector<std::string>(route.assisting_department_codes().begin(),
                                     route.assisting_department_codes().end()),
            std::vector<std::string>{"GA"});

  // A rule on the cell itself wins over the street's, most specific first among the shadowed.
  v1::CreateRoutingRuleRequest cell_rule;
  cell_rule.mutable_routing_rule()->set_rule_id("R-C07-CELL1");
  cell_rule.mutable_routing_rule()->set_category_code("C07_STREET_VENDING");
  cell_rule.mutable_routing_rule()->set_grid_code(testing::kCell1);
  cell_rule.mutable_routing_rule()->set_lead_department_code("JD-410184001");
  v1::RoutingRule created;
  ASSERT_TRUE(Call(&AdminStub::CreateRoutingRule, cell_rule, &created).ok());
  ASSERT_TRUE(Resolve("C07_STREET_VENDING", testing::kCell1, &route).ok());
  EXPECT_EQ(route.rule().rule_id(), "R-C07-CELL1");
  EXPECT_EQ(route.lead_department_code(), "JD-410184001");
  EXPECT_EQ(RuleIds(route.shadowed_rules()),
            (std::vector<std::string>{"R-C07-410184001", "R-C07-ALL"}));
  // A compound below the cell is covered by the cell's rule too.
  ASSERT_TRUE(Resolve("C07_STREET_VENDING", "410184001001001001", &route).ok());
  EXPECT_EQ(route.rule().rule_id(), "R-C07-CELL1");

  // No rule: the street office of the grid (属地兜底).
  ASSERT_TRUE(Resolve("C20_RESIDENT_ERRAND", "410184002002001", &route).ok());
  EXPECT_EQ(route.source(), v1::TERRITORIAL_FALLBACK);
  EXPECT_EQ(route.lead_department_code(), "JD-410184002");
  EXPECT_EQ(route.street_grid_code(), "410184002");
  EXPECT_FALSE(route.has_rule());

  // A street without a street office: NO_ROUTE.
  ASSERT_TRUE(CreateGrid(MakeGrid("410184003", "和庄镇", v1::STREET, "410184")).ok());
  ASSERT_TRUE(CreateGrid(MakeGrid("410184003001001", "和庄第一网格", v1::CELL, "410184003")).ok());
  ASSERT_TRUE(Resolve("C20_RESIDENT_ERRAND", "410184003001001", &route).ok());
  EXPECT_EQ(route.source(), v1::NO_ROUTE);
  EXPECT_EQ(route.street_grid_code(), "410184003");
  EXPECT_TRUE(route.lead_department_code().empty());

  auto s = Resolve("C99", "999", &route);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(s, "category_code")) << DescriptionsOf(s);
  EXPECT_TRUE(HasField(s, "grid_code")) << DescriptionsOf(s);
}

TEST_P(AdminTest, UsersAreCreatedScopedUpdatedAndDisabled) {
  v1::CreateUserRequest create;
  auto* u = create.mutable_user();
  u->set_user_id("u-leader-005");
  u->set_display_name("马超");
  u->set_role(v1::GRID_LEADER);
  u->set_grid_code("410184002002002");
  u->set_disabled(true);  // ignored: new users are enabled
  v1::User user;
  ASSERT_TRUE(Call(&AdminStub::CreateUser, create, &user).ok());
  EXPECT_EQ(user.user_id(), "u-leader-005");
  EXPECT_FALSE(user.disabled());
  EXPECT_EQ(Call(&AdminStub::CreateUser, create, &user).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);

  // Role and scope rules.
  v1::CreateUserRequest bad;
  bad.mutable_user()->set_user_id("u bad");
  bad.mutable_user()->set_display_name("x");
  bad.mutable_user()->set_role(v1::GRID_LEADER);
  auto s = Call(&AdminStub::CreateUser, bad, &user);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(s, "user.user_id")) << DescriptionsOf(s);
  EXPECT_TRUE(HasField(s, "user.grid_code")) << DescriptionsOf(s);
  bad.mutable_user()->set_user_id("u-staff-x");
  bad.mutable_user()->set_role(v1::DEPARTMENT_STAFF);
  s = Call(&AdminStub::CreateUser, bad, &user);
  EXPECT_TRUE(HasField(s, "user.department_code")) << DescriptionsOf(s);
  EXPECT_FALSE(HasField(s, "user.grid_code")) << DescriptionsOf(s);
  bad.mutable_user()->set_role(v1::ROLE_UNSPECIFIED);
  s = Call(&AdminStub::CreateUser, bad, &user);
  EXPECT_TRUE(HasField(s, "user.role")) << DescriptionsOf(s);

  // Without an id the server assigns one; an operator needs no scope.
  v1::CreateUserRequest op;
  op.mutable_user()->set_display_name("第二位运维");
  op.mutable_user()->set_role(v1::OPERATOR);
  ASSERT_TRUE(Call(&AdminStub::CreateUser, op, &user).ok());
  EXPECT_FALSE(user.user_id().empty());

  // Update with a mask; role changes must keep the role's scope.
  v1::UpdateUserRequest upd;
  upd.mutable_user()->set_user_id("u-leader-005");
  upd.mutable_user()->set_role(v1::DISPATCHER);
  upd.mutable_user()->set_grid_code("410184002");
  upd.mutable_update_mask()->add_paths("role");
  upd.mutable_update_mask()->add_paths("grid_code");
  ASSERT_TRUE(Call(&AdminStub::UpdateUser, upd, &user).ok());
  EXPECT_EQ(user.role(), v1::DISPATCHER);
  EXPECT_EQ(user.grid_code(), "410184002");
  EXPECT_EQ(user.display_name(), "马超");
  v1::UpdateUserRequest to_staff;
  to_staff.mutable_user()->set_user_id("u-leader-005");
  to_staff.mutable_user()->set_role(v1::DEPARTMENT_STAFF);
  to_staff.mutable_update_mask()->add_paths("role");
  s = Call(&AdminStub::UpdateUser, to_staff, &user);
  EXPECT_TRUE(HasField(s, "user.department_code")) << DescriptionsOf(s);
  v1::UpdateUserRequest disable_by_update;
  disable_by_update.mutable_user()->set_user_id("u-leader-005");
  disable_by_update.mutable_user()->set_disabled(true);
  disable_by_update.mutable_update_mask()->add_paths("disabled");
  EXPECT_EQ(Call(&AdminStub::UpdateUser, disable_by_update, &user).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::UpdateUserRequest demote_self;
  demote_self.mutable_user()->set_user_id("u-operator-001");
  demote_self.mutable_user()->set_role(v1::SUPERVISOR);
  demote_self.mutable_user()->set_grid_code("410184");
  demote_self.mutable_update_mask()->add_paths("role");
  s = Call(&AdminStub::UpdateUser, demote_self, &user);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(s, "user.role")) << DescriptionsOf(s);

  // Filters: grid subtree, role, disabled.
  v1::ListUsersRequest in_street;
  in_street.set_grid_code("410184001");
  v1::ListUsersResponse listed;
  ASSERT_TRUE(Call(&AdminStub::ListUsers, in_street, &listed).ok());
  std::vector<std::string> ids;
  for (const auto& x : listed.users()) ids.push_back(x.user_id());
  EXPECT_EQ(ids, (std::vector<std::string>{"u-dispatcher-001", "u-leader-001", "u-leader-002",
                                           "u-staff-cg410184001-001", "u-staff-jd410184001-001"}));

  // Disabling revokes the user's tokens at once.
  EXPECT_EQ(ProbeToken(kLeader3), grpc::StatusCode::NOT_FOUND);
  v1::DisableUserRequest disable;
  disable.set_user_id("u-leader-003");
  disable.set_reason("调离");
  ASSERT_TRUE(Call(&AdminStub::DisableUser, disable, &user).ok());
  EXPECT_TRUE(user.disabled());
  EXPECT_EQ(ProbeToken(kLeader3), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(Call(&AdminStub::DisableUser, disable, &user).ok()) << "a no-op the second time";
  EXPECT_TRUE(user.disabled());
  disable.set_user_id("u-operator-001");
  EXPECT_EQ(Call(&AdminStub::DisableUser, disable, &user).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  disable.set_user_id("u-nobody");
  EXPECT_EQ(Call(&AdminStub::DisableUser, disable, &user).error_code(),
            grpc::StatusCode::NOT_FOUND);

  v1::IssueTokenResponse issued;
  s = Issue("u-leader-003", &issued);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  auto pv = PreconditionsOf(s);
  ASSERT_EQ(pv.size(), 1u);
  EXPECT_EQ(pv[0].type, "USER_DISABLED");

  v1::ListUsersRequest leaders;
  leaders.set_role(v1::GRID_LEADER);
  ASSERT_TRUE(Call(&AdminStub::ListUsers, leaders, &listed).ok());
  for (const auto& x : listed.users()) EXPECT_NE(x.user_id(), "u-leader-003");
  leaders.set_include_disabled(true);
  ASSERT_TRUE(Call(&AdminStub::ListUsers, leaders, &listed).ok());
  EXPECT_TRUE(std::any_of(listed.users().begin(), listed.users().end(),
                          [](const v1::User& x) { return x.user_id() == "u-leader-003"; }));

  // Re-enabling does not bring revoked tokens back; a new token works.
  v1::UpdateUserRequest enable;
  enable.mutable_user()->set_user_id("u-leader-003");
  enable.mutable_update_mask()->add_paths("disabled");
  ASSERT_TRUE(Call(&AdminStub::UpdateUser, enable, &user).ok());
  EXPECT_FALSE(user.disabled());
  EXPECT_EQ(ProbeToken(kLeader3), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(Issue("u-leader-003", &issued).ok());
  EXPECT_EQ(ProbeToken(issued.token()), grpc::StatusCode::NOT_FOUND);
}

TEST_P(AdminTest, TokensAreShownOnceStoredHashedAndRevocable) {
  EXPECT_EQ(ProbeToken(""), grpc::StatusCode::UNAUTHENTICATED);

  v1::IssueTokenResponse issued;
  ASSERT_TRUE(Issue("u-leader-002", &issued, "handset of grid 410184001002001").ok());
  const std::string token = issued.token();
  EXPECT_TRUE(absl::StartsWith(token, "gl_")) << token;
  EXPECT_GE(token.size(), 40u);
  EXPECT_FALSE(issued.token_info().token_id().empty());
  EXPECT_EQ(issued.token_info().user_id(), "u-leader-002");
  EXPECT_EQ(issued.token_info().issued_by_user_id(), "u-operator-001");
  EXPECT_EQ(issued.token_info().label(), "handset of grid 410184001002001");
  // Issue 15: no token lives for ever; without an expiry the server's default (365 days).
  ASSERT_TRUE(issued.token_info().has_expire_time());
  EXPECT_NEAR(issued.token_info().expire_time().seconds(),
              TimeUtil::GetCurrentTime().seconds() + 365 * 86400, 600);
  EXPECT_FALSE(issued.token_info().revoked());
  EXPECT_EQ(ProbeToken(token), grpc::StatusCode::NOT_FOUND) << "the new token authenticates";

  // The list shows the metadata, never the token.
  v1::ListTokensRequest list;
  list.set_user_id("u-leader-002");
  v1::ListTokensResponse tokens;
  ASSERT_TRUE(Call(&AdminStub::ListTokens, list, &tokens).ok());
  EXPECT_TRUE(std::any_of(tokens.tokens().begin(), tokens.tokens().end(), [&](const auto& t) {
    return t.token_id() == issued.token_info().token_id();
  }));
  for (const auto& t : tokens.tokens()) EXPECT_EQ(t.user_id(), "u-leader-002");
  EXPECT_FALSE(absl::StrContains(tokens.SerializeAsString(), token));
  EXPECT_FALSE(absl::StrContains(tokens.SerializeAsString(), token.substr(3)));

  // Revoke: the next use is refused; revoking again is a no-op.
  v1::RevokeTokenRequest revoke;
  revoke.set_token_id(issued.token_info().token_id());
  revoke.set_reason("handset lost");
  v1::TokenInfo info;
  ASSERT_TRUE(Call(&AdminStub::RevokeToken, revoke, &info).ok());
  EXPECT_TRUE(info.revoked());
  EXPECT_TRUE(info.has_revoke_time());
  EXPECT_EQ(ProbeToken(token), grpc::StatusCode::UNAUTHENTICATED);
  ASSERT_TRUE(Call(&AdminStub::RevokeToken, revoke, &info).ok());
  EXPECT_TRUE(info.revoked());
  revoke.set_token_id("tok-nope");
  EXPECT_EQ(Call(&AdminStub::RevokeToken, revoke, &info).error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(Call(&AdminStub::ListTokens, list, &tokens).ok());
  for (const auto& t : tokens.tokens()) {
    EXPECT_NE(t.token_id(), issued.token_info().token_id()) << "revoked tokens are inactive";
  }
  list.set_include_inactive(true);
  ASSERT_TRUE(Call(&AdminStub::ListTokens, list, &tokens).ok());
  EXPECT_TRUE(std::any_of(tokens.tokens().begin(), tokens.tokens().end(), [&](const auto& t) {
    return t.token_id() == issued.token_info().token_id() && t.revoked();
  }));

  // Argument checks.
  v1::IssueTokenRequest req;
  req.set_user_id("u-nobody");
  EXPECT_EQ(Call(&AdminStub::IssueToken, req, &issued).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_user_id("u-leader-002");
  *req.mutable_expire_time() = TimeUtil::GetCurrentTime() - TimeUtil::SecondsToDuration(60);
  auto s = Call(&AdminStub::IssueToken, req, &issued);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(HasField(s, "expire_time")) << DescriptionsOf(s);
  *req.mutable_expire_time() =
      TimeUtil::GetCurrentTime() + TimeUtil::SecondsToDuration(3LL * 365 * 24 * 3600);
  EXPECT_EQ(Call(&AdminStub::IssueToken, req, &issued).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.clear_expire_time();
  req.set_label(std::string(101, 'x'));
  s = Call(&AdminStub::IssueToken, req, &issued);
  EXPECT_TRUE(HasField(s, "label")) << DescriptionsOf(s);
  req.set_label("");
  req.set_device_id(std::string(65, 'x'));
  s = Call(&AdminStub::IssueToken, req, &issued);
  EXPECT_TRUE(HasField(s, "device_id")) << DescriptionsOf(s);

  // An expiry within the limits is kept.
  req.set_device_id("IMEI-860000000000001");
  *req.mutable_expire_time() = TimeUtil::GetCurrentTime() + TimeUtil::SecondsToDuration(3600);
  ASSERT_TRUE(Call(&AdminStub::IssueToken, req, &issued).ok());
  EXPECT_TRUE(issued.token_info().has_expire_time());
  EXPECT_NEAR(issued.token_info().expire_time().seconds(), req.expire_time().seconds(), 1);
  EXPECT_EQ(issued.token_info().device_id(), "IMEI-860000000000001");
  EXPECT_EQ(ProbeToken(issued.token()), grpc::StatusCode::NOT_FOUND);
}

TEST_P(AdminTest, ImportAppliesAllOrNothingWithProgressAndCounts) {
  v1::Organisation part1, part2;
  *part1.add_grids() = MakeGrid("410184003", "和庄镇", v1::STREET, "410184");
  *part1.add_grids() = MakeGrid("410184003001", "和庄社区", v1::COMMUNITY, "410184003");
  auto* dept = part1.add_departments();
  dept->set_code("JD-410184003");
  dept->set_name("和庄镇人民政府");
  dept->set_grid_code("410184003");
  // The second part holds the child of a grid from the first: parts are one organisation.
  *part2.add_grids() = MakeGrid("410184003001001", "和庄社区第一网格", v1::CELL, "410184003001");
  // Unchanged: as stored, with the demo's boundary (an entry without it would clear it).
  v1::GetGridRequest get_district;
  get_district.set_code("410184");
  v1::Grid district;
  ASSERT_TRUE(Call(&AdminStub::GetGrid, get_district, &district).ok());
  ASSERT_FALSE(district.boundary_geojson().empty());
  *part2.add_grids() = district;
  auto* cat = part2.add_categories();
  cat->set_code("C02_STANDING_WATER");
  cat->set_name("道路积水");  // renamed: updated
  cat->set_kind(v1::COMPONENT);
  cat->set_normal_deadline_hours(24);
  cat->set_urgent_deadline_hours(8);
  cat->set_emergency_deadline_hours(2);
  auto* user = part2.add_users()->mutable_user();
  user->set_user_id("u-leader-101");
  user->set_display_name("和庄网格员");
  user->set_role(v1::GRID_LEADER);
  user->set_grid_code("410184003001001");

  ImportRun run = Import({Options(false, 7), Part(part1), Part(part2)});
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  ASSERT_NE(run.result(), nullptr);
  const v1::ImportResult& result = *run.result();
  EXPECT_TRUE(result.applied());
  EXPECT_FALSE(result.dry_run());
  EXPECT_EQ(result.violations_size(), 0) << result.DebugString();
  EXPECT_EQ(run.Count(v1::ImportProgress::RECEIVING), 2) << "one per part";
  EXPECT_GE(run.Count(v1::ImportProgress::VALIDATING), 1);
  EXPECT_GE(run.Count(v1::ImportProgress::APPLYING), 1);
  for (size_t i = 0; i + 1 < run.responses.size(); ++i) {
    EXPECT_TRUE(run.responses[i].has_progress()) << "only the last message is the result";
  }
  const auto& receiving = run.responses[1].progress();
  EXPECT_EQ(receiving.phase(), v1::ImportProgress::RECEIVING);
  EXPECT_EQ(receiving.done(), 7);
  EXPECT_EQ(receiving.total(), 7);
  ASSERT_EQ(result.counts_size(), 5);
  EXPECT_EQ(result.counts(0).kind(), v1::GRIDS);
  EXPECT_EQ(CountsOf(result, v1::GRIDS).created(), 3);
  EXPECT_EQ(CountsOf(result, v1::GRIDS).unchanged(), 1);
  EXPECT_EQ(CountsOf(result, v1::DEPARTMENTS).created(), 1);
  EXPECT_EQ(CountsOf(result, v1::CATEGORIES).updated(), 1);
  EXPECT_EQ(CountsOf(result, v1::USERS).created(), 1);

  v1::Grid got;
  ASSERT_TRUE(GetGrid("410184003001001", &got).ok());
  EXPECT_EQ(got.parent_code(), "410184003001");
  v1::ResolveRouteResponse route;
  ASSERT_TRUE(Resolve("C20_RESIDENT_ERRAND", "410184003001001", &route).ok());
  EXPECT_EQ(route.source(), v1::TERRITORIAL_FALLBACK);
  EXPECT_EQ(route.lead_department_code(), "JD-410184003");
  v1::GetCategoryRequest get_cat;
  get_cat.set_code("C02_STANDING_WATER");
  v1::Category category;
  ASSERT_TRUE(Call(&AdminStub::GetCategory, get_cat, &category).ok());
  EXPECT_EQ(category.name(), "道路积水");

  // The same import again changes nothing.
  run = Import({Options(false), Part(part1), Part(part2)});
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  ASSERT_NE(run.result(), nullptr);
  EXPECT_EQ(CountsOf(*run.result(), v1::GRIDS).unchanged(), 4);
  EXPECT_EQ(CountsOf(*run.result(), v1::GRIDS).created(), 0);
  EXPECT_EQ(CountsOf(*run.result(), v1::CATEGORIES).updated(), 0);
}

TEST_P(AdminTest, ImportDryRunAndViolationsWriteNothing) {
  v1::Organisation org;
  *org.add_grids() = MakeGrid("410184004", "龙湖镇", v1::STREET, "410184");
  ImportRun dry = Import({Options(true), Part(org)});
  ASSERT_TRUE(dry.status.ok()) << dry.status.error_message();
  ASSERT_NE(dry.result(), nullptr);
  EXPECT_TRUE(dry.result()->dry_run());
  EXPECT_FALSE(dry.result()->applied());
  EXPECT_EQ(CountsOf(*dry.result(), v1::GRIDS).created(), 1);
  EXPECT_EQ(dry.Count(v1::ImportProgress::APPLYING), 0);
  EXPECT_EQ(GetGrid("410184004").error_code(), grpc::StatusCode::NOT_FOUND);

  // Several problems at once: all reported, nothing written (not even the good grid).
  *org.add_grids() = MakeGrid("410184004001", "龙湖社区", v1::COMMUNITY, "410184009");  // [1]
  *org.add_grids() = MakeGrid("410184004002", "x", v1::CITY, "410184004");              // [2]
  auto* rule = org.add_routing_rules();
  rule->set_rule_id("R-NEW");
  rule->set_category_code("C01_ROAD_DAMAGE");
  rule->set_lead_department_code("NOPE");
  for (int i = 0; i < 2; ++i) {
    auto* u = org.add_users()->mutable_user();
    u->set_user_id("u-twice");
    u->set_display_name("重复");
    u->set_role(v1::OPERATOR);
  }
  ImportRun bad = Import({Options(false), Part(org)});
  ASSERT_TRUE(bad.status.ok()) << "content problems are the result, not the status";
  ASSERT_NE(bad.result(), nullptr);
  EXPECT_FALSE(bad.result()->applied());
  EXPECT_EQ(bad.Count(v1::ImportProgress::APPLYING), 0);
  std::set<std::tuple<int, int64_t, std::string>> found;
  for (const auto& v : bad.result()->violations()) {
    found.insert({v.kind(), v.index(), v.field()});
    EXPECT_FALSE(v.description().empty());
  }
  EXPECT_TRUE(found.count({v1::GRIDS, 1, "parent_code"})) << bad.result()->DebugString();
  EXPECT_TRUE(found.count({v1::GRIDS, 2, "level"})) << bad.result()->DebugString();
  EXPECT_TRUE(found.count({v1::ROUTING_RULES, 0, "lead_department_code"}))
      << bad.result()->DebugString();
  EXPECT_TRUE(found.count({v1::USERS, 1, "user_id"})) << bad.result()->DebugString();
  EXPECT_EQ(GetGrid("410184004").error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_P(AdminTest, ImportStreamErrors) {
  v1::Organisation org;
  *org.add_grids() = MakeGrid("410184005", "观音寺镇", v1::STREET, "410184");
  ImportRun no_options = Import({Part(org)});
  EXPECT_EQ(no_options.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(no_options.result(), nullptr);
  ImportRun twice = Import({Options(false), Options(false), Part(org)});
  EXPECT_EQ(twice.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ImportRun no_part = Import({Options(false)});
  EXPECT_EQ(no_part.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ImportRun not_operator = Import({Options(false), Part(org)}, kDispatcher1);
  EXPECT_EQ(not_operator.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  ImportRun anonymous = Import({Options(false), Part(org)}, "");
  EXPECT_EQ(anonymous.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(GetGrid("410184005").error_code(), grpc::StatusCode::NOT_FOUND);

  // A client that goes away before the result leaves nothing written, and the call is recorded.
  {
    grpc::ClientContext ctx;
    Authorize(&ctx, kOperator);
    auto stream = admin_->ImportOrganisation(&ctx);
    ASSERT_TRUE(stream->Write(Options(false)));
    ASSERT_TRUE(stream->Write(Part(org)));
    v1::ImportOrganisationResponse progress;
    ASSERT_TRUE(stream->Read(&progress));
    EXPECT_EQ(progress.progress().phase(), v1::ImportProgress::RECEIVING);
    ctx.TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  v1::ListAuditLogRequest imports;
  imports.set_resource_kind("organisation");
  v1::ListAuditLogResponse log;
  bool recorded = false;
  // The server records it after the client has gone: wait for it, with a deadline.
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       !recorded && std::chrono::steady_clock::now() < deadline;) {
    ASSERT_TRUE(Call(&AdminStub::ListAuditLog, imports, &log).ok());
    recorded = std::any_of(log.entries().begin(), log.entries().end(), [](const auto& e) {
      return e.status_code() == grpc::StatusCode::CANCELLED;
    });
    if (!recorded) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(recorded) << log.DebugString();
  EXPECT_EQ(GetGrid("410184005").error_code(), grpc::StatusCode::NOT_FOUND);

  // Over the entry limit: RESOURCE_EXHAUSTED while receiving.
  std::vector<v1::ImportOrganisationRequest> huge = {Options(true)};
  for (int p = 0; p < 11; ++p) {
    v1::Organisation part;
    for (int i = 0; i < 20000; ++i) {
      auto* g = part.add_grids();
      g->set_code(absl::StrCat("G", p, "-", i));
    }
    huge.push_back(Part(part));
  }
  ImportRun too_big = Import(huge);
  EXPECT_EQ(too_big.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << too_big.status.error_message();
}

TEST_P(AdminTest, AuditLogRecordsEveryWriteIncludingFailedOnes) {
  // An operator token of our own, so the entries can be matched to it.
  v1::IssueTokenResponse own;
  ASSERT_TRUE(Issue("u-operator-001", &own, "console").ok());
  const std::string token = own.token();

  v1::CreateGridRequest create;
  *create.mutable_grid() = MakeGrid("410184001001007", "第七网格", v1::CELL, "410184001001");
  v1::Grid grid;
  ASSERT_TRUE(Call(&AdminStub::CreateGrid, create, &grid, token).ok());
  EXPECT_EQ(Call(&AdminStub::CreateGrid, create, &grid, token).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Call(&AdminStub::CreateGrid, create, &grid, kLeader1).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::GetGridRequest get;  // reads are not audited
  get.set_code("410184001001007");
  ASSERT_TRUE(Call(&AdminStub::GetGrid, get, &grid, token).ok());
  v1::Organisation org;
  *org.add_grids() = MakeGrid("410184006", "薛店镇", v1::STREET, "410184");
  ASSERT_TRUE(Import({Options(true), Part(org)}).status.ok());

  v1::ListAuditLogRequest list;
  list.set_resource_kind("grid");
  list.set_resource_id("410184001001007");
  v1::ListAuditLogResponse log;
  ASSERT_TRUE(Call(&AdminStub::ListAuditLog, list, &log).ok());
  ASSERT_EQ(log.entries_size(), 3) << log.DebugString();
  // Newest first.
  const auto& denied = log.entries(0);
  EXPECT_EQ(denied.actor_user_id(), "u-leader-001");
  EXPECT_EQ(denied.status_code(), grpc::StatusCode::PERMISSION_DENIED);
  const auto& exists = log.entries(1);
  EXPECT_EQ(exists.status_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_FALSE(exists.status_message().empty());
  const auto& ok = log.entries(2);
  EXPECT_EQ(ok.status_code(), 0);
  EXPECT_EQ(ok.method(), "/gridline.v1.AdminService/CreateGrid");
  EXPECT_EQ(ok.actor_user_id(), "u-operator-001");
  EXPECT_EQ(ok.actor_token_id(), own.token_info().token_id());
  EXPECT_EQ(ok.resource_kind(), "grid");
  EXPECT_TRUE(absl::StrContains(ok.request_summary(), "第七网格")) << ok.request_summary();
  EXPECT_FALSE(ok.peer().empty());
  EXPECT_TRUE(ok.has_event_time());

  // A request refused for a malformed, overlong code is recorded too.
  v1::CreateGridRequest overlong;
  *overlong.mutable_grid() = MakeGrid(std::string(300, 'X'), "x", v1::CELL, "410184001001");
  EXPECT_EQ(Call(&AdminStub::CreateGrid, overlong, &grid, token).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListAuditLogRequest refused;
  refused.set_resource_kind("grid");
  ASSERT_TRUE(Call(&AdminStub::ListAuditLog, refused, &log).ok());
  ASSERT_GE(log.entries_size(), 1);
  EXPECT_EQ(log.entries(0).status_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(log.entries(0).resource_id(), "XXXX"));

  // The token issue is there, without the token.
  v1::ListAuditLogRequest tokens;
  tokens.set_resource_kind("token");
  ASSERT_TRUE(Call(&AdminStub::ListAuditLog, tokens, &log).ok());
  ASSERT_EQ(log.entries_size(), 1);
  EXPECT_EQ(log.entries(0).method(), "/gridline.v1.AdminService/IssueToken");
  EXPECT_EQ(log.entries(0).resource_id(), own.token_info().token_id());
  EXPECT_FALSE(absl::StrContains(log.entries(0).SerializeAsString(), token));

  // The dry-run import, with its counts.
  v1::ListAuditLogRequest imports;
  imports.set_resource_kind("organisation");
  ASSERT_TRUE(Call(&AdminStub::ListAuditLog, imports, &log).ok());
  ASSERT_EQ(log.entries_size(), 1);
  EXPECT_EQ(log.entries(0).method(), "/gridline.v1.AdminService/ImportOrganisation");
  EXPECT_TRUE(absl::StrContains(log.entries(0).request_summary(), "dry_run: true"))
      << log.entries(0).request_summary();
  EXPECT_TRUE(absl::StrContains(log.entries(0).request_summary(), "created: 1"))
      << log.entries(0).request_summary();

  // Pages and filters.
  v1::ListAuditLogRequest by_me;
  by_me.set_actor_user_id("u-operator-001");
  by_me.set_page_size(3);  // 5 writes by the operator: the issue, 3 creates, the import
  ASSERT_TRUE(Call(&AdminStub::ListAuditLog, by_me, &log).ok());
  ASSERT_EQ(log.entries_size(), 3);
  ASSERT_FALSE(log.next_page_token().empty());
  std::set<std::string> seen;
  for (const auto& e : log.entries()) seen.insert(e.audit_entry_id());
  by_me.set_page_token(log.next_page_token());
  ASSERT_TRUE(Call(&AdminStub::ListAuditLog, by_me, &log).ok());
  ASSERT_EQ(log.entries_size(), 2);  // the first create and the token issue
  EXPECT_EQ(log.entries(1).method(), "/gridline.v1.AdminService/IssueToken");
  for (const auto& e : log.entries()) {
    EXPECT_TRUE(seen.insert(e.audit_entry_id()).second) << "pages do not overlap";
    EXPECT_EQ(e.actor_user_id(), "u-operator-001");
  }
  EXPECT_TRUE(log.next_page_token().empty());
  by_me.set_page_token("a1.garbage");
  EXPECT_EQ(Call(&AdminStub::ListAuditLog, by_me, &log).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListAuditLogRequest backwards;
  *backwards.mutable_start_time() = TimeUtil::GetCurrentTime();
  *backwards.mutable_end_time() = TimeUtil::GetCurrentTime() - TimeUtil::SecondsToDuration(60);
  EXPECT_EQ(Call(&AdminStub::ListAuditLog, backwards, &log).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Call(&AdminStub::ListAuditLog, list, &log, kLeader1).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

INSTANTIATE_TEST_SUITE_P(Backends, AdminTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
