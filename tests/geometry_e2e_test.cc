// Grid boundaries end to end: a real gridline-server with the demo organisation (whose cells
// tile two streets of Xinzheng, deploy/demo/organisation.textproto), on SQLite and on MariaDB.
// Reports with coordinates and no grid code are placed in the cell that covers them; boundaries
// travel through AdminService and the import and are checked there.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/field_mask.pb.h"
#include "gridline/v1/admin_service.grpc.pb.h"
#include "gridline/v1/dispatch_service.grpc.pb.h"
#include "tests/e2e_fixture.h"

namespace gridline {
namespace {

namespace v1 = ::gridline::v1;
using testing::Backend;
using testing::kDispatcher1;
using testing::kOperator;

// A GeoJSON Polygon of the rectangle [x0, x1] x [y0, y1] (longitude x, latitude y).
std::string Rect(double x0, double y0, double x1, double y1) {
  return absl::StrCat(R"({"type":"Polygon","coordinates":[[[)", x0, ",", y0, "],[", x1, ",", y0,
                      "],[", x1, ",", y1, "],[", x0, ",", y1, "],[", x0, ",", y0, "]]]}");
}

// The (field, description) pairs of the google.rpc.BadRequest detail of `status`.
std::vector<std::pair<std::string, std::string>> ViolationsOf(const grpc::Status& status) {
  std::vector<std::pair<std::string, std::string>> out;
  google::rpc::Status rich;
  if (!rich.ParseFromString(status.error_details())) return out;
  for (const auto& any : rich.details()) {
    google::rpc::BadRequest bad;
    if (!any.UnpackTo(&bad)) continue;
    for (const auto& v : bad.field_violations()) out.emplace_back(v.field(), v.description());
  }
  return out;
}

class GeometryTest : public testing::E2eTest {
 protected:
  void SetUp() override {
    E2eTest::SetUp();
    if (IsSkipped() || HasFailure()) return;
    server_ = StartServer(&port_);
    ASSERT_TRUE(server_);
    auto channel = Channel(port_);
    reports_ = v1::ReportService::NewStub(channel);
    admin_ = v1::AdminService::NewStub(channel);
    dispatch_ = v1::DispatchService::NewStub(channel);
  }

  // A report at (latitude, longitude) with no grid code.
  static v1::SubmitReportRequest At(const std::string& request_id, double latitude,
                                    double longitude) {
    v1::SubmitReportRequest r = Report(request_id);
    r.mutable_location()->clear_grid_code();
    r.mutable_location()->mutable_coordinates()->set_latitude(latitude);
    r.mutable_location()->mutable_coordinates()->set_longitude(longitude);
    return r;
  }

  // The grid the report at (latitude, longitude) was placed in ("" and a failure if refused).
  std::string PlacedAt(const std::string& request_id, double latitude, double longitude) {
    v1::SubmitReportResponse resp;
    grpc::Status s = Submit(reports_.get(), At(request_id, latitude, longitude), &resp);
    EXPECT_TRUE(s.ok()) << request_id << ": " << s.error_message();
    return resp.case_().location().grid_code();
  }

  template <typename Stub, typename Req, typename Resp, typename Method>
  static grpc::Status As(const std::string& token, Stub* stub, Method m, const Req& req,
                         Resp* resp) {
    return testing::Call(stub, m, token, req, resp);
  }

  grpc::Status UpdateBoundary(const std::string& code, const std::string& boundary, v1::Grid* out) {
    v1::UpdateGridRequest req;
    req.mutable_grid()->set_code(code);
    req.mutable_grid()->set_boundary_geojson(boundary);
    req.mutable_update_mask()->add_paths("boundary_geojson");
    return As(kOperator, admin_.get(), &v1::AdminService::Stub::UpdateGrid, req, out);
  }

  std::unique_ptr<testing::ServerProcess> server_;
  int port_ = 0;
  std::unique_ptr<v1::ReportService::Stub> reports_;
  std::unique_ptr<v1::AdminService::Stub> admin_;
  std::unique_ptr<v1::DispatchService::Stub> dispatch_;
};

TEST_P(GeometryTest, AReportWithoutAGridGoesToTheCellThatCoversItsCoordinates) {
  // Inside 郑韩路社区第一网格 ([113.736, 113.742] x [34.392, 34.402]).
  v1::SubmitReportResponse resp;
  ASSERT_TRUE(Submit(reports_.get(), At("in-1", 34.397, 113.739), &resp).ok());
  EXPECT_EQ(resp.case_().location().grid_code(), "410184001001001");
  EXPECT_DOUBLE_EQ(resp.case_().location().coordinates().latitude(), 34.397);
  v1::Case stored;
  ASSERT_TRUE(GetCase(reports_.get(), resp.case_().case_id(), &stored).ok());
  EXPECT_EQ(stored.location().grid_code(), "410184001001001");
  // A retry is the same case.
  v1::SubmitReportResponse again;
  ASSERT_TRUE(Submit(reports_.get(), At("in-1", 34.397, 113.739), &again).ok());
  EXPECT_EQ(again.case_().case_id(), resp.case_().case_id());
  // The other street: 西大街社区第二网格 ([113.724, 113.730] x [34.382, 34.392]).
  EXPECT_EQ(PlacedAt("in-2", 34.387, 113.727), "410184002002002");
  // A grid code given wins; the coordinates are kept as they are.
  v1::SubmitReportRequest named = At("in-3", 34.387, 113.727);
  named.mutable_location()->set_grid_code("410184001001003");
  ASSERT_TRUE(Submit(reports_.get(), named, &resp).ok());
  EXPECT_EQ(resp.case_().location().grid_code(), "410184001001003");

  // A dispatcher registers by coordinates within their street only.
  v1::RegisterCaseRequest reg;
  reg.set_source(v1::PUBLIC);
  *reg.mutable_report() = At("reg-1", 34.397, 113.739);
  v1::SubmitReportResponse registered;
  ASSERT_TRUE(
      As(kDispatcher1, dispatch_.get(), &v1::DispatchService::Stub::RegisterCase, reg, &registered)
          .ok());
  EXPECT_EQ(registered.case_().location().grid_code(), "410184001001001");
  *reg.mutable_report() = At("reg-2", 34.387, 113.727);  // street 410184002
  grpc::Status s =
      As(kDispatcher1, dispatch_.get(), &v1::DispatchService::Stub::RegisterCase, reg, &registered);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(testing::FieldsOf(s), std::vector<std::string>{"location.coordinates"});
}

TEST_P(GeometryTest, APointOnASharedBoundaryGoesToTheSmallestCode) {
  // The edge between cells 1 and 2 of 郑韩路社区.
  EXPECT_EQ(PlacedAt("edge-1", 34.397, 113.742), "410184001001001");
  // The corner of four cells (two communities).
  EXPECT_EQ(PlacedAt("corner-1", 34.392, 113.742), "410184001001001");
  // The edge between the two streets: 410184001001001 and 410184002001003.
  EXPECT_EQ(PlacedAt("street-edge-1", 34.395, 113.736), "410184001001001");
  // The edge between cells 2 and 3 of 人民路社区.
  EXPECT_EQ(PlacedAt("edge-2", 34.385, 113.748), "410184001002002");
}

TEST_P(GeometryTest, APointOutsideEveryCellIsRefusedNamingTheNearestCells) {
  // About 4.2 km east of the east edge of the cells, level with 人民路社区.
  v1::SubmitReportResponse resp;
  grpc::Status s = Submit(reports_.get(), At("out-1", 34.39, 113.80), &resp);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  auto violations = ViolationsOf(s);
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].first, "location.coordinates");
  const std::string& d = violations[0].second;
  // The east column, nearest first: level with the point, then just north, then one west.
  EXPECT_EQ(d,
            "is outside every unit grid; nearest: 410184001002003 (4221 m), 410184001001003 "
            "(4227 m), 410184001002002 (4771 m)");

  // No grid code and no coordinates: the grid code is required, as before.
  v1::SubmitReportRequest nowhere = At("out-2", 0, 0);
  nowhere.mutable_location()->clear_coordinates();
  EXPECT_EQ(testing::FieldsOf(Submit(reports_.get(), nowhere, &resp)),
            std::vector<std::string>{"location.grid_code"});
}

TEST_P(GeometryTest, BoundariesRoundTripThroughAdminServiceAndAreChecked) {
  v1::Grid got;
  v1::GetGridRequest get;
  get.set_code("410184001001002");
  ASSERT_TRUE(As(kOperator, admin_.get(), &v1::AdminService::Stub::GetGrid, get, &got).ok());
  EXPECT_EQ(got.boundary_geojson(), Rect(113.742, 34.392, 113.748, 34.402));

  // A compound with a boundary inside cell 410184001001002: stored and read back as given.
  const std::string compound = Rect(113.744, 34.396, 113.746, 34.398);
  v1::CreateGridRequest create;
  create.mutable_grid()->set_code("410184001001002001");
  create.mutable_grid()->set_name("测试小区");
  create.mutable_grid()->set_level(v1::COMPOUND);
  create.mutable_grid()->set_parent_code("410184001001002");
  create.mutable_grid()->set_boundary_geojson(compound);
  v1::Grid created;
  ASSERT_TRUE(
      As(kOperator, admin_.get(), &v1::AdminService::Stub::CreateGrid, create, &created).ok());
  EXPECT_EQ(created.boundary_geojson(), compound);
  v1::ListGridsRequest list;
  list.set_parent_code("410184001001002");
  v1::ListGridsResponse listed;
  ASSERT_TRUE(As(kOperator, admin_.get(), &v1::AdminService::Stub::ListGrids, list, &listed).ok());
  ASSERT_EQ(listed.grids_size(), 1);
  EXPECT_EQ(listed.grids(0).boundary_geojson(), compound);
  // The organisation changed: reports inside the compound now go to it.
  EXPECT_EQ(PlacedAt("compound-1", 34.397, 113.745), "410184001001002001");
  EXPECT_EQ(PlacedAt("compound-2", 34.397, 113.739), "410184001001001");

  // Bad boundaries are field violations of grid.boundary_geojson.
  struct Bad {
    std::string code;
    std::string boundary;
    std::string expected;  // a part of the description
  };
  const std::vector<Bad> bads = {
      {"410184001001002001", "{", "is not JSON"},
      {"410184001001002001",
       R"({"type":"Polygon","coordinates":[[[113.744,34.396],[113.746,34.396],)"
       R"([113.746,34.398],[113.744,34.398]]]})",
       "the ring is not closed"},
      {"410184001001002001",
       R"({"type":"Polygon","coordinates":[[[113.744,34.396],[113.746,34.398],)"
       R"([113.746,34.396],[113.744,34.398],[113.744,34.396]]]})",
       "Self-intersection"},
      // Out of its cell.
      {"410184001001002001", Rect(113.740, 34.396, 113.746, 34.398),
       "is not inside the boundary of its parent grid 410184001001002"},
      // The cell shrunk away from its compound (a problem of another grid).
      {"410184001001002", Rect(113.742, 34.392, 113.744, 34.402),
       "grid 410184001001002001: is not inside the boundary of its parent grid 410184001001002"},
      // The cell grown into its neighbour.
      {"410184001001002", Rect(113.740, 34.392, 113.748, 34.402),
       "overlaps sibling grid 410184001001001"},
  };
  for (const Bad& bad : bads) {
    grpc::Status s = UpdateBoundary(bad.code, bad.boundary, &got);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad.boundary;
    auto violations = ViolationsOf(s);
    ASSERT_FALSE(violations.empty()) << bad.boundary;
    EXPECT_EQ(violations[0].first, "grid.boundary_geojson");
    EXPECT_TRUE(absl::StrContains(violations[0].second, bad.expected))
        << bad.boundary << "\n  got: " << violations[0].second;
  }
  // A good change, then clearing it.
  const std::string moved = Rect(113.743, 34.393, 113.745, 34.395);
  ASSERT_TRUE(UpdateBoundary("410184001001002001", moved, &got).ok());
  EXPECT_EQ(got.boundary_geojson(), moved);
  ASSERT_TRUE(UpdateBoundary("410184001001002001", "", &got).ok());
  get.set_code("410184001001002001");
  ASSERT_TRUE(As(kOperator, admin_.get(), &v1::AdminService::Stub::GetGrid, get, &got).ok());
  EXPECT_EQ(got.boundary_geojson(), "");
  EXPECT_EQ(PlacedAt("compound-3", 34.397, 113.745), "410184001001002");

  // The import reports a bad boundary as a violation and writes nothing.
  v1::ImportOrganisationRequest options;
  options.mutable_options()->set_dry_run(false);
  v1::ImportOrganisationRequest part;
  v1::Grid* g = part.mutable_part()->add_grids();
  g->set_code("410184001001003");
  g->set_name("郑韩路社区第三网格");
  g->set_level(v1::CELL);
  g->set_parent_code("410184001001");
  g->set_boundary_geojson(Rect(113.748, 34.392, 113.760, 34.402));  // past the community
  grpc::ClientContext ctx;
  Authorize(&ctx, kOperator, 60000);
  auto stream = admin_->ImportOrganisation(&ctx);
  ASSERT_TRUE(stream->Write(options));
  ASSERT_TRUE(stream->Write(part));
  stream->WritesDone();
  v1::ImportOrganisationResponse r;
  v1::ImportResult result;
  while (stream->Read(&r)) {
    if (r.has_result()) result = r.result();
  }
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_FALSE(result.applied());
  ASSERT_EQ(result.violations_size(), 1);
  EXPECT_EQ(result.violations(0).key(), "410184001001003");
  EXPECT_EQ(result.violations(0).field(), "boundary_geojson");
  EXPECT_EQ(result.violations(0).description(),
            "is not inside the boundary of its parent grid 410184001001");
  get.set_code("410184001001003");
  ASSERT_TRUE(As(kOperator, admin_.get(), &v1::AdminService::Stub::GetGrid, get, &got).ok());
  EXPECT_EQ(got.boundary_geojson(), Rect(113.748, 34.392, 113.754, 34.402));
}

INSTANTIATE_TEST_SUITE_P(Backends, GeometryTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMariaDb),
                         [](const auto& info) { return testing::BackendName(info.param); });

}  // namespace
}  // namespace gridline
