// Grid boundaries on their own (server/domain/grid_geometry.h): the organisation's geometry rules
// as CheckOrganisation reports them, and where GridLocator places points. No store, no gRPC.
#include "server/domain/grid_geometry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/domain/errors.h"
#include "server/domain/organisation.h"

namespace gridline::domain {
namespace {

// A GeoJSON Polygon of the rectangle [x0, x1] x [y0, y1] (longitude x, latitude y).
std::string Rect(double x0, double y0, double x1, double y1) {
  return absl::StrCat(R"({"type":"Polygon","coordinates":[[[)", x0, ",", y0, "],[", x1, ",", y0,
                      "],[", x1, ",", y1, "],[", x0, ",", y1, "],[", x0, ",", y0, "]]]}");
}

// A street S of two communities (M1 west, M2 east) of two cells each, side by side, every
// neighbour sharing an edge:
//   S  = [113.70, 113.74] x [34.38, 34.40]
//   M1 = [113.70, 113.72]: C11 = [113.70, 113.71], C12 = [113.71, 113.72]
//   M2 = [113.72, 113.74]: C21 = [113.72, 113.73], C22 = [113.73, 113.74]
std::vector<Grid> Street() {
  auto grid = [](const char* code, GridLevel level, const char* parent, std::string boundary) {
    Grid g;
    g.code = code;
    g.name = absl::StrCat("grid ", code);
    g.level = level;
    g.parent_code = parent;
    g.boundary_geojson = std::move(boundary);
    return g;
  };
  return {grid("S", GridLevel::kStreet, "", Rect(113.70, 34.38, 113.74, 34.40)),
          grid("M1", GridLevel::kCommunity, "S", Rect(113.70, 34.38, 113.72, 34.40)),
          grid("M2", GridLevel::kCommunity, "S", Rect(113.72, 34.38, 113.74, 34.40)),
          grid("C11", GridLevel::kCell, "M1", Rect(113.70, 34.38, 113.71, 34.40)),
          grid("C12", GridLevel::kCell, "M1", Rect(113.71, 34.38, 113.72, 34.40)),
          grid("C21", GridLevel::kCell, "M2", Rect(113.72, 34.38, 113.73, 34.40)),
          grid("C22", GridLevel::kCell, "M2", Rect(113.73, 34.38, 113.74, 34.40))};
}

struct Problem {
  std::string code;
  std::string description;
};

std::vector<Problem> Problems(const std::vector<Grid>& grids) {
  Organisation org;
  org.grids = grids;
  std::vector<Problem> out;
  for (const OrgViolation& v : CheckOrganisation(org).violations) {
    EXPECT_EQ(v.field, "boundary_geojson") << v.description;
    out.push_back({v.key, v.description});
  }
  return out;
}

// The one problem of `grids`, on grid `code`.
std::string OnlyProblem(const std::vector<Grid>& grids, const std::string& code) {
  std::vector<Problem> p = Problems(grids);
  EXPECT_EQ(p.size(), 1u);
  if (p.size() != 1) {
    for (const auto& x : p) ADD_FAILURE() << x.code << ": " << x.description;
    return "";
  }
  EXPECT_EQ(p[0].code, code);
  return p[0].description;
}

Grid& Find(std::vector<Grid>& grids, const std::string& code) {
  for (Grid& g : grids) {
    if (g.code == code) return g;
  }
  ADD_FAILURE() << "no grid " << code;
  return grids[0];
}

TEST(GridBoundaries, NestedCellsSharingEdgesAreAccepted) {
  EXPECT_TRUE(Problems(Street()).empty());
  // A MultiPolygon (two parts apart), altitudes, extra members and grids without a boundary are
  // fine too.
  std::vector<Grid> grids = Street();
  Find(grids, "C11").boundary_geojson =
      R"({"type":"MultiPolygon","bbox":[113.70,34.38,113.71,34.40],"coordinates":[)"
      R"([[[113.70,34.38,90],[113.71,34.38,90],[113.71,34.385,90],[113.70,34.385,90],)"
      R"([113.70,34.38,90]]],)"
      R"([[[113.70,34.39],[113.71,34.39],[113.71,34.40],[113.70,34.40],[113.70,34.39]]]]})";
  Find(grids, "M2").boundary_geojson.clear();
  EXPECT_TRUE(Problems(grids).empty());
}

TEST(GridBoundaries, SomethingOtherThanPolygonJsonIsNamed) {
  struct Case {
    std::string boundary;
    std::string expected;  // a part of the description
  };
  const std::vector<Case> cases = {
      {"{\"type\":\"Polygon\",", "is not JSON: "},
      {R"({"type":"Feature","geometry":null})", R"(, got type "Feature")"},
      {R"({"type":"Point","coordinates":[113.71,34.39]})", R"(, got type "Point")"},
      {"[1,2]", "must be a GeoJSON geometry object"},
      {R"({"type":"Polygon"})", "coordinates: is required"},
      {R"({"type":"Polygon","coordinates":[]})", "coordinates: a polygon must be an array"},
      {R"({"type":"Polygon","coordinates":[[[113.70,34.38],[113.71,34.38],[113.70,34.38]]]})",
       "coordinates[0]: a ring needs at least 4 positions"},
      {R"({"type":"Polygon","coordinates":[[[113.70,34.38],[113.71,"34.38"],[113.71,34.39],)"
       R"([113.70,34.38]]]})",
       "coordinates[0][1]: a position must be [longitude, latitude]"},
      {Rect(113.70, 34.38, 113.71, 94.0), "coordinates[0][2]: latitude 94 is outside [-90, 90]"},
      {R"({"type":"MultiPolygon","coordinates":[]})", "a MultiPolygon must be an array"},
  };
  for (const Case& c : cases) {
    std::vector<Grid> grids = Street();
    Find(grids, "C11").boundary_geojson = c.boundary;
    std::string got = OnlyProblem(grids, "C11");
    EXPECT_TRUE(absl::StrContains(got, c.expected)) << c.boundary << "\n  got: " << got;
  }
}

TEST(GridBoundaries, ARingMustBeClosed) {
  std::vector<Grid> grids = Street();
  Find(grids, "C11").boundary_geojson =
      R"({"type":"Polygon","coordinates":[[[113.70,34.38],[113.71,34.38],[113.71,34.40],)"
      R"([113.70,34.40],[113.70,34.381]]]})";
  EXPECT_EQ(OnlyProblem(grids, "C11"),
            "coordinates[0]: the ring is not closed: its last position [113.7, 34.381] must "
            "repeat its first [113.7, 34.38]");
  // A hole's ring too.
  Find(grids, "C11").boundary_geojson =
      R"({"type":"Polygon","coordinates":[[[113.70,34.38],[113.71,34.38],[113.71,34.40],)"
      R"([113.70,34.40],[113.70,34.38]],[[113.702,34.382],[113.704,34.382],[113.704,34.384],)"
      R"([113.702,34.385]]]})";
  EXPECT_TRUE(
      absl::StartsWith(OnlyProblem(grids, "C11"), "coordinates[1]: the ring is not closed"));
}

TEST(GridBoundaries, ASelfIntersectingRingIsInvalid) {
  std::vector<Grid> grids = Street();
  // A bow tie: the edges cross at (113.705, 34.39).
  Find(grids, "C11").boundary_geojson =
      R"({"type":"Polygon","coordinates":[[[113.70,34.38],[113.71,34.40],[113.71,34.38],)"
      R"([113.70,34.40],[113.70,34.38]]]})";
  const std::string got = OnlyProblem(grids, "C11");
  EXPECT_TRUE(absl::StartsWith(got, "is not a valid polygon: Self-intersection at [113.705"))
      << got;
}

TEST(GridBoundaries, AChildMustLieInsideItsParent) {
  std::vector<Grid> grids = Street();
  // C12 reaches 0.001° into M2 (it only shares an edge with its sibling C11; C21 is a cousin).
  Find(grids, "C12").boundary_geojson = Rect(113.71, 34.38, 113.721, 34.40);
  EXPECT_EQ(OnlyProblem(grids, "C12"), "is not inside the boundary of its parent grid M1");

  // Without a boundary of its own, a parent is skipped: the nearest ancestor with one counts.
  grids = Street();
  Find(grids, "M1").boundary_geojson.clear();
  Find(grids, "C11").boundary_geojson = Rect(113.69, 34.38, 113.71, 34.40);
  EXPECT_EQ(OnlyProblem(grids, "C11"),
            "is not inside the boundary of its nearest ancestor with a boundary, grid S");

  // A new parent boundary that no longer covers its children is reported on the children.
  grids = Street();
  Find(grids, "M2").boundary_geojson = Rect(113.72, 34.38, 113.735, 34.40);
  EXPECT_EQ(OnlyProblem(grids, "C22"), "is not inside the boundary of its parent grid M2");
}

TEST(GridBoundaries, SiblingsMayShareEdgesButNotOverlap) {
  std::vector<Grid> grids = Street();
  // C12 moves 0.002° west into C11.
  Find(grids, "C12").boundary_geojson = Rect(113.708, 34.38, 113.718, 34.40);
  EXPECT_EQ(OnlyProblem(grids, "C12"),
            "overlaps sibling grid C11: their interiors intersect (sharing an edge is fine)");

  // One inside the other overlaps too (Overlaps alone would miss it); reported on the later.
  grids = Street();
  Find(grids, "C11").boundary_geojson = Rect(113.711, 34.381, 113.712, 34.382);
  EXPECT_EQ(OnlyProblem(grids, "C12"),
            "overlaps sibling grid C11: their interiors intersect (sharing an edge is fine)");

  // Touching at a corner only, or along part of an edge, is fine.
  grids = Street();
  Find(grids, "C11").boundary_geojson = Rect(113.70, 34.38, 113.71, 34.39);
  Find(grids, "C12").boundary_geojson = Rect(113.71, 34.39, 113.72, 34.40);
  EXPECT_TRUE(Problems(grids).empty());
  Find(grids, "C12").boundary_geojson = Rect(113.71, 34.385, 113.72, 34.40);
  EXPECT_TRUE(Problems(grids).empty());
}

TEST(GridBoundaries, ValidateOrganisationNamesTheGridsField) {
  Organisation org;
  org.grids = Street();
  org.grids[5].boundary_geojson = "not json";
  absl::Status s = ValidateOrganisation(org);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  std::vector<FieldViolation> v = GetFieldViolations(s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "grids[5].boundary_geojson");
  EXPECT_TRUE(absl::StartsWith(v[0].description, "is not JSON: ")) << v[0].description;
}

TEST(GridLocator, APointGoesToTheCellThatCoversIt) {
  GridLocator locator(Street());
  EXPECT_EQ(locator.unit_count(), 4u);  // the cells: S, M1 and M2 have bounded children
  EXPECT_EQ(locator.Locate(34.39, 113.705).code, "C11");
  EXPECT_EQ(locator.Locate(34.385, 113.735).code, "C22");
  // On an edge two cells share: the smaller code, whichever way round they are listed.
  EXPECT_EQ(locator.Locate(34.39, 113.71).code, "C11");
  std::vector<Grid> reversed = Street();
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(GridLocator(reversed).Locate(34.39, 113.72).code, "C12");
  // On the street's outer edge and at its corner: the cell there.
  EXPECT_EQ(locator.Locate(34.40, 113.735).code, "C22");
  EXPECT_EQ(locator.Locate(34.38, 113.70).code, "C11");
}

TEST(GridLocator, APointOutsideEveryCellGetsTheNearestThree) {
  GridLocator locator(Street());
  // 0.01° east of the street's east edge, level with its middle.
  GridLocation at = locator.Locate(34.39, 113.75);
  EXPECT_EQ(at.code, "");
  ASSERT_EQ(at.nearest.size(), 3u);
  EXPECT_EQ(at.nearest[0].code, "C22");
  EXPECT_EQ(at.nearest[0].name, "grid C22");
  EXPECT_EQ(at.nearest[1].code, "C21");
  EXPECT_EQ(at.nearest[2].code, "C12");
  // 0.01° of longitude at 34.39°N is about 918 m.
  EXPECT_NEAR(at.nearest[0].distance_metres, 918, 5);
  EXPECT_NEAR(at.nearest[1].distance_metres, 2 * 918, 10);
  EXPECT_EQ(locator.Locate(34.39, 113.75, 1).nearest.size(), 1u);
}

TEST(GridLocator, UnitGridsAreThoseWithoutBoundedChildren) {
  std::vector<Grid> grids = Street();
  // M2's cells lose their boundaries: M2 itself becomes the unit grid there.
  Find(grids, "C21").boundary_geojson.clear();
  Find(grids, "C22").boundary_geojson.clear();
  // A compound without a boundary under C11 leaves C11 a unit grid.
  Grid compound;
  compound.code = "C11-1";
  compound.name = "compound";
  compound.level = GridLevel::kCompound;
  compound.parent_code = "C11";
  grids.push_back(compound);
  GridLocator locator(grids);
  EXPECT_EQ(locator.unit_count(), 3u);
  EXPECT_EQ(locator.Locate(34.39, 113.735).code, "M2");
  EXPECT_EQ(locator.Locate(34.39, 113.705).code, "C11");
  // No boundaries at all: nothing to locate in.
  std::vector<Grid> bare = Street();
  for (Grid& g : bare) g.boundary_geojson.clear();
  GridLocator none(bare);
  EXPECT_EQ(none.unit_count(), 0u);
  EXPECT_EQ(none.Locate(34.39, 113.705).code, "");
  EXPECT_TRUE(none.Locate(34.39, 113.705).nearest.empty());
}

}  // namespace
}  // namespace gridline::domain
