// An independent Connect client against a running gridline-server: @connectrpc/connect-node over
// HTTP/1.1, with code that protoc-gen-es generated from proto/ at test time (run.sh). Exercises
// both encodings, an error with google.rpc.BadRequest details, a missing token, and a
// server-streaming watch that receives a live event.
//
//   node client.mjs HTTP_PORT GRID_LEADER_TOKEN
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { BadRequestSchema } from "./gen/google/rpc/error_details_pb.js";
import { Urgency } from "./gen/gridline/v1/common_pb.js";
import { ReportService } from "./gen/gridline/v1/report_service_pb.js";

const [port, token] = process.argv.slice(2);
const headers = { Authorization: `Bearer ${token}` };
const timer = setTimeout(() => {
  console.error("FAIL: no answer within 60 s");
  process.exit(1);
}, 60000);

function check(condition, what) {
  if (!condition) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

function report(requestId) {
  return {
    requestId,
    categoryCode: "C01_ROAD_DAMAGE",
    description: "井盖缺失",
    location: {
      gridCode: "410184001001001",
      coordinates: { latitude: 34.396, longitude: 113.739 },
      address: "新郑市郑韩路18号",
    },
    urgency: Urgency.URGENT,
  };
}

for (const useBinaryFormat of [false, true]) {
  const encoding = useBinaryFormat ? "proto" : "json";
  const transport = createConnectTransport({
    baseUrl: `http://127.0.0.1:${port}`,
    httpVersion: "1.1",
    useBinaryFormat,
  });
  const reports = createClient(ReportService, transport);
  const id = `node-${encoding}-${process.pid}`;

  const submitted = await reports.submitReport(report(id), { headers });
  check(submitted.case?.caseId, `${encoding}: SubmitReport made case ${submitted.case?.caseId}`);
  const again = await reports.submitReport(report(id), { headers });
  check(again.case.caseId === submitted.case.caseId, `${encoding}: a retry is the same case`);
  const read = await reports.getCase({ caseId: submitted.case.caseId }, { headers });
  check(read.description === "井盖缺失", `${encoding}: GetCase reads it back`);

  try {
    await reports.submitReport({ requestId: `${id}-bad` }, { headers });
    check(false, `${encoding}: an empty report is refused`);
  } catch (e) {
    const error = ConnectError.from(e);
    check(error.code === Code.InvalidArgument, `${encoding}: an empty report is invalid_argument`);
    const details = error.findDetails(BadRequestSchema);
    const fields = details.flatMap((d) => d.fieldViolations.map((v) => v.field));
    check(fields.length > 0, `${encoding}: with field violations (${fields.join(", ")})`);
  }

  try {
    await reports.listMyCases({});
    check(false, `${encoding}: a call without a token is refused`);
  } catch (e) {
    check(ConnectError.from(e).code === Code.Unauthenticated,
          `${encoding}: a call without a token is unauthenticated`);
  }

  // The watch: the first message is a heartbeat; a report made then arrives as an event. Leaving
  // the loop does not end the HTTP request in connect-es: the signal does.
  const seen = new Set();
  let target;
  let heartbeats = 0;
  const watch = new AbortController();
  for await (const message of reports.watchCases({}, { headers, signal: watch.signal })) {
    if (message.kind.case === "heartbeat") {
      heartbeats++;
      if (target === undefined) {
        target = (await reports.submitReport(report(`${id}-watch`), { headers })).case.caseId;
      }
    } else if (message.kind.case === "event") {
      seen.add(message.kind.value.caseId);
    }
    if (target !== undefined && seen.has(target)) break;
  }
  watch.abort();  // the client leaves: the server ends the stream
  check(heartbeats > 0 && seen.has(target), `${encoding}: WatchCases streamed the event of ${target}`);
}

clearTimeout(timer);
console.log("connect-node: every check passed");
process.exit(0);  // without waiting for idle keep-alive connections to time out
