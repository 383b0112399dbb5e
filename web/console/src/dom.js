// A few DOM helpers: the console builds its pages with plain elements (no framework).
import { timestampDate } from "@bufbuild/protobuf/wkt";

// h("button", {testid: "accept", onclick}, "text", child...) -> HTMLElement. Attributes: `testid`
// becomes data-testid, `class`, `on*` handlers, anything else set as an attribute.
export function h(tag, attrs = {}, ...children) {
  const svg = ["svg", "g", "path", "polygon", "circle", "image", "title", "text", "rect"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "testid") el.setAttribute("data-testid", value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function formatTime(ts) {
  if (!ts) return "";
  const d = timestampDate(ts);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// An inline form under `anchor`: a text input (or a select of `options`) and a submit button.
// `submit(value)` may throw; its error is shown in the form.
export function inlineForm(anchor, { label, options, submitLabel, submit }) {
  anchor.querySelector(".inline-form")?.remove();
  const input = options
    ? h("select", { testid: "prompt-input" }, options.map(([value, text]) => h("option", { value }, text)))
    : h("input", { testid: "prompt-input", type: "text", placeholder: label });
  const error = h("span", { class: "error", testid: "prompt-error" });
  const form = h("form", { class: "inline-form", testid: "prompt-form" },
    h("label", {}, label, " ", input),
    h("button", { type: "submit", testid: "prompt-submit" }, submitLabel),
    error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await submit(input.value);
      form.remove();
    } catch (err) {
      error.textContent = String(err.message || err);
    }
  });
  anchor.append(form);
  input.focus();
}

// Downloads `rows` (arrays) as a CSV file made in the browser.
export function downloadCsv(name, rows) {
  const quote = (v) => {
    const s = v === undefined || v === null ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const text = "\ufeff" + rows.map((r) => r.map(quote).join(",")).join("\r\n") + "\r\n";
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
