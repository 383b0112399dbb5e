// The acceptance center's triage queue (DispatchService), live over WatchQueue: new reports and
// returned cases appear without a reload. Accept (file and dispatch), reject with a reason, mark
// a duplicate (candidates on a map), re-route; and the pending extension requests.
import { CaseState } from "../gen/gridline/v1/common_pb.js";
import { dispatch, follow } from "../api.js";
import { formatTime, h, inlineForm } from "../dom.js";
import { t } from "../i18n.js";
import { session, setLive } from "../main.js";
import { actions, caseLink, categoryName, departmentName, gridName, refresher, stateBadge } from "./common.js";
import { caseMap } from "./map.js";

export async function showQueue(main, signal) {
  const list = h("table", { class: "cases", testid: "queue" });
  const extensions = h("div", { testid: "extensions" });
  const status = h("p", { class: "error", testid: "queue-error" });
  main.append(h("h2", {}, t("queue")), status, list, h("h2", {}, t("extensions")), extensions);

  let cursor = "";
  async function load() {
    const page = await dispatch.listTriageQueue({ pageSize: 200 });
    if (!cursor) cursor = page.feedCursor;
    list.replaceChildren(h("tr", {},
      ["caseNumber", "state", "category", "description", "grid", "observed", ""].map((k) => h("th", {}, k ? t(k) : ""))));
    if (page.items.length === 0) list.append(h("tr", {}, h("td", { colspan: 7, testid: "queue-empty" }, t("empty"))));
    for (const item of page.items) list.append(row(item));
    const ext = await dispatch.listExtensionRequests({ pageSize: 100 });
    extensions.replaceChildren(...(ext.extensionRequests.length ? ext.extensionRequests.map(extensionRow) : [h("p", {}, t("empty"))]));
  }

  const act = actions(status, () => refresh);

  function row(item) {
    const c = item.case;
    const actions = h("td", { class: "actions" });
    const tr = h("tr", { testid: "queue-row", "data-case-id": c.caseId, "data-state": CaseState[c.state] },
      h("td", {}, caseLink(c)), h("td", {}, stateBadge(c.state)),
      h("td", {}, categoryName(c.categoryCode)),
      h("td", { testid: "queue-description" }, c.description,
        item.returnReason ? h("div", { class: "note" }, `${departmentName(item.returnedByDepartmentCode)}: ${item.returnReason}`) : ""),
      h("td", {}, gridName(c.location.gridCode)), h("td", {}, formatTime(c.observeTime)), actions);
    const expected = { caseId: c.caseId, expectedVersion: c.version };
    if (c.state === CaseState.PENDING_TRIAGE) {
      actions.append(h("button", { testid: "accept-btn", onclick: () => act(() => dispatch.acceptCase(expected)) }, t("accept")));
    } else {
      actions.append(h("button", {
        testid: "route-btn",
        onclick: () => inlineForm(actions, {
          label: t("routeTo"), submitLabel: t("route"),
          options: [...session.departments.values()].map((d) => [d.code, `${d.name} (${d.code})`]),
          submit: (code) => act(() => dispatch.routeCase({ ...expected, leadDepartmentCode: code, note: t("route") })),
        }),
      }, t("route")));
    }
    actions.append(
      h("button", {
        testid: "reject-btn",
        onclick: () => inlineForm(actions, {
          label: t("reason"), submitLabel: t("reject"),
          submit: (reason) => act(() => dispatch.rejectCase({ ...expected, reason })),
        }),
      }, t("reject")),
      h("button", { testid: "dup-btn", onclick: () => showDuplicates(actions, c) }, t("findDuplicates")));
    return tr;
  }

  async function showDuplicates(anchor, c) {
    anchor.querySelector(".duplicates")?.remove();
    const box = h("div", { class: "duplicates", testid: "duplicates" }, h("h4", {}, t("candidates")));
    anchor.append(box);
    const found = await dispatch.suggestDuplicates({ caseId: c.caseId, radiusMetres: 1000 });
    if (found.candidates.length === 0) {
      box.append(h("p", {}, t("empty")));
      return;
    }
    box.append(caseMap([c, ...found.candidates.map((d) => d.case)], c.location.gridCode));
    for (const d of found.candidates) {
      box.append(h("div", { testid: "duplicate-candidate", "data-case-id": d.case.caseId },
        caseLink(d.case), " ", d.case.description, " ",
        d.distanceMetres !== undefined ? `${t("distance")} ${Math.round(d.distanceMetres)} m ` : "",
        h("button", {
          testid: "merge-btn",
          onclick: () => act(() => dispatch.markDuplicate({ caseId: c.caseId, expectedVersion: c.version, duplicateOfCaseId: d.case.caseId })),
        }, t("mergeInto"))));
    }
  }

  function extensionRow(x) {
    const div = h("div", { class: "extension", testid: "extension-row", "data-id": x.extensionRequestId },
      h("a", { href: `/case/${encodeURIComponent(x.caseId)}`, "data-route": "" }, x.caseId.slice(0, 12)), " ",
      departmentName(x.departmentCode), " · ", t("deadline"), " ", formatTime(x.currentDeadlineTime), " → ",
      t("requested"), " ", formatTime(x.requestedDeadlineTime), " · ", x.reason, " ");
    div.append(
      h("button", { testid: "ext-approve", onclick: () => act(() => dispatch.decideExtension({ extensionRequestId: x.extensionRequestId, approve: true })) }, t("approve")),
      h("button", {
        testid: "ext-deny",
        onclick: () => inlineForm(div, {
          label: t("note"), submitLabel: t("deny"),
          submit: (note) => act(() => dispatch.decideExtension({ extensionRequestId: x.extensionRequestId, approve: false, note })),
        }),
      }, t("deny")));
    return div;
  }

  const refresh = refresher(load);
  await refresh.first;
  follow((after, s) => dispatch.watchQueue({ afterCursor: after }, { signal: s }), cursor, signal,
    () => refresh.poke(), (live) => setLive(live));
}
