// The evaluation figures (AdminService.GetStatistics) over a date range and the monthly 三色旗
// table (ListEvaluations), each with a CSV download made in the browser. Supervisors (their
// subtree) and operators may read them; other roles see a note.
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Role } from "../gen/gridline/v1/common_pb.js";
import { EvaluationFlag, EvaluationUnitKind } from "../gen/gridline/v1/admin_service_pb.js";
import { admin, errorText } from "../api.js";
import { downloadCsv, h } from "../dom.js";
import { t } from "../i18n.js";
import { session } from "../main.js";

const RATES = ["disposalRate", "closureRate", "onTimeRate", "reworkRate"];
const COUNTS = ["foundCount", "solvedCount", "dueCount", "postponedCount", "closedCount", "closedOnTimeCount",
  "lateCount", "resolvedCount", "reworkedCount", "openOverdueCount", "supervisionOrderCount"];

const pct = (v) => (v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
const isoDate = (d) => d.toISOString().slice(0, 10);

export async function showFigures(main) {
  const role = session.me.user.role;
  main.append(h("h2", {}, t("figures")));
  if (role !== Role.SUPERVISOR && role !== Role.OPERATOR) {
    main.append(h("p", { testid: "figures-denied" }, t("noFigures")));
    return;
  }
  const now = new Date();
  const from = h("input", { type: "date", testid: "stats-from", value: isoDate(new Date(now.getFullYear(), now.getMonth(), 1)) });
  const to = h("input", { type: "date", testid: "stats-to", value: isoDate(new Date(now.getTime() + 86400000)) });
  const stats = h("table", { class: "figures", testid: "stats-table" });
  const statsError = h("p", { class: "error" });
  let statsRows = [];
  const loadStats = async () => {
    statsError.textContent = "";
    try {
      const s = await admin.getStatistics({
        gridCode: role === Role.SUPERVISOR ? session.me.user.gridCode : "",
        startTime: timestampFromDate(new Date(from.value)), endTime: timestampFromDate(new Date(to.value)),
      });
      statsRows = [...COUNTS.map((k) => [k, String(s[k])]), ...RATES.map((k) => [k, pct(s[k])])];
      stats.replaceChildren(...statsRows.map(([k, v]) => h("tr", {}, h("th", {}, t(k)), h("td", { testid: `stat-${k}` }, v))));
    } catch (e) {
      statsError.textContent = errorText(e);
    }
  };
  main.append(h("h3", {}, t("statistics")),
    h("p", {}, t("from"), " ", from, " ", t("to"), " ", to, " ",
      h("button", { testid: "stats-load", onclick: loadStats }, t("load")), " ",
      h("button", { testid: "stats-csv", onclick: () => downloadCsv("gridline-statistics.csv", [["figure", "value"], ...statsRows]) }, t("download"))),
    statsError, stats);

  const last = new Date(now.getFullYear(), now.getMonth() - 1, 1);
  const month = h("input", { type: "month", testid: "flags-month", value: `${last.getFullYear()}-${String(last.getMonth() + 1).padStart(2, "0")}` });
  const flags = h("table", { class: "figures", testid: "flags-table" });
  const flagsError = h("p", { class: "error" });
  let flagRows = [];
  const header = ["unit_kind", "unit_code", "unit_name", "flag", "found", "solved", "disposal_rate", "closure_rate", "on_time_rate", "rework_rate", "explanation"];
  const loadFlags = async () => {
    flagsError.textContent = "";
    try {
      const [year, m] = month.value.split("-").map(Number);
      const all = [];
      let pageToken = "";
      do {
        const page = await admin.listEvaluations({ year, month: m, pageSize: 500, pageToken });
        all.push(...page.evaluations);
        pageToken = page.nextPageToken;
      } while (pageToken);
      flagRows = all.map((e) => [EvaluationUnitKind[e.unitKind], e.unitCode, e.unitName, EvaluationFlag[e.flag],
        String(e.statistics?.foundCount ?? ""), String(e.statistics?.solvedCount ?? ""),
        pct(e.statistics?.disposalRate), pct(e.statistics?.closureRate), pct(e.statistics?.onTimeRate), pct(e.statistics?.reworkRate), e.explanation]);
      flags.replaceChildren(h("tr", {}, header.map((k) => h("th", {}, t(k)))),
        ...flagRows.map((r) => h("tr", { testid: "flag-row", class: `flag-${r[3]}` }, r.map((v) => h("td", {}, v)))));
    } catch (e) {
      flagsError.textContent = errorText(e);
    }
  };
  main.append(h("h3", {}, t("flags")),
    h("p", {}, t("month"), " ", month, " ", h("button", { testid: "flags-load", onclick: loadFlags }, t("load")), " ",
      h("button", { testid: "flags-csv", onclick: () => downloadCsv(`gridline-flags-${month.value}.csv`, [header, ...flagRows]) }, t("download"))),
    flagsError, flags);
  await Promise.all([loadStats(), loadFlags()]);
}
