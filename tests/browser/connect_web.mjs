// ctest connect_web: @connectrpc/connect-web running in Chromium, from a page of another origin
// (a node HTTP server on PAGE_PORT, listed in http.cors_allowed_origins), against the server's
// Connect endpoint: unary calls in JSON and binary protobuf, a server stream receiving a live
// event, an error with its google.rpc details; then the same page from an origin that is not
// allowed (http://localhost:PAGE_PORT), whose calls the browser must refuse.
//
//   node connect_web.mjs BASE_URL CHROMIUM OUT_DIR PAGE_PORT
import http from "node:http";
import path from "node:path";
import * as esbuild from "esbuild";
import { TOKENS, check, launch } from "./common.mjs";

const [base, executable, out, pagePort] = process.argv.slice(2);
const started = Date.now();

const bundle = await esbuild.build({ entryPoints: ["page.js"], bundle: true, format: "esm", write: false, logLevel: "warning" });
const script = bundle.outputFiles[0].text;
const pageServer = http.createServer((req, res) => {
  if (req.url === "/page.js") {
    res.writeHead(200, { "Content-Type": "text/javascript" });
    res.end(script);
  } else {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end('<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="/page.js"></script>');
  }
});
await new Promise((resolve) => pageServer.listen(Number(pagePort), "127.0.0.1", resolve));

const browser = await launch(executable);
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
  const requests = [];
  page.on("request", (r) => { if (r.url().startsWith(base)) requests.push({ method: r.method(), type: r.headers()["content-type"] || "", url: r.url() }); });
  const responses = [];
  page.on("response", (r) => { if (r.url().startsWith(base)) responses.push(r.headers()); });
  const origin = `http://127.0.0.1:${pagePort}`;
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => document.title === "connect_web ready", null, { timeout: 15000 });

  for (const binary of [false, true]) {
    const what = binary ? "binary" : "JSON";
    requests.length = 0;
    const unary = await page.evaluate(([b, t, bin]) => window.gridline.unary(b, t, bin), [base, TOKENS.leader, binary]);
    check(!unary.error, `unary ${what}: ${JSON.stringify(unary)}`);
    check(unary.userId === "u-leader-001", `unary ${what}: user ${unary.userId}`);
    check(unary.codes.includes("C01_ROAD_DAMAGE") && unary.codes.length >= 20, `unary ${what}: categories ${unary.codes}`);
    const posts = requests.filter((r) => r.method === "POST");
    const wanted = binary ? "application/proto" : "application/json";
    check(posts.length === 2 && posts.every((r) => r.type === wanted), `unary ${what}: requests ${JSON.stringify(posts)}`);
    check(responses.some((h) => h["access-control-allow-origin"] === origin), "Access-Control-Allow-Origin");

    requests.length = 0;
    const watched = await page.evaluate(([b, d, l, bin]) => window.gridline.watch(b, d, l, bin), [base, TOKENS.dispatcher, TOKENS.leader, binary]);
    check(!watched.error && watched.type === "REPORTED" && watched.heartbeats >= 1, `watch ${what}: ${JSON.stringify(watched)}`);
    const streamType = binary ? "application/connect+proto" : "application/connect+json";
    check(requests.some((r) => r.url.endsWith("/WatchQueue") && r.type === streamType), `watch ${what}: ${JSON.stringify(requests)}`);

    const failed = await page.evaluate(([b, t, bin]) => window.gridline.errorDetails(b, t, bin), [base, TOKENS.leader, binary]);
    check(failed.error && failed.code === "InvalidArgument", `error ${what}: ${JSON.stringify(failed)}`);
    check(failed.fields && failed.fields.includes("category_code"), `error ${what}: details ${JSON.stringify(failed)}`);
    console.log(`connect_web: ${what}: unary, stream (case ${watched.caseId}) and error details OK`);
  }
  await page.screenshot({ path: path.join(out, "01-allowed-origin.png") });

  // The preflight the browser sent first (the Authorization header needs one), as the server
  // answers it to the allowed origin.
  const preflight = await fetch(`${base}/gridline.v1.AdminService/GetCurrentUser`, {
    method: "OPTIONS",
    headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type" },
  });
  check(preflight.status === 204 && preflight.headers.get("access-control-allow-origin") === origin &&
    /authorization/i.test(preflight.headers.get("access-control-allow-headers") || ""), `preflight from ${origin}: ${preflight.status}`);

  // Not an allowed origin: the server answers 403 and the browser gives the page nothing.
  const other = `http://localhost:${pagePort}`;
  const refused = await fetch(`${base}/gridline.v1.AdminService/GetCurrentUser`, {
    method: "OPTIONS",
    headers: { Origin: other, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type" },
  });
  check(refused.status === 403 && !refused.headers.get("access-control-allow-origin"), `preflight from ${other}: ${refused.status}`);
  await page.goto(`${other}/`);
  await page.waitForFunction(() => document.title === "connect_web ready", null, { timeout: 15000 });
  const blocked = await page.evaluate(([b, t]) => window.gridline.unary(b, t, false), [base, TOKENS.leader]);
  check(blocked.error && blocked.code !== "Unauthenticated" && !blocked.userId, `call from ${other}: ${JSON.stringify(blocked)}`);
  await page.screenshot({ path: path.join(out, "02-refused-origin.png") });
  console.log(`connect_web: a call from ${other} is refused (${blocked.code}: ${blocked.message})`);
  console.log(`connect_web: OK in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} finally {
  await browser.close();
  pageServer.close();
}
