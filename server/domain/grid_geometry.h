// Grid boundaries: reading a grid's GeoJSON, the organisation's geometry rules, and finding the
// unit grid a point lies in. The JSON is read by nlohmann/json and every geometric question is
// answered by GEOS (its C API, one context handle per checker or locator); nothing here does
// geometry by hand.
//
// The rules, for the grids that have a boundary (Grid.boundary_geojson not empty):
// - The text is a GeoJSON geometry object (RFC 7946) of type "Polygon" or "MultiPolygon", at
//   most kMaxBoundaryBytes; positions are [longitude, latitude] (a third number, the altitude,
//   is ignored) within [-180, 180] and [-90, 90]; every ring has at least four positions and its
//   last position repeats its first (closed). Members other than "type" and "coordinates" (e.g.
//   "bbox") are ignored. Edges are straight lines in longitude/latitude, as RFC 7946 says.
// - The geometry is valid in the OGC sense (GEOSisValidDetail_r): no self-intersection, holes
//   inside their shell, the polygons of a MultiPolygon not overlapping.
// - A grid lies inside (is covered by) the boundary of its nearest ancestor that has one; edges
//   and vertices on that boundary are fine.
// - Two grids with the same parent do not overlap: their interiors do not intersect. Sharing an
//   edge or a corner is fine.
// Grids without a boundary are not checked and not located.
#ifndef GRIDLINE_SERVER_DOMAIN_GRID_GEOMETRY_H_
#define GRIDLINE_SERVER_DOMAIN_GRID_GEOMETRY_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/domain/types.h"

namespace gridline::domain {

// The largest boundary_geojson accepted, in bytes (a district's outline of ~40,000 positions).
inline constexpr size_t kMaxBoundaryBytes = 1 << 20;

// Calls `problem(index, description)` for every grid of `grids` (by its position) whose boundary
// breaks a rule above. A boundary that does not parse or is invalid is reported once and then
// left out of the tree rules. An overlap is reported once per pair, on the grid that comes later
// in `grids`, naming the other. Parents are found by `parent_code` (a cycle ends the walk).
void CheckGridBoundaries(const std::vector<Grid>& grids,
                         const std::function<void(size_t index, std::string description)>& problem);

// A unit grid near a point that lies outside every unit grid.
struct NearbyGrid {
  std::string code;
  std::string name;
  double distance_metres = 0;  // great-circle, from the point to the grid's nearest point
};

struct GridLocation {
  // The unit grid whose boundary covers the point; "" when none does.
  std::string code;
  // When `code` is empty: the nearest unit grids, nearest first (ties by code), at most as many
  // as asked for.
  std::vector<NearbyGrid> nearest;
};

// Where points lie, over the boundaries of one organisation snapshot. The unit grids are the
// grids with a (readable, valid) boundary none of whose children has one: the cells, or the
// compounds of a cell that gives its compounds boundaries. A point covered by a unit grid's
// boundary (interior or boundary) lies in it; a point covered by several (on an edge or corner
// two cells share) lies in the one with the smallest code (byte order), so the answer does not
// depend on the order of the grids.
//
// Built once per organisation version and shared; Locate may be called from any thread (calls
// are serialised: GEOS's prepared geometries and tree are not safe for concurrent queries, and a
// query takes microseconds).
class GridLocator {
 public:
  explicit GridLocator(const std::vector<Grid>& grids);
  ~GridLocator();
  GridLocator(const GridLocator&) = delete;
  GridLocator& operator=(const GridLocator&) = delete;

  // How many unit grids there are (0: no grid has a boundary, nothing can be located).
  size_t unit_count() const;

  // The unit grid at (latitude, longitude), WGS 84 degrees; when none, the `nearest` nearest.
  GridLocation Locate(double latitude, double longitude, size_t nearest = 3) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gridline::domain

#endif  // GRIDLINE_SERVER_DOMAIN_GRID_GEOMETRY_H_
