#include "server/domain/grid_geometry.h"

#include <geos_c.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/domain/report_checks.h"

namespace gridline::domain {
namespace {

using Json = nlohmann::json;

// One GEOS context (reentrant API) with its last error message, and owning handles for what it
// makes. Everything made with a context must be freed before it: declare the Geos first.
class Geos {
 public:
  Geos() : ctx_(GEOS_init_r()) {
    GEOSContext_setErrorMessageHandler_r(ctx_, &Geos::OnMessage, &error_);
    GEOSContext_setNoticeMessageHandler_r(ctx_, &Geos::OnMessage, &notice_);
  }
  ~Geos() { GEOS_finish_r(ctx_); }
  Geos(const Geos&) = delete;
  Geos& operator=(const Geos&) = delete;

  GEOSContextHandle_t ctx() const { return ctx_; }
  // The last error GEOS reported (e.g. an exception inside a call that returned null or 2).
  std::string TakeError() { return std::exchange(error_, std::string()); }

  struct GeomFree {
    GEOSContextHandle_t ctx;
    void operator()(GEOSGeometry* g) const { GEOSGeom_destroy_r(ctx, g); }
  };
  struct PreparedFree {
    GEOSContextHandle_t ctx;
    void operator()(const GEOSPreparedGeometry* g) const { GEOSPreparedGeom_destroy_r(ctx, g); }
  };
  struct TreeFree {
    GEOSContextHandle_t ctx;
    void operator()(GEOSSTRtree* t) const { GEOSSTRtree_destroy_r(ctx, t); }
  };
  using Geom = std::unique_ptr<GEOSGeometry, GeomFree>;
  using Prepared = std::unique_ptr<const GEOSPreparedGeometry, PreparedFree>;
  using Tree = std::unique_ptr<GEOSSTRtree, TreeFree>;

  Geom Own(GEOSGeometry* g) const { return Geom(g, GeomFree{ctx_}); }
  Prepared Prepare(const GEOSGeometry* g) const {
    return Prepared(GEOSPrepare_r(ctx_, g), PreparedFree{ctx_});
  }
  Tree NewTree() const { return Tree(GEOSSTRtree_create_r(ctx_, 10), TreeFree{ctx_}); }

  // The items of `tree` whose envelope meets `g`'s. Items are stored as 1 + an index.
  std::vector<size_t> Query(GEOSSTRtree* tree, const GEOSGeometry* g) const {
    std::vector<size_t> out;
    GEOSSTRtree_query_r(
        ctx_, tree, g,
        [](void* item, void* found) {
          static_cast<std::vector<size_t>*>(found)->push_back(reinterpret_cast<uintptr_t>(item) -
                                                              1);
        },
        &out);
    return out;
  }
  void Insert(GEOSSTRtree* tree, const GEOSGeometry* g, size_t index) const {
    GEOSSTRtree_insert_r(ctx_, tree, g, reinterpret_cast<void*>(static_cast<uintptr_t>(index) + 1));
  }

 private:
  static void OnMessage(const char* message, void* into) {
    *static_cast<std::string*>(into) = message == nullptr ? "" : message;
  }

  GEOSContextHandle_t ctx_;
  std::string error_;
  std::string notice_;
};

std::string Path(absl::string_view base, size_t i) { return absl::StrCat(base, "[", i, "]"); }

// A ring: at least four [longitude, latitude(, altitude)] positions, the last repeating the first.
Geos::Geom ReadRing(const Geos& geos, const Json& ring, const std::string& at,
                    std::string* problem) {
  if (!ring.is_array()) {
    *problem = absl::StrCat(at, ": a ring must be an array of positions");
    return nullptr;
  }
  if (ring.size() < 4) {
    *problem = absl::StrCat(at,
                            ": a ring needs at least 4 positions (the last repeating the "
                            "first), got ",
                            ring.size());
    return nullptr;
  }
  std::vector<std::pair<double, double>> xy;
  xy.reserve(ring.size());
  for (size_t k = 0; k < ring.size(); ++k) {
    const Json& p = ring[k];
    const bool numbers =
        p.is_array() && (p.size() == 2 || p.size() == 3) &&
        std::all_of(p.begin(), p.end(), [](const Json& n) { return n.is_number(); });
    if (!numbers) {
      *problem = absl::StrCat(Path(at, k),
                              ": a position must be [longitude, latitude] or [longitude, "
                              "latitude, altitude], in numbers");
      return nullptr;
    }
    const double lng = p[0].get<double>();
    const double lat = p[1].get<double>();
    if (!std::isfinite(lng) || lng < -180 || lng > 180) {
      *problem = absl::StrCat(Path(at, k), ": longitude ", lng, " is outside [-180, 180]");
      return nullptr;
    }
    if (!std::isfinite(lat) || lat < -90 || lat > 90) {
      *problem = absl::StrCat(Path(at, k), ": latitude ", lat, " is outside [-90, 90]");
      return nullptr;
    }
    xy.emplace_back(lng, lat);
  }
  if (xy.front() != xy.back()) {
    *problem = absl::StrCat(at, ": the ring is not closed: its last position [", xy.back().first,
                            ", ", xy.back().second, "] must repeat its first [", xy.front().first,
                            ", ", xy.front().second, "]");
    return nullptr;
  }
  GEOSContextHandle_t ctx = geos.ctx();
  GEOSCoordSequence* seq = GEOSCoordSeq_create_r(ctx, static_cast<unsigned>(xy.size()), 2);
  if (seq == nullptr) {
    *problem = absl::StrCat(at, ": cannot be read");
    return nullptr;
  }
  for (size_t k = 0; k < xy.size(); ++k) {
    GEOSCoordSeq_setXY_r(ctx, seq, static_cast<unsigned>(k), xy[k].first, xy[k].second);
  }
  Geos::Geom made = geos.Own(GEOSGeom_createLinearRing_r(ctx, seq));  // takes the sequence
  if (!made) *problem = absl::StrCat(at, ": cannot be read as a ring");
  return made;
}

// A Polygon's coordinates: the outer ring, then its holes.
Geos::Geom ReadPolygon(const Geos& geos, const Json& rings, const std::string& at,
                       std::string* problem) {
  if (!rings.is_array() || rings.empty()) {
    *problem = absl::StrCat(at, ": a polygon must be an array of rings, the outer ring first");
    return nullptr;
  }
  std::vector<Geos::Geom> read;
  for (size_t r = 0; r < rings.size(); ++r) {
    Geos::Geom ring = ReadRing(geos, rings[r], Path(at, r), problem);
    if (!ring) return nullptr;
    read.push_back(std::move(ring));
  }
  std::vector<GEOSGeometry*> holes;
  for (size_t r = 1; r < read.size(); ++r) holes.push_back(read[r].release());
  // GEOS takes the shell and the holes, also when it fails.
  Geos::Geom polygon = geos.Own(GEOSGeom_createPolygon_r(
      geos.ctx(), read[0].release(), holes.data(), static_cast<unsigned>(holes.size())));
  if (!polygon) *problem = absl::StrCat(at, ": cannot be read as a polygon");
  return polygon;
}

// The geometry of a boundary, or null with `problem` saying what is wrong.
Geos::Geom ReadBoundary(const Geos& geos, absl::string_view text, std::string* problem) {
  if (text.size() > kMaxBoundaryBytes) {
    *problem = absl::StrCat("must be at most ", kMaxBoundaryBytes, " bytes, got ", text.size());
    return nullptr;
  }
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    absl::string_view what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 3: ..."
    if (size_t end = what.find("] "); end != absl::string_view::npos) what.remove_prefix(end + 2);
    // The message quotes the bytes last read, which need not be UTF-8; a field violation must
    // be (it travels in a google.rpc.Status). Found by fuzz_organisation.
    if (size_t quote = what.find("; last read: ");
        quote != absl::string_view::npos && !IsValidUtf8(what, nullptr)) {
      what = what.substr(0, quote);
    }
    if (!IsValidUtf8(what, nullptr)) what = "not valid JSON text";
    *problem = absl::StrCat("is not JSON: ", what);
    return nullptr;
  }
  constexpr char kWanted[] =
      "must be a GeoJSON geometry object of type \"Polygon\" or \"MultiPolygon\"";
  if (!doc.is_object() || !doc.contains("type") || !doc["type"].is_string()) {
    *problem = absl::StrCat(kWanted, " with [longitude, latitude] coordinates");
    return nullptr;
  }
  const std::string type = doc["type"].get<std::string>();
  if (type != "Polygon" && type != "MultiPolygon") {
    *problem = absl::StrCat(kWanted, ", got type \"", type, "\"");
    return nullptr;
  }
  if (!doc.contains("coordinates")) {
    *problem = "coordinates: is required";
    return nullptr;
  }
  const Json& coordinates = doc["coordinates"];
  if (type == "Polygon") return ReadPolygon(geos, coordinates, "coordinates", problem);
  if (!coordinates.is_array() || coordinates.empty()) {
    *problem = "coordinates: a MultiPolygon must be an array of at least one polygon";
    return nullptr;
  }
  std::vector<Geos::Geom> polygons;
  for (size_t i = 0; i < coordinates.size(); ++i) {
    Geos::Geom polygon = ReadPolygon(geos, coordinates[i], Path("coordinates", i), problem);
    if (!polygon) return nullptr;
    polygons.push_back(std::move(polygon));
  }
  std::vector<GEOSGeometry*> raw;
  for (auto& p : polygons) raw.push_back(p.release());
  Geos::Geom multi = geos.Own(GEOSGeom_createCollection_r(geos.ctx(), GEOS_MULTIPOLYGON, raw.data(),
                                                          static_cast<unsigned>(raw.size())));
  if (!multi) *problem = "coordinates: cannot be read as a MultiPolygon";
  return multi;
}

// ReadBoundary, then the OGC validity of the geometry (no self-intersection, ...).
Geos::Geom ReadValidBoundary(Geos& geos, absl::string_view text, std::string* problem) {
  Geos::Geom g = ReadBoundary(geos, text, problem);
  if (!g) return nullptr;
  char* reason = nullptr;
  GEOSGeometry* where = nullptr;
  const char valid = GEOSisValidDetail_r(geos.ctx(), g.get(), 0, &reason, &where);
  if (valid == 1) return g;
  if (valid == 0) {
    std::string at;
    double x = 0;
    double y = 0;
    if (where != nullptr && GEOSGeomGetX_r(geos.ctx(), where, &x) == 1 &&
        GEOSGeomGetY_r(geos.ctx(), where, &y) == 1) {
      at = absl::StrCat(" at [", x, ", ", y, "]");
    }
    *problem = absl::StrCat("is not a valid polygon: ", reason == nullptr ? "invalid" : reason, at);
  } else {
    *problem = absl::StrCat("cannot be checked: ", geos.TakeError());
  }
  if (reason != nullptr) GEOSFree_r(geos.ctx(), reason);
  if (where != nullptr) GEOSGeom_destroy_r(geos.ctx(), where);
  return nullptr;
}

}  // namespace

void CheckGridBoundaries(
    const std::vector<Grid>& grids,
    const std::function<void(size_t index, std::string description)>& problem) {
  Geos geos;
  GEOSContextHandle_t ctx = geos.ctx();
  std::vector<Geos::Geom> shape(grids.size());
  bool any = false;
  for (size_t i = 0; i < grids.size(); ++i) {
    if (grids[i].boundary_geojson.empty()) continue;
    std::string why;
    shape[i] = ReadValidBoundary(geos, grids[i].boundary_geojson, &why);
    if (!shape[i]) {
      problem(i, std::move(why));
    } else {
      any = true;
    }
  }
  if (!any) return;

  std::unordered_map<std::string, size_t> at;  // the first grid of each code
  for (size_t i = 0; i < grids.size(); ++i) at.emplace(grids[i].code, i);

  // Inside the nearest ancestor that has a boundary.
  std::vector<Geos::Prepared> prepared(grids.size());
  for (size_t i = 0; i < grids.size(); ++i) {
    if (!shape[i]) continue;
    std::string cur = grids[i].parent_code;
    for (size_t steps = 0; !cur.empty() && steps < grids.size(); ++steps) {
      auto it = at.find(cur);
      if (it == at.end() || it->second == i) break;  // unknown parent, or a cycle back to i
      const size_t j = it->second;
      if (!grids[j].boundary_geojson.empty()) {
        if (!shape[j]) break;  // its own problem is reported
        if (!prepared[j]) prepared[j] = geos.Prepare(shape[j].get());
        const char covers = GEOSPreparedCovers_r(ctx, prepared[j].get(), shape[i].get());
        if (covers == 0) {
          problem(i, absl::StrCat("is not inside the boundary of ",
                                  steps == 0 ? "its parent grid "
                                             : "its nearest ancestor with a boundary, grid ",
                                  grids[j].code));
        } else if (covers == 2) {
          problem(i, absl::StrCat("cannot be checked against grid ", grids[j].code, ": ",
                                  geos.TakeError()));
        }
        break;
      }
      cur = grids[j].parent_code;
    }
  }

  // Siblings' interiors do not meet.
  std::map<std::string, std::vector<size_t>> children;
  for (size_t i = 0; i < grids.size(); ++i) {
    if (shape[i] && !grids[i].parent_code.empty()) children[grids[i].parent_code].push_back(i);
  }
  for (const auto& [parent, members] : children) {
    if (members.size() < 2) continue;
    Geos::Tree tree = geos.NewTree();
    for (size_t i : members) geos.Insert(tree.get(), shape[i].get(), i);
    for (size_t i : members) {
      std::vector<size_t> near = geos.Query(tree.get(), shape[i].get());
      std::sort(near.begin(), near.end());
      for (size_t j : near) {
        if (j >= i) continue;  // each pair once, on the later grid
        if (GEOSRelatePattern_r(ctx, shape[i].get(), shape[j].get(), "T********") == 1) {
          problem(i, absl::StrCat("overlaps sibling grid ", grids[j].code,
                                  ": their interiors intersect (sharing an edge is fine)"));
        }
      }
    }
  }
}

struct GridLocator::Impl {
  Geos geos;  // first: freed last
  struct Unit {
    std::string code;
    std::string name;
    Geos::Geom geom;
    Geos::Prepared prepared;
  };
  std::vector<Unit> units;
  Geos::Tree tree{nullptr, Geos::TreeFree{nullptr}};
  std::mutex mu;
};

GridLocator::GridLocator(const std::vector<Grid>& grids) : impl_(std::make_unique<Impl>()) {
  Geos& geos = impl_->geos;
  std::vector<Geos::Geom> shape(grids.size());
  std::unordered_set<std::string> bounded_parents;
  for (size_t i = 0; i < grids.size(); ++i) {
    if (grids[i].boundary_geojson.empty()) continue;
    std::string why;
    shape[i] = ReadValidBoundary(geos, grids[i].boundary_geojson, &why);
    if (shape[i]) bounded_parents.insert(grids[i].parent_code);
  }
  for (size_t i = 0; i < grids.size(); ++i) {
    if (!shape[i] || bounded_parents.count(grids[i].code)) continue;
    Impl::Unit u;
    u.code = grids[i].code;
    u.name = grids[i].name;
    u.prepared = geos.Prepare(shape[i].get());
    u.geom = std::move(shape[i]);
    impl_->units.push_back(std::move(u));
  }
  impl_->tree = geos.NewTree();
  for (size_t k = 0; k < impl_->units.size(); ++k) {
    geos.Insert(impl_->tree.get(), impl_->units[k].geom.get(), k);
  }
}

GridLocator::~GridLocator() = default;

size_t GridLocator::unit_count() const { return impl_->units.size(); }

GridLocation GridLocator::Locate(double latitude, double longitude, size_t nearest) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const Geos& geos = impl_->geos;
  GEOSContextHandle_t ctx = geos.ctx();
  GridLocation out;
  if (impl_->units.empty()) return out;
  Geos::Geom point = geos.Own(GEOSGeom_createPointFromXY_r(ctx, longitude, latitude));
  if (!point) return out;
  const Impl::Unit* best = nullptr;
  for (size_t k : geos.Query(impl_->tree.get(), point.get())) {
    const Impl::Unit& u = impl_->units[k];
    if (GEOSPreparedCovers_r(ctx, u.prepared.get(), point.get()) != 1) continue;
    if (best == nullptr || u.code < best->code) best = &u;
  }
  if (best != nullptr) {
    out.code = best->code;
    return out;
  }
  // Outside every unit grid: the distances in metres to each (an error path; linear in the
  // unit grids, each a prepared-geometry query).
  std::vector<NearbyGrid> all;
  all.reserve(impl_->units.size());
  for (const Impl::Unit& u : impl_->units) {
    GEOSCoordSequence* pair = GEOSPreparedNearestPoints_r(ctx, u.prepared.get(), point.get());
    if (pair == nullptr) continue;
    double x1 = 0, y1 = 0, x2 = 0, y2 = 0;
    const bool read = GEOSCoordSeq_getXY_r(ctx, pair, 0, &x1, &y1) == 1 &&
                      GEOSCoordSeq_getXY_r(ctx, pair, 1, &x2, &y2) == 1;
    GEOSCoordSeq_destroy_r(ctx, pair);
    if (read) all.push_back({u.code, u.name, DistanceMetres(y1, x1, y2, x2)});
  }
  const size_t n = std::min(nearest, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    [](const NearbyGrid& a, const NearbyGrid& b) {
                      return std::tie(a.distance_metres, a.code) <
                             std::tie(b.distance_metres, b.code);
                    });
  all.resize(n);
  out.nearest = std::move(all);
  return out;
}

}  // namespace gridline::domain
