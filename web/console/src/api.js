// The console's only backend: the Connect API of the server that served the page (same origin),
// through @connectrpc/connect-web with the bearer token of the signed-in user. The token lives in
// sessionStorage (this tab only, gone when it closes): never localStorage, never a cookie.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { AdminService } from "./gen/gridline/v1/admin_service_pb.js";
import { AttachmentSchema } from "./gen/gridline/v1/common_pb.js";
import { DepartmentService } from "./gen/gridline/v1/department_service_pb.js";
import { DispatchService } from "./gen/gridline/v1/dispatch_service_pb.js";
import { ReportService, UploadAttachmentRequestSchema } from "./gen/gridline/v1/report_service_pb.js";

const TOKEN_KEY = "gridline.console.token";

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}
export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

const auth = (next) => async (req) => {
  const token = getToken();
  if (token) req.header.set("Authorization", `Bearer ${token}`);
  return next(req);
};

const transport = createConnectTransport({ baseUrl: location.origin, interceptors: [auth] });

export const admin = createClient(AdminService, transport);
export const report = createClient(ReportService, transport);
export const dispatch = createClient(DispatchService, transport);
export const department = createClient(DepartmentService, transport);

export { Code, ConnectError };

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function envelope(flags, data) {
  const out = new Uint8Array(5 + data.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.length);
  out.set(data, 5);
  return out;
}

// ReportService.UploadAttachment is a client stream, which fetch cannot send as a stream (so
// connect-web does not offer it); the server reads a client stream's whole body before the call
// starts anyway, so the console sends the Connect streaming protocol's envelopes in one body:
// the metadata, then chunks of at most 1 MiB. Returns the stored Attachment.
export async function uploadPhoto(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const sha256 = hex(await crypto.subtle.digest("SHA-256", bytes));
  const parts = [envelope(0, toBinary(UploadAttachmentRequestSchema, create(UploadAttachmentRequestSchema, {
    part: { case: "metadata", value: { sha256, sizeBytes: BigInt(bytes.length), fileName: file.name || "" } },
  })))];
  const chunk = 1 << 20;
  for (let i = 0; i < bytes.length; i += chunk) {
    parts.push(envelope(0, toBinary(UploadAttachmentRequestSchema, create(UploadAttachmentRequestSchema, {
      part: { case: "chunk", value: bytes.subarray(i, i + chunk) },
    }))));
  }
  const response = await fetch("/gridline.v1.ReportService/UploadAttachment", {
    method: "POST",
    headers: {
      "Content-Type": "application/connect+proto",
      "Connect-Protocol-Version": "1",
      Authorization: `Bearer ${getToken()}`,
    },
    body: new Blob(parts),
  });
  const body = new Uint8Array(await response.arrayBuffer());
  if (!response.ok) {
    throw new ConnectError(new TextDecoder().decode(body) || `HTTP ${response.status}`, Code.Unknown);
  }
  let attachment = null;
  for (let at = 0; at + 5 <= body.length;) {
    const flags = body[at];
    const length = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0);
    const data = body.subarray(at + 5, at + 5 + length);
    at += 5 + length;
    if (flags & 2) {
      const end = JSON.parse(new TextDecoder().decode(data) || "{}");
      if (end.error) {
        const code = Object.entries(Code).find(([k]) => k.replace(/([A-Z])/g, "_$1").toLowerCase().slice(1) === end.error.code);
        throw new ConnectError(end.error.message || end.error.code, code ? code[1] : Code.Unknown);
      }
    } else {
      attachment = fromBinary(AttachmentSchema, data);
    }
  }
  if (!attachment) throw new ConnectError("the upload got no answer", Code.Unknown);
  return attachment;
}

// A photo as an object URL (DownloadAttachment is a server stream: the metadata, then chunks).
const photoUrls = new Map();
export async function photoUrl(attachmentId) {
  if (photoUrls.has(attachmentId)) return photoUrls.get(attachmentId);
  const chunks = [];
  let type = "application/octet-stream";
  for await (const part of report.downloadAttachment({ attachmentId })) {
    if (part.part.case === "attachment") type = part.part.value.contentType;
    else if (part.part.case === "chunk") chunks.push(part.part.value);
  }
  const url = URL.createObjectURL(new Blob(chunks, { type }));
  photoUrls.set(attachmentId, url);
  return url;
}

// Runs `watch(afterCursor, signal)` (an async iterable of WatchEvent) until `signal` aborts,
// resuming from the last cursor after a broken stream, with a growing pause. `onEvent` gets
// every CaseEvent; `onLive` is called with true at each start (the first heartbeat) and false
// when the stream broke.
export async function follow(watch, afterCursor, signal, onEvent, onLive) {
  let cursor = afterCursor;
  let pause = 500;
  while (!signal.aborted) {
    try {
      for await (const message of watch(cursor, signal)) {
        pause = 500;
        if (message.kind.case === "heartbeat") {
          cursor = message.kind.value.cursor;
          onLive(true);
        } else if (message.kind.case === "event") {
          cursor = message.kind.value.cursor;
          onEvent(message.kind.value);
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof ConnectError && e.code === Code.OutOfRange) cursor = "";  // expired
      if (e instanceof ConnectError && e.code === Code.Unauthenticated) return onLive(false, e);
    }
    onLive(false);
    await new Promise((resolve) => setTimeout(resolve, pause));
    pause = Math.min(pause * 2, 15000);
  }
}

export function errorText(e) {
  if (e instanceof ConnectError) return `${Code[e.code] || e.code}: ${e.rawMessage}`;
  return String(e && e.message ? e.message : e);
}
