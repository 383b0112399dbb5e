// ctest browser_walk: the seven-step loop through the web console in Chromium. A grid leader
// reports (a Connect call from node, as a handset would), the dispatcher sees it arrive in the
// live queue without a reload and files it, the department (SZ) accepts it and resolves it with
// a photo uploaded from the page, the dispatcher verifies it, and the case page shows it CLOSED
// with its whole timeline. Also: the zh/en toggle, and the token is kept in neither
// localStorage nor a cookie. Every wait has a deadline; a screenshot is taken at each step.
//
//   node walk.mjs BASE_URL CHROMIUM OUT_DIR
import path from "node:path";
import { TOKENS, check, launch, png, submitReport } from "./common.mjs";

const [base, executable, out] = process.argv.slice(2);
const WAIT = { timeout: 15000 };
let shot = 0;
const snap = (page, name) => page.screenshot({ path: path.join(out, `${String(++shot).padStart(2, "0")}-${name}.png`), fullPage: true });

const started = Date.now();
const browser = await launch(executable);
try {
  const newPage = async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
    return page;
  };
  const signIn = async (page, token, landing) => {
    await page.goto(`${base}/`);
    await page.fill("[data-testid=login-token]", token);
    await page.click("[data-testid=login-submit]");
    await page.waitForURL(`${base}${landing}`, WAIT);
  };

  // The dispatcher's queue, live.
  const dispatcher = await newPage();
  const response = await dispatcher.goto(`${base}/`);
  const csp = response.headers()["content-security-policy"] || "";
  check(csp.includes("script-src 'self'") && csp.includes("frame-ancestors 'none'"), `CSP: ${csp}`);
  await signIn(dispatcher, TOKENS.dispatcher, "/queue");
  await dispatcher.waitForSelector("[data-testid=live-status][data-live=true]", WAIT);
  await snap(dispatcher, "dispatcher-queue");
  // A mark that a reload would wipe.
  await dispatcher.evaluate(() => { window.__gridlineNoReload = true; });

  // Step 1: the grid leader reports.
  const description = `路面塌陷 browser_walk ${Date.now()}`;
  const reported = await submitReport(base, description);
  const caseId = reported.caseId;
  check(reported.state === "PENDING_TRIAGE", `reported state ${reported.state}`);

  // Step 2: it arrives in the queue without a reload.
  const row = dispatcher.locator(`[data-testid=queue-row][data-case-id="${caseId}"]`);
  await row.waitFor(WAIT);
  check(await dispatcher.evaluate(() => window.__gridlineNoReload === true), "the queue page was reloaded");
  check((await row.textContent()).includes(description), "the queue row shows the description");
  await snap(dispatcher, "report-arrived-live");

  // Steps 3-4: file and dispatch; the row leaves the queue.
  await row.locator("[data-testid=accept-btn]").click();
  await row.waitFor({ state: "detached", ...WAIT });
  await snap(dispatcher, "filed");

  // The department accepts and resolves with a photo.
  const staff = await newPage();
  await signIn(staff, TOKENS.staffSz, "/inbox");
  const inboxRow = staff.locator(`[data-testid=inbox-row][data-case-id="${caseId}"]`);
  await staff.locator(`[data-testid=inbox-row][data-case-id="${caseId}"][data-state=DISPATCHED]`).waitFor(WAIT);
  await snap(staff, "department-inbox");
  await inboxRow.locator("[data-testid=assignment-accept]").click();
  await staff.locator(`[data-testid=inbox-row][data-case-id="${caseId}"][data-state=IN_PROGRESS]`).waitFor(WAIT);
  await inboxRow.locator("[data-testid=case-link]").click();
  await staff.waitForURL(`${base}/case/${caseId}`, WAIT);
  await staff.fill("[data-testid=resolve-result]", "已修复路面 repaired");
  await staff.setInputFiles("[data-testid=resolve-photo]", { name: "after.png", mimeType: "image/png", buffer: png(7) });
  await snap(staff, "resolve-form");
  await staff.click("[data-testid=resolve-submit]");
  await staff.waitForSelector("[data-testid=case-state][data-state=RESOLVED]", WAIT);
  // The after-photo downloads through the API and shows.
  await staff.waitForFunction(() => {
    const img = document.querySelector("[data-testid=case-photos] img[data-testid=photo]");
    return img && img.src.startsWith("blob:") && img.complete && img.naturalWidth === 32;
  }, null, WAIT);
  await snap(staff, "resolved-with-photo");

  // Step 6: the acceptance center verifies; the case closes.
  await dispatcher.goto(`${base}/case/${caseId}`);
  await dispatcher.click("[data-testid=verify-pass]", WAIT);
  await dispatcher.waitForSelector("[data-testid=case-state][data-state=CLOSED]", WAIT);
  await dispatcher.waitForSelector("[data-testid=timeline-item][data-type=VERIFICATION_PASSED]", WAIT);
  const types = await dispatcher.$$eval("[data-testid=timeline-item]", (items) => items.map((i) => i.dataset.type));
  const expected = ["REPORTED", "ACCEPTED_FOR_FILING", "ROUTED", "ASSIGNMENT_ACCEPTED", "CASE_RESOLVED", "VERIFICATION_PASSED"];
  check(JSON.stringify(types) === JSON.stringify(expected), `timeline ${JSON.stringify(types)}`);
  const resolvedItem = dispatcher.locator("[data-testid=timeline-item][data-type=CASE_RESOLVED] img[data-testid=photo]");
  check((await resolvedItem.count()) === 1, "the CASE_RESOLVED event shows its photo");
  check((await dispatcher.textContent("[data-testid=case-caseNumber]")).startsWith("410184-"), "case number");
  await dispatcher.locator("[data-testid=case-map] [data-testid=map-point]").waitFor(WAIT);
  await snap(dispatcher, "closed-timeline");

  // zh/en.
  check((await dispatcher.textContent("[data-testid=nav-queue]")) === "受理队列", "Chinese labels first");
  await dispatcher.click("[data-testid=lang-toggle]");
  await dispatcher.waitForFunction(() => document.querySelector("[data-testid=nav-queue]")?.textContent === "Triage queue", null, WAIT);
  await dispatcher.waitForSelector("[data-testid=case-state][data-state=CLOSED]", WAIT);
  check((await dispatcher.textContent("[data-testid=case-state]")) === "Closed", "English state label");
  await snap(dispatcher, "english");

  // The token: in this tab's sessionStorage only.
  for (const [page, token] of [[dispatcher, TOKENS.dispatcher], [staff, TOKENS.staffSz]]) {
    const stored = await page.evaluate(() => ({
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      cookie: document.cookie,
    }));
    check(!stored.local.includes(token), "token in localStorage");
    check(!stored.cookie.includes(token), "token in document.cookie");
    check(stored.session.includes(token), "token kept in sessionStorage");
    const cookies = await page.context().cookies();
    check(cookies.length === 0, `cookies: ${JSON.stringify(cookies)}`);
  }
  // Sign out forgets it.
  await dispatcher.click("[data-testid=logout]");
  await dispatcher.waitForSelector("[data-testid=login-form]", WAIT);
  check(!(await dispatcher.evaluate(() => JSON.stringify({ ...sessionStorage }))).includes(TOKENS.dispatcher), "token after sign-out");
  await snap(dispatcher, "signed-out");

  // The map and the figures pages render from the API (supervisor-only figures say so).
  const staffMap = staff;
  await staffMap.goto(`${base}/map`);
  await staffMap.waitForSelector("[data-testid=map-grid]", WAIT);
  check((await staffMap.locator("[data-testid=map-grid]").count()) === 12, "12 unit grids on the map");
  await snap(staffMap, "map");

  // The figures: a supervisor's statistics count the case just filed and closed, and download
  // as CSV.
  const supervisor = await newPage();
  await signIn(supervisor, TOKENS.supervisor, "/figures");
  await supervisor.waitForSelector("[data-testid=stat-solvedCount]", WAIT);
  const solved = Number(await supervisor.textContent("[data-testid=stat-solvedCount]"));
  check(solved >= 1, `solvedCount ${solved} after the walk filed and closed a case`);
  const [download] = await Promise.all([
    supervisor.waitForEvent("download", WAIT),
    supervisor.click("[data-testid=stats-csv]"),
  ]);
  const csv = await new Promise((resolve, reject) => {
    download.createReadStream().then((stream) => {
      const parts = [];
      stream.on("data", (d) => parts.push(d));
      stream.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
      stream.on("error", reject);
    }, reject);
  });
  check(download.suggestedFilename() === "gridline-statistics.csv", `CSV name ${download.suggestedFilename()}`);
  check(csv.replace(/^\ufeff/, "").startsWith("figure,value\r\n"), `CSV header: ${JSON.stringify(csv.slice(0, 40))}`);
  check(csv.includes(`solvedCount,${solved}\r\n`), "the CSV holds the solved count shown");
  await snap(supervisor, "figures");
  console.log(`browser_walk: OK in ${((Date.now() - started) / 1000).toFixed(1)} s, case ${caseId}`);
} finally {
  await browser.close();
}
