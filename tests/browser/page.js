// The page of ctest connect_web: @connectrpc/connect-web inside Chromium, bundled by esbuild.
// connect_web.mjs calls these functions with page.evaluate and checks what they return.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { BadRequestSchema } from "./gen/google/rpc/error_details_pb.js";
import { AdminService } from "./gen/gridline/v1/admin_service_pb.js";
import { CaseEventType } from "./gen/gridline/v1/common_pb.js";
import { DispatchService } from "./gen/gridline/v1/dispatch_service_pb.js";
import { ReportService } from "./gen/gridline/v1/report_service_pb.js";

function clients(baseUrl, token, useBinaryFormat) {
  const transport = createConnectTransport({
    baseUrl,
    useBinaryFormat,
    interceptors: [(next) => (req) => {
      req.header.set("Authorization", `Bearer ${token}`);
      return next(req);
    }],
  });
  return {
    admin: createClient(AdminService, transport),
    report: createClient(ReportService, transport),
    dispatch: createClient(DispatchService, transport),
  };
}

function failure(e) {
  if (e instanceof ConnectError) return { code: Code[e.code], message: e.rawMessage, error: true };
  return { code: "not a ConnectError", message: String(e), error: true };
}

window.gridline = {
  // A unary call (GetCurrentUser and ListReportCategories) in JSON or binary protobuf.
  async unary(baseUrl, token, binary) {
    try {
      const c = clients(baseUrl, token, binary);
      const me = await c.admin.getCurrentUser({});
      const categories = await c.report.listReportCategories({ pageSize: 100 });
      return { userId: me.user.userId, codes: categories.categories.map((x) => x.code) };
    } catch (e) {
      return failure(e);
    }
  },

  // A server stream: the dispatcher watches the queue; once the stream is live (its first
  // heartbeat) the grid leader reports, and the REPORTED event of that case must arrive.
  async watch(baseUrl, dispatcherToken, leaderToken, binary) {
    const signal = AbortSignal.timeout(15000);
    const d = clients(baseUrl, dispatcherToken, binary);
    const l = clients(baseUrl, leaderToken, binary);
    let caseId = "";
    let heartbeats = 0;
    try {
      for await (const message of d.dispatch.watchQueue({}, { signal })) {
        if (message.kind.case === "heartbeat") {
          heartbeats++;
          if (!caseId) {
            const answer = await l.report.submitReport({
              requestId: crypto.randomUUID(),
              categoryCode: "C02_STANDING_WATER",
              description: `connect_web watch ${Date.now()}`,
              location: { gridCode: "410184001001002" },
            });
            caseId = answer.case.caseId;
          }
        } else if (message.kind.case === "event") {
          const e = message.kind.value;
          if (e.caseId === caseId && e.type === CaseEventType.REPORTED) {
            return { caseId, type: CaseEventType[e.type], heartbeats, cursor: e.cursor };
          }
        }
      }
      return { error: true, code: "stream ended", caseId };
    } catch (e) {
      return { ...failure(e), caseId };
    }
  },

  // An error with details: an unknown category gets INVALID_ARGUMENT with a google.rpc.BadRequest
  // naming the field.
  async errorDetails(baseUrl, token, binary) {
    try {
      await clients(baseUrl, token, binary).report.submitReport({
        requestId: crypto.randomUUID(),
        categoryCode: "NO_SUCH_CATEGORY",
        description: "connect_web error",
        location: { gridCode: "410184001001001" },
      });
      return { error: false };
    } catch (e) {
      if (!(e instanceof ConnectError)) return failure(e);
      const bad = e.findDetails(BadRequestSchema);
      return {
        error: true,
        code: Code[e.code],
        message: e.rawMessage,
        fields: bad.flatMap((b) => b.fieldViolations.map((v) => v.field)),
      };
    }
  },
};
document.title = "connect_web ready";
