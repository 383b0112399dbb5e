// Pieces shared by the pages: names for codes, a case's row cells, a debounced refresher.
import { CaseState, Urgency } from "../gen/gridline/v1/common_pb.js";
import { errorText } from "../api.js";
import { h } from "../dom.js";
import { stateLabel, t } from "../i18n.js";
import { session } from "../main.js";

export const categoryName = (code) => session.categories.get(code)?.name || code;
export const departmentName = (code) => session.departments.get(code)?.name || code;
export const gridName = (code) => session.grids.get(code)?.name || code;

export function stateBadge(state) {
  const name = CaseState[state];
  return h("span", { class: `state state-${name}`, testid: "case-state", "data-state": name }, stateLabel(name));
}

export function urgencyName(u) {
  return Urgency[u] || "NORMAL";
}

export function caseLink(c) {
  return h("a", { href: `/case/${encodeURIComponent(c.caseId)}`, "data-route": "", testid: "case-link" },
    c.caseNumber || c.caseId.slice(0, 12));
}

// Calls `load` now and again (at most every 150 ms) each time `poke` is called.
export function refresher(load) {
  let timer = null;
  let running = Promise.resolve();
  const poke = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      running = running.then(load, load);
    }, 150);
  };
  running = load();
  return { poke, first: running };
}

// An action of a list page: clears `status`, runs `fn`, then reloads the list (refresh()
// returns the page's refresher, made after the actions); a failure is shown in `status` and
// thrown on, so the form that started it stays open.
export function actions(status, refresh) {
  return async (fn) => {
    status.textContent = "";
    try {
      await fn();
      refresh().poke();
    } catch (e) {
      status.textContent = `${t("failed")}: ${errorText(e)}`;
      throw new Error(errorText(e));
    }
  };
}
