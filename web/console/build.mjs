// Builds the web console: copies src/ into the work directory, generates the API's code there
// from proto/ with protoc and protoc-gen-es (from node_modules, pinned by package-lock.json),
// and bundles it with esbuild into the output directory: index.html plus assets/ whose file
// names carry a content hash (served with a long Cache-Control). Run by CMake (web/CMakeLists.txt):
//
//   node build.mjs --source web/console --work BUILD/web/console-work --out BUILD/web/console \
//     --proto proto --protoc /usr/bin/protoc
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) {
  args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
}
for (const name of ["source", "work", "out", "proto"]) {
  if (!args[name]) throw new Error(`build.mjs: --${name} is required`);
}
const protoc = args.protoc || "protoc";
const work = path.resolve(args.work);
const src = path.join(work, "src");
const out = path.resolve(args.out);

fs.rmSync(src, { recursive: true, force: true });
fs.cpSync(path.join(args.source, "src"), src, { recursive: true });
fs.mkdirSync(path.join(src, "gen"), { recursive: true });
const protos = [];
for (const dir of ["gridline/v1", "google/rpc"]) {
  for (const f of fs.readdirSync(path.join(args.proto, dir))) {
    if (f.endsWith(".proto")) protos.push(`${dir}/${f}`);
  }
}
execFileSync(protoc, [
  `-I${args.proto}`,
  `--plugin=protoc-gen-es=${path.join(work, "node_modules/.bin/protoc-gen-es")}`,
  `--es_out=${path.join(src, "gen")}`,
  "--es_opt=target=js,import_extension=js",
  ...protos,
], { stdio: "inherit" });

const esbuild = await import(path.join(work, "node_modules/esbuild/lib/main.js"));
fs.rmSync(out, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: [path.join(src, "main.js"), path.join(src, "console.css")],
  bundle: true,
  format: "esm",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  minify: true,
  sourcemap: false,
  outdir: path.join(out, "assets"),
  entryNames: "[name]-[hash]",
  metafile: true,
  logLevel: "warning",
  legalComments: "none",
});
const names = {};
for (const [file, meta] of Object.entries(result.metafile.outputs)) {
  if (meta.entryPoint) names[path.basename(meta.entryPoint)] = "/assets/" + path.basename(file);
}
const html = fs.readFileSync(path.join(src, "index.html"), "utf8")
  .replace("{{APP_JS}}", names["main.js"])
  .replace("{{APP_CSS}}", names["console.css"]);
fs.writeFileSync(path.join(out, "index.html"), html);
fs.copyFileSync(path.join(src, "favicon.svg"), path.join(out, "favicon.svg"));
console.log(`web console: ${out} (${names["main.js"]}, ${names["console.css"]})`);
