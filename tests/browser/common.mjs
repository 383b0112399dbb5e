// What both browser tests share: Chromium from Debian driven by playwright-core, the demo's
// tokens, a report submitted as a grid leader, a small valid PNG.
import crypto from "node:crypto";
import zlib from "node:zlib";
import { chromium } from "playwright-core";

export const TOKENS = {
  leader: "demo-leader-1-a5afbedb015471db",          // cell 410184001001001
  dispatcher: "demo-dispatcher-1-1a9ab5fd58ee6af0",  // street 410184001
  staffSz: "demo-staff-sz-1-7df0788b89946940",       // SZ: leads C01_ROAD_DAMAGE
  supervisor: "demo-supervisor-1-64529550376b9282", // district 410184, read-only
};

export async function launch(executablePath) {
  const args = [];
  // Chromium's sandbox needs user namespaces that root in a container does not get.
  if (process.getuid && process.getuid() === 0) args.push("--no-sandbox");
  return chromium.launch({ executablePath, headless: true, args });
}

export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

// A Connect unary call with JSON from node (the grid leader's handset stands in).
export async function callJson(base, token, method, body) {
  const response = await fetch(`${base}/${method}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method}: HTTP ${response.status} ${JSON.stringify(json)}`);
  return json;
}

export async function submitReport(base, description) {
  const answer = await callJson(base, TOKENS.leader, "gridline.v1.ReportService/SubmitReport", {
    requestId: crypto.randomUUID(),
    categoryCode: "C01_ROAD_DAMAGE",
    description,
    location: { gridCode: "410184001001001", coordinates: { latitude: 34.397, longitude: 113.739 }, address: "郑韩路 12 号" },
    urgency: "NORMAL",
  });
  return answer.case;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}
// A 32x24 RGB PNG of a colour gradient, different for each `seed`.
export function png(seed = 1) {
  const w = 32, hgt = 24;
  const raw = Buffer.alloc((w * 3 + 1) * hgt);
  for (let y = 0; y < hgt; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 8 + seed * 37) & 255;
      raw[o + 1] = (y * 10) & 255;
      raw[o + 2] = (seed * 91) & 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(hgt, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}
