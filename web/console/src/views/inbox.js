// A line department's inbox (DepartmentService), live over WatchAssignments: accept a dispatched
// case, return one that is not the department's. Progress and the result with photos are on the
// case page.
import { CaseState } from "../gen/gridline/v1/common_pb.js";
import { department, follow } from "../api.js";
import { formatTime, h, inlineForm } from "../dom.js";
import { t } from "../i18n.js";
import { setLive } from "../main.js";
import { actions, caseLink, categoryName, gridName, refresher, stateBadge } from "./common.js";

export async function showInbox(main, signal) {
  const list = h("table", { class: "cases", testid: "inbox" });
  const status = h("p", { class: "error", testid: "inbox-error" });
  main.append(h("h2", {}, t("inbox")), status, list);
  let cursor = "";

  const act = actions(status, () => refresh);

  async function load() {
    const page = await department.listAssignedCases({ pageSize: 200, includeAssisting: true });
    if (!cursor) cursor = page.feedCursor;
    list.replaceChildren(h("tr", {},
      ["caseNumber", "state", "category", "description", "grid", "deadline", ""].map((k) => h("th", {}, k ? t(k) : ""))));
    if (page.cases.length === 0) list.append(h("tr", {}, h("td", { colspan: 7, testid: "inbox-empty" }, t("empty"))));
    for (const c of page.cases) {
      const actions = h("td", { class: "actions" });
      const expected = { caseId: c.caseId, expectedVersion: c.version };
      if (c.state === CaseState.DISPATCHED) {
        actions.append(h("button", { testid: "assignment-accept", onclick: () => act(() => department.acceptAssignment(expected)) }, t("acceptAssignment")));
      }
      if (c.state === CaseState.DISPATCHED || c.state === CaseState.IN_PROGRESS) {
        actions.append(h("button", {
          testid: "return-btn",
          onclick: () => inlineForm(actions, {
            label: t("reason"), submitLabel: t("returnCase"),
            submit: (reason) => act(() => department.returnCase({ ...expected, reason })),
          }),
        }, t("returnCase")));
      }
      list.append(h("tr", { testid: "inbox-row", "data-case-id": c.caseId, "data-state": CaseState[c.state] },
        h("td", {}, caseLink(c)), h("td", {}, stateBadge(c.state)), h("td", {}, categoryName(c.categoryCode)),
        h("td", {}, c.description), h("td", {}, gridName(c.location.gridCode)),
        h("td", {}, formatTime(c.deadlineTime)), actions));
    }
  }

  const refresh = refresher(load);
  await refresh.first;
  follow((after, s) => department.watchAssignments({ afterCursor: after, includeAssisting: true }, { signal: s }),
    cursor, signal, () => refresh.poke(), (live) => setLive(live));
}
