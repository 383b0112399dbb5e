// The grid map, drawn in SVG from Grid.boundary_geojson (Web Mercator), so it works offline.
// With HttpConfig.console_tile_url set (GET /console-config.json), tiles are drawn under it.
// Unit grids are coloured by their open cases or by last month's 三色旗 flag.
import { CaseState, Role } from "../gen/gridline/v1/common_pb.js";
import { EvaluationFlag, EvaluationUnitKind } from "../gen/gridline/v1/admin_service_pb.js";
import { GridLevel } from "../gen/gridline/v1/organisation_pb.js";
import { admin, department, dispatch, errorText, report } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { session } from "../main.js";
import { gridName } from "./common.js";

const OPEN = [CaseState.PENDING_TRIAGE, CaseState.DISPATCHED, CaseState.IN_PROGRESS, CaseState.RETURNED, CaseState.RESOLVED];

let consoleConfig = null;
async function config() {
  if (!consoleConfig) {
    try {
      consoleConfig = await (await fetch("/console-config.json")).json();
    } catch {
      consoleConfig = {};
    }
  }
  return consoleConfig;
}

// [lon, lat] -> Web Mercator world coordinates in [0, 256).
function project([lon, lat]) {
  const s = Math.sin((lat * Math.PI) / 180);
  return [((lon + 180) / 360) * 256, (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 256];
}

function rings(grid) {
  if (!grid?.boundaryGeojson) return [];
  try {
    const g = JSON.parse(grid.boundaryGeojson);
    if (g.type === "Polygon") return [g.coordinates[0]];
    if (g.type === "MultiPolygon") return g.coordinates.map((p) => p[0]);
  } catch {
    // a boundary the server accepted is valid GeoJSON; draw nothing otherwise
  }
  return [];
}

function unitGrids() {
  const hasBoundedChild = new Set();
  for (const g of session.grids.values()) if (g.boundaryGeojson && g.parentCode) hasBoundedChild.add(g.parentCode);
  return [...session.grids.values()].filter((g) => g.boundaryGeojson && !hasBoundedChild.has(g.code));
}

// The unit grid (or nearest bounded ancestor) of a grid code.
function unitOf(code, units) {
  for (let g = session.grids.get(code); g; g = session.grids.get(g.parentCode)) {
    if (units.has(g.code)) return g.code;
  }
  return code;
}

// An SVG map of `shapes` ({grid, fill, testid, title}) and `points` ({latLng, label, testid}).
function svgMap({ shapes, points, tileUrl, width = 640, height = 420 }) {
  const all = [...shapes.flatMap((s) => rings(s.grid).flat()), ...points.map((p) => [p.latLng.longitude, p.latLng.latitude])].map(project);
  if (all.length === 0) return h("p", {}, t("empty"));
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of all) [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
  const pad = Math.max(x1 - x0, y1 - y0, 1e-5) * 0.08;
  [x0, y0, x1, y1] = [x0 - pad, y0 - pad, x1 + pad, y1 + pad];
  const svg = h("svg", { viewBox: `${x0} ${y0} ${x1 - x0} ${y1 - y0}`, width, height, class: "map", testid: "map-svg", preserveAspectRatio: "xMidYMid meet" });
  if (tileUrl) {
    const z = Math.max(0, Math.min(19, Math.floor(Math.log2(width / (x1 - x0)))));
    const n = 2 ** z;
    const size = 256 / n;
    for (let tx = Math.floor(x0 / size); tx <= Math.floor(x1 / size); tx++) {
      for (let ty = Math.floor(y0 / size); ty <= Math.floor(y1 / size); ty++) {
        const href = tileUrl.replace("{z}", z).replace("{x}", tx).replace("{y}", ty).replace("{s}", "abc"[(tx + ty) % 3]);
        svg.append(h("image", { href, x: tx * size, y: ty * size, width: size, height: size, testid: "map-tile" }));
      }
    }
  }
  for (const s of shapes) {
    for (const ring of rings(s.grid)) {
      svg.append(h("polygon", {
        points: ring.map(project).map(([x, y]) => `${x},${y}`).join(" "),
        fill: s.fill, "fill-opacity": tileUrl ? 0.45 : 0.8, stroke: s.stroke || "#345", "stroke-width": s.strokeWidth || 1,
        "vector-effect": "non-scaling-stroke", testid: s.testid, "data-code": s.grid.code, "data-value": s.value,
      }, h("title", {}, s.title)));
    }
  }
  const r = (x1 - x0) / 90;
  for (const p of points) {
    const [x, y] = project([p.latLng.longitude, p.latLng.latitude]);
    svg.append(h("circle", { cx: x, cy: y, r, fill: p.fill || "#d22", stroke: "#fff", "stroke-width": 1.5, "vector-effect": "non-scaling-stroke", testid: p.testid, "data-case-id": p.caseId },
      h("title", {}, p.label)));
  }
  return svg;
}

// A small map of cases (the first one red, the others blue) over their grid's street.
export function caseMap(cases, gridCode) {
  const units = new Set(unitGrids().map((g) => g.code));
  const unit = session.grids.get(unitOf(gridCode, units));
  const shapes = [];
  if (unit) {
    const siblings = [...units].map((c) => session.grids.get(c)).filter((g) => g.parentCode === unit.parentCode);
    for (const g of siblings) shapes.push({ grid: g, fill: g.code === unit.code ? "#ffe9a8" : "#eef2f6", title: g.name });
  }
  const points = cases.filter((c) => c.location.coordinates && (c.location.coordinates.latitude || c.location.coordinates.longitude))
    .map((c, i) => ({ latLng: c.location.coordinates, label: c.caseNumber || c.description, fill: i === 0 ? "#d22" : "#1f5fa8", testid: "map-point", caseId: c.caseId }));
  const box = h("div", { class: "case-map", testid: "case-map" });
  config().then((cfg) => box.append(svgMap({ shapes, points, tileUrl: cfg.tileUrl, width: 420, height: 300 })));
  return box;
}

async function openCounts() {
  const role = session.me.user.role;
  const cases = [];
  let pageToken = "";
  do {
    let page;
    if (role === Role.DEPARTMENT_STAFF) page = await department.listAssignedCases({ pageSize: 500, pageToken, includeAssisting: true });
    else if (role === Role.GRID_LEADER) page = await report.listMyCases({ pageSize: 500, pageToken, states: OPEN });
    else page = await dispatch.listCases({ pageSize: 500, pageToken, states: OPEN });
    cases.push(...page.cases);
    pageToken = page.nextPageToken;
  } while (pageToken && cases.length < 5000);
  return cases;
}

function lastMonth() {
  const d = new Date();
  d.setDate(1);
  d.setMonth(d.getMonth() - 1);
  return { year: d.getFullYear(), month: d.getMonth() + 1 };
}

export async function showMap(main, signal) {
  const cfg = await config();
  const mode = h("select", { testid: "map-mode" },
    h("option", { value: "open" }, t("openCases")), h("option", { value: "flags" }, `${t("flags")} (${lastMonth().year}-${lastMonth().month})`));
  const area = h("div", { testid: "map-area" });
  const legend = h("p", { class: "legend", testid: "map-legend" });
  main.append(h("h2", {}, t("map")), h("p", {}, t("colourBy"), " ", mode, " ", cfg.tileUrl ? "" : h("small", { testid: "no-tiles" }, t("noTiles"))), area, legend);
  const units = unitGrids();
  const unitCodes = new Set(units.map((g) => g.code));
  const streets = [...session.grids.values()].filter((g) => g.level === GridLevel.STREET && g.boundaryGeojson);

  async function draw() {
    area.replaceChildren();
    legend.textContent = "";
    let shapes;
    let points = [];
    try {
      if (mode.value === "open") {
        const cases = await openCounts();
        const counts = new Map();
        for (const c of cases) {
          const u = unitOf(c.location.gridCode, unitCodes);
          counts.set(u, (counts.get(u) || 0) + 1);
        }
        const max = Math.max(1, ...counts.values());
        shapes = units.map((g) => {
          const n = counts.get(g.code) || 0;
          return { grid: g, value: n, fill: n ? `hsl(10, 80%, ${90 - 45 * (n / max)}%)` : "#f4f6f8", testid: "map-grid", title: `${g.name} (${g.code}): ${n}` };
        });
        points = cases.filter((c) => c.location.coordinates?.latitude).map((c) => ({ latLng: c.location.coordinates, label: c.description, testid: "map-point", caseId: c.caseId }));
        legend.textContent = `${t("openCases")}: ${cases.length}`;
      } else {
        const { year, month } = lastMonth();
        const flags = new Map();
        const page = await admin.listEvaluations({ year, month, unitKind: EvaluationUnitKind.GRID_UNIT, pageSize: 500 });
        for (const e of page.evaluations) flags.set(e.unitCode, e.flag);
        const colour = { [EvaluationFlag.RED_FLAG]: "#e0433a", [EvaluationFlag.YELLOW_FLAG]: "#f2c230", [EvaluationFlag.BLACK_FLAG]: "#333" };
        shapes = units.map((g) => {
          const f = flags.get(g.code);
          return { grid: g, value: EvaluationFlag[f] || "", fill: colour[f] || "#f4f6f8", testid: "map-grid", title: `${g.name}: ${EvaluationFlag[f] || "—"}` };
        });
      }
    } catch (e) {
      area.append(h("p", { class: "error", testid: "map-error" }, errorText(e)));
      shapes = units.map((g) => ({ grid: g, fill: "#f4f6f8", testid: "map-grid", title: gridName(g.code) }));
    }
    for (const s of streets) shapes.push({ grid: s, fill: "none", stroke: "#123", strokeWidth: 2.5, title: s.name });
    area.append(svgMap({ shapes, points, tileUrl: cfg.tileUrl, width: 900, height: 560 }));
  }
  mode.addEventListener("change", draw);
  await draw();
}
