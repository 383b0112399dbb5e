// Chinese and English labels. The language is kept in sessionStorage with the token's tab.
const LABELS = {
  title: ["网格化管理平台", "Grid management console"],
  token: ["令牌", "Token"],
  login: ["登录", "Sign in"],
  logout: ["退出", "Sign out"],
  loginHint: ["请输入管理员为您签发的令牌", "Enter the bearer token an operator issued to you"],
  lang: ["English", "中文"],
  queue: ["受理队列", "Triage queue"],
  inbox: ["部门待办", "Department inbox"],
  cases: ["案件", "Cases"],
  map: ["地图", "Map"],
  figures: ["考核统计", "Figures"],
  live: ["实时", "live"],
  offline: ["连接中断，正在重连", "disconnected, reconnecting"],
  empty: ["暂无", "Nothing here"],
  case: ["案件", "Case"],
  caseNumber: ["案件编号", "Case number"],
  state: ["状态", "State"],
  category: ["类别", "Category"],
  description: ["描述", "Description"],
  grid: ["网格", "Grid"],
  address: ["地址", "Address"],
  urgency: ["紧急程度", "Urgency"],
  observed: ["发现时间", "Observed"],
  deadline: ["处置期限", "Deadline"],
  lead: ["主办部门", "Lead department"],
  reason: ["原因", "Reason"],
  note: ["说明", "Note"],
  open: ["查看", "Open"],
  accept: ["立案派遣", "Accept and file"],
  reject: ["作废", "Reject"],
  duplicate: ["合并重复", "Mark duplicate"],
  findDuplicates: ["查找重复", "Find duplicates"],
  route: ["改派", "Re-route"],
  routeTo: ["改派至", "Route to"],
  verifyPass: ["核查通过结案", "Verify: pass and close"],
  verifyFail: ["核查不通过（返工）", "Verify: fail (rework)"],
  extensions: ["延期申请", "Extension requests"],
  approve: ["批准", "Approve"],
  deny: ["驳回", "Deny"],
  requested: ["申请期限", "Requested deadline"],
  acceptAssignment: ["签收", "Accept"],
  returnCase: ["退回（非本部门职责）", "Return (not ours)"],
  progress: ["进展", "Progress"],
  addProgress: ["添加进展", "Add progress"],
  resolve: ["处置完毕反馈", "Resolve"],
  result: ["处置结果", "Result"],
  photo: ["照片", "Photo"],
  photos: ["照片", "Photos"],
  timeline: ["处置经过", "Timeline"],
  candidates: ["疑似重复案件", "Duplicate candidates"],
  distance: ["距离", "Distance"],
  mergeInto: ["合并到此案件", "Merge into this case"],
  colourBy: ["着色", "Colour by"],
  openCases: ["在办案件数", "Open cases"],
  flags: ["月度三色旗", "Monthly flags"],
  month: ["月份", "Month"],
  unit: ["单位", "Unit"],
  flag: ["旗帜", "Flag"],
  download: ["下载CSV", "Download CSV"],
  statistics: ["统计", "Statistics"],
  from: ["起", "From"],
  to: ["止", "To"],
  load: ["查询", "Load"],
  noFigures: ["仅督查员和运维人员可查看考核数据", "Only supervisors and operators may read the figures"],
  tiles: ["底图", "Tiles"],
  noTiles: ["未配置底图，仅显示网格边界", "No tile server configured: grid boundaries only"],
  back: ["返回", "Back"],
  done: ["已完成", "Done"],
  reporter: ["上报人", "Reporter"],
  failed: ["操作失败", "Failed"],
  choose: ["请选择", "Choose"],
  when: ["时间", "When"],
  actor: ["操作人", "Actor"],
  event: ["事件", "Event"],
  // The figures (admin_service.proto, Statistics; the CSV keeps the field names).
  foundCount: ["发现数", "Found"],
  solvedCount: ["解决数", "Solved"],
  dueCount: ["应结案数", "Due"],
  postponedCount: ["延期数", "Postponed"],
  closedCount: ["结案数", "Closed"],
  closedOnTimeCount: ["按期结案数", "Closed on time"],
  lateCount: ["超期数", "Late"],
  resolvedCount: ["处置反馈数", "Resolved"],
  reworkedCount: ["返工数", "Reworked"],
  openOverdueCount: ["在办超期数", "Open and overdue"],
  supervisionOrderCount: ["督办数", "Supervision orders"],
  disposalRate: ["处置率", "Disposal rate"],
  closureRate: ["结案率", "Closure rate"],
  onTimeRate: ["按期结案率", "On-time rate"],
  reworkRate: ["返工率", "Rework rate"],
  unit_kind: ["单位类型", "Unit kind"],
  unit_code: ["单位编码", "Unit code"],
  unit_name: ["单位名称", "Unit name"],
  found: ["发现", "Found"],
  solved: ["解决", "Solved"],
  disposal_rate: ["处置率", "Disposal rate"],
  closure_rate: ["结案率", "Closure rate"],
  on_time_rate: ["按期结案率", "On-time rate"],
  rework_rate: ["返工率", "Rework rate"],
  explanation: ["说明", "Explanation"],
};

const STATES = {
  PENDING_TRIAGE: ["待受理", "Pending triage"], DISPATCHED: ["已派遣", "Dispatched"],
  IN_PROGRESS: ["处置中", "In progress"], RETURNED: ["已退回", "Returned"],
  RESOLVED: ["待核查", "Resolved"], CLOSED: ["已结案", "Closed"],
  REJECTED: ["已作废", "Rejected"], MERGED: ["已合并", "Merged"],
};
const EVENTS = {
  REPORTED: ["上报", "Reported"], ACCEPTED_FOR_FILING: ["立案", "Filed"],
  REJECTED_INVALID: ["作废", "Rejected"], MARKED_DUPLICATE: ["合并", "Merged as duplicate"],
  CATEGORY_CORRECTED: ["更正类别", "Category corrected"], ROUTED: ["派遣", "Routed"],
  ASSIGNMENT_ACCEPTED: ["签收", "Accepted by department"],
  RETURNED_NOT_RESPONSIBLE: ["退回", "Returned"], EXTENSION_REQUESTED: ["申请延期", "Extension requested"],
  EXTENSION_DECIDED: ["延期审批", "Extension decided"], PROGRESS_ADDED: ["进展", "Progress"],
  CASE_RESOLVED: ["处置反馈", "Resolved"], VERIFICATION_PASSED: ["核查结案", "Verified and closed"],
  VERIFICATION_FAILED: ["核查不通过", "Verification failed"], OVERDUE_WARNING: ["超期预警", "Overdue warning"],
  SUPERVISION_ORDERED: ["督办", "Supervision ordered"], SUPERVISION_ACKNOWLEDGED: ["督办签收", "Supervision acknowledged"],
  SUPERVISION_ANSWERED: ["督办回复", "Supervision answered"], SUPERVISION_ESCALATED: ["督办升级", "Supervision escalated"],
};

let lang = sessionStorage.getItem("gridline.console.lang") === "en" ? 1 : 0;

export function language() {
  return lang ? "en" : "zh";
}
export function toggleLanguage() {
  lang = 1 - lang;
  sessionStorage.setItem("gridline.console.lang", language());
  document.documentElement.lang = lang ? "en" : "zh-CN";
}
export function t(key) {
  return (LABELS[key] || [key, key])[lang];
}
export function stateLabel(name) {
  return (STATES[name] || [name, name])[lang];
}
export function eventLabel(name) {
  return (EVENTS[name] || [name, name])[lang];
}
