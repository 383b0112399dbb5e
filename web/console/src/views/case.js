// One case: its fields, photos, position on the map, and its history as a timeline; plus the
// actions the caller's role may take in the case's state.
import { CaseEventType, CaseState, Role } from "../gen/gridline/v1/common_pb.js";
import { department, dispatch, errorText, photoUrl, report, uploadPhoto } from "../api.js";
import { formatTime, h, inlineForm } from "../dom.js";
import { eventLabel, t } from "../i18n.js";
import { navigate, session } from "../main.js";
import { categoryName, departmentName, gridName, stateBadge, urgencyName } from "./common.js";
import { caseMap } from "./map.js";

function photo(attachmentId) {
  const img = h("img", { testid: "photo", alt: attachmentId.slice(0, 12), "data-attachment-id": attachmentId });
  photoUrl(attachmentId).then((url) => { img.src = url; }, () => { img.alt = `✕ ${img.alt}`; });
  return img;
}

export async function showCase(main, signal, caseId) {
  const [c, history] = await Promise.all([report.getCase({ caseId }), report.listCaseEvents({ caseId, pageSize: 500 })]);
  if (signal.aborted) return;
  const reload = () => navigate(location.pathname);
  const status = h("p", { class: "error", testid: "case-error" });
  const act = async (fn) => {
    status.textContent = "";
    try {
      await fn();
      reload();
    } catch (e) {
      status.textContent = `${t("failed")}: ${errorText(e)}`;
      throw new Error(errorText(e));
    }
  };
  const field = (key, value) => h("tr", {}, h("th", {}, t(key)), h("td", { testid: `case-${key}` }, value));
  const details = h("table", { class: "details" },
    field("caseNumber", c.caseNumber || "—"), field("state", stateBadge(c.state)),
    field("category", categoryName(c.categoryCode)), field("description", c.description),
    field("grid", `${gridName(c.location.gridCode)} (${c.location.gridCode})`), field("address", c.location.address),
    field("urgency", urgencyName(c.urgency)), field("observed", formatTime(c.observeTime)),
    field("deadline", formatTime(c.deadlineTime)), field("lead", c.leadDepartmentCode ? departmentName(c.leadDepartmentCode) : "—"),
    c.resolutionNote && field("result", c.resolutionNote));

  const timeline = h("ol", { class: "timeline", testid: "timeline" },
    history.events.map((e) => h("li", { testid: "timeline-item", "data-type": CaseEventType[e.type] },
      h("time", {}, formatTime(e.eventTime)), " ",
      h("strong", {}, eventLabel(CaseEventType[e.type])), " ",
      h("span", { class: "actor" }, `${e.actorUserId} (${Role[e.actorRole]})`),
      e.leadDepartmentCode && e.type === CaseEventType.ROUTED ? ` → ${departmentName(e.leadDepartmentCode)}` : "",
      e.note && h("div", { class: "note" }, e.note),
      e.attachmentIds.length > 0 && h("div", { class: "photos" }, e.attachmentIds.map(photo)))));

  const photos = h("div", { class: "photos", testid: "case-photos" },
    c.beforePhotos.map((a) => photo(a.attachmentId)), c.afterPhotos.map((a) => photo(a.attachmentId)));

  const actions = h("div", { class: "actions", testid: "case-actions" });
  const role = session.me.user.role;
  const expected = { caseId: c.caseId, expectedVersion: c.version };
  if (role === Role.DISPATCHER) {
    if (c.state === CaseState.PENDING_TRIAGE) {
      actions.append(h("button", { testid: "accept-btn", onclick: () => act(() => dispatch.acceptCase(expected)) }, t("accept")));
    }
    if (c.state === CaseState.RESOLVED) {
      actions.append(
        h("button", { testid: "verify-pass", onclick: () => act(() => dispatch.verifyCase({ ...expected, passed: true })) }, t("verifyPass")),
        h("button", {
          testid: "verify-fail",
          onclick: () => inlineForm(actions, { label: t("note"), submitLabel: t("verifyFail"), submit: (note) => act(() => dispatch.verifyCase({ ...expected, passed: false, note })) }),
        }, t("verifyFail")));
    }
  }
  if (role === Role.GRID_LEADER && c.state === CaseState.RESOLVED && c.reporterUserId === session.me.user.userId) {
    actions.append(h("button", { testid: "verify-pass", onclick: () => act(() => report.verifyCase({ ...expected, passed: true })) }, t("verifyPass")));
  }
  if (role === Role.DEPARTMENT_STAFF) {
    if (c.state === CaseState.DISPATCHED) {
      actions.append(h("button", { testid: "assignment-accept", onclick: () => act(() => department.acceptAssignment(expected)) }, t("acceptAssignment")));
    }
    if (c.state === CaseState.DISPATCHED || c.state === CaseState.IN_PROGRESS) {
      actions.append(h("button", {
        testid: "progress-btn",
        onclick: () => inlineForm(actions, { label: t("note"), submitLabel: t("addProgress"), submit: (note) => act(() => department.addProgress({ ...expected, note })) }),
      }, t("addProgress")));
    }
    if (c.state === CaseState.IN_PROGRESS) actions.append(resolveForm(c, act));
  }

  main.append(
    h("p", {}, h("button", { testid: "back", onclick: () => history.back() }, `← ${t("back")}`)),
    h("h2", { testid: "case-title" }, `${t("case")} ${c.caseNumber || c.caseId}`),
    status, actions,
    h("div", { class: "case-layout" },
      h("div", {}, details, h("h3", {}, t("photos")), photos),
      h("div", {}, caseMap([c], c.location.gridCode))),
    h("h3", {}, t("timeline")), timeline);
}

// The result with after-photos: each chosen file is uploaded (ReportService.UploadAttachment),
// then ResolveCase names the attachments.
function resolveForm(c, act) {
  const text = h("textarea", { testid: "resolve-result", rows: 2, cols: 50, placeholder: t("result") });
  const files = h("input", { testid: "resolve-photo", type: "file", accept: "image/jpeg,image/png,image/webp", multiple: true });
  const form = h("form", { class: "resolve", testid: "resolve-form" },
    h("h3", {}, t("resolve")),
    h("label", {}, t("result"), h("br"), text), h("br"),
    h("label", {}, t("photo"), " ", files), " ",
    h("button", { type: "submit", testid: "resolve-submit" }, t("resolve")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    act(async () => {
      const ids = [];
      for (const file of files.files) ids.push((await uploadPhoto(file)).attachmentId);
      await department.resolveCase({ caseId: c.caseId, expectedVersion: c.version, result: text.value, attachmentIds: ids });
    }).catch(() => {});
  });
  return form;
}
