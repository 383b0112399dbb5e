// The gridline web console: sign-in by token, then the pages of the caller's role. Routes are
// paths (/queue, /inbox, /case/ID, /map, /figures); the server answers index.html for each.
import { Role } from "./gen/gridline/v1/common_pb.js";
import { admin, errorText, getToken, setToken } from "./api.js";
import { h } from "./dom.js";
import { t, toggleLanguage } from "./i18n.js";
import { showQueue } from "./views/queue.js";
import { showInbox } from "./views/inbox.js";
import { showCase } from "./views/case.js";
import { showMap } from "./views/map.js";
import { showFigures } from "./views/figures.js";

const app = document.getElementById("app");
// What every view may read: the signed-in user and the organisation's names.
export const session = { me: null, categories: new Map(), departments: new Map(), grids: new Map() };
let pageAbort = new AbortController();

export function navigate(path) {
  history.pushState(null, "", path);
  render();
}
window.addEventListener("popstate", () => render());
document.addEventListener("click", (e) => {
  const a = e.target.closest("a[data-route]");
  if (a && !e.ctrlKey && !e.metaKey && e.button === 0) {
    e.preventDefault();
    navigate(a.getAttribute("href"));
  }
});

async function loadAll(list, field) {
  const out = [];
  let pageToken = "";
  do {
    const page = await list({ pageSize: 500, pageToken });
    out.push(...page[field]);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

async function signIn(token) {
  setToken(token);
  try {
    session.me = await admin.getCurrentUser({});
  } catch (e) {
    setToken("");
    session.me = null;
    throw e;
  }
  const [categories, departments, grids] = await Promise.all([
    loadAll((r) => admin.listCategories(r), "categories"),
    loadAll((r) => admin.listDepartments(r), "departments"),
    loadAll((r) => admin.listGrids(r), "grids"),
  ]);
  session.categories = new Map(categories.map((c) => [c.code, c]));
  session.departments = new Map(departments.map((d) => [d.code, d]));
  session.grids = new Map(grids.map((g) => [g.code, g]));
}

function signOut() {
  setToken("");
  session.me = null;
  navigate("/");
}

function home() {
  const role = session.me.user.role;
  if (role === Role.DISPATCHER) return "/queue";
  if (role === Role.DEPARTMENT_STAFF) return "/inbox";
  if (role === Role.SUPERVISOR || role === Role.OPERATOR) return "/figures";
  return "/map";
}

function loginPage() {
  const input = h("input", { testid: "login-token", type: "password", autocomplete: "off", size: 40 });
  const error = h("p", { class: "error", testid: "login-error" });
  const form = h("form", { class: "login", testid: "login-form" },
    h("h1", {}, t("title")),
    h("p", {}, t("loginHint")),
    h("label", {}, t("token"), " ", input),
    h("button", { type: "submit", testid: "login-submit" }, t("login")),
    error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await signIn(input.value.trim());
      navigate(location.pathname === "/" || location.pathname === "/login" ? home() : location.pathname);
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  return form;
}

function header() {
  const role = session.me.user.role;
  const link = (path, key) =>
    h("a", { href: path, "data-route": "", testid: `nav-${key}`, class: location.pathname.startsWith(path) ? "active" : "" }, t(key));
  return h("header", {},
    h("strong", {}, t("title")),
    h("nav", {},
      role === Role.DISPATCHER && link("/queue", "queue"),
      role === Role.DEPARTMENT_STAFF && link("/inbox", "inbox"),
      link("/map", "map"),
      link("/figures", "figures")),
    h("span", { class: "live", testid: "live-status" }),
    h("span", { testid: "whoami", class: "who" },
      session.me.user.displayName, " · ", Role[role],
      session.me.departmentName ? ` · ${session.me.departmentName}` : "",
      session.me.gridName ? ` · ${session.me.gridName}` : ""),
    h("button", { testid: "lang-toggle", onclick: () => { toggleLanguage(); render(); } }, t("lang")),
    h("button", { testid: "logout", onclick: signOut }, t("logout")));
}

export function setLive(live) {
  const el = document.querySelector("[data-testid=live-status]");
  if (!el) return;
  el.textContent = live ? `● ${t("live")}` : `○ ${t("offline")}`;
  el.dataset.live = live ? "true" : "false";
}

async function render() {
  pageAbort.abort();
  pageAbort = new AbortController();
  const signal = pageAbort.signal;
  app.replaceChildren();
  if (!session.me && getToken()) {
    try {
      await signIn(getToken());
    } catch {
      session.me = null;
    }
  }
  if (!session.me) {
    app.append(loginPage());
    return;
  }
  const path = location.pathname;
  if (path === "/" || path === "/login") {
    history.replaceState(null, "", home());
    return render();
  }
  const main = h("main", { testid: "page" });
  app.append(header(), main);
  try {
    if (path.startsWith("/queue")) await showQueue(main, signal);
    else if (path.startsWith("/inbox")) await showInbox(main, signal);
    else if (path.startsWith("/case/")) await showCase(main, signal, decodeURIComponent(path.slice(6)));
    else if (path.startsWith("/map")) await showMap(main, signal);
    else if (path.startsWith("/figures")) await showFigures(main, signal);
    else main.append(h("p", {}, "404"));
  } catch (e) {
    if (!signal.aborted) main.append(h("p", { class: "error", testid: "page-error" }, errorText(e)));
  }
}

document.documentElement.lang = "zh-CN";
render();
