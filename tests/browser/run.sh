#!/usr/bin/env bash
# ctest browser_walk and connect_web: Debian's Chromium (headless), driven by playwright-core,
# against a real gridline-server --demo on SQLite whose HTTP endpoint on loopback serves the web
# console (<build>/web/console, CMake target gridline_console). The npm packages are pinned by
# package-lock.json and installed with `npm ci` into <build>/browser_tests (again only when the
# lock file changed); the API's code is generated from proto/ at test time by protoc-gen-es.
# Screenshots go to <build>/browser_tests/out/<test>/. Exit 77 (ctest: skipped) when node, npm
# or chromium is missing (deploy/install-deps.sh --test installs them).
#
#   run.sh browser_walk|connect_web BUILD_DIR SOURCE_DIR SERVER_BINARY
set -euo pipefail
mode=$1
build=$2
source=$3
server=$4

chromium=${GRIDLINE_CHROMIUM:-$(command -v chromium || true)}
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 || [[ -z "$chromium" ]]; then
  echo "$mode: node, npm or chromium is not installed; skipped"
  exit 77
fi
console="$build/web/console"
if [[ ! -f "$console/index.html" ]]; then
  echo "$mode: $console/index.html is missing: build the console (cmake --build $build --target gridline_console)" >&2
  exit 1
fi
work="$build/browser_tests"
mkdir -p "$work"
# The two tests may run at once (ctest -j2): one installs, the other waits.
exec 9>"$work/.lock"
flock 9
cp "$source/tests/browser/package.json" "$source/tests/browser/package-lock.json" "$work/"
cp "$source/tests/browser/"*.mjs "$source/tests/browser/page.js" "$work/"
cd "$work"
if ! cmp -s package-lock.json node_modules/.gridline-package-lock.json; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.gridline-package-lock.json
fi
if [[ ! -f gen/.stamp ]] || [[ -n "$(find "$source/proto/gridline/v1" -newer gen/.stamp -name '*.proto')" ]]; then
  rm -rf gen
  mkdir gen
  (cd "$source/proto" && protoc -I. --plugin=protoc-gen-es="$work/node_modules/.bin/protoc-gen-es" \
    --es_out="$work/gen" --es_opt=target=js,import_extension=js \
    gridline/v1/*.proto google/rpc/*.proto)
  touch gen/.stamp
fi
flock -u 9

out="$work/out/$mode"
rm -rf "$out"
mkdir -p "$out"
source "$source/tests/http_server.sh"
grpc_port=$(free_port)
http_port=$(free_port)
page_port=$(free_port)  # connect_web: the page's own origin (allowed by CORS)
cat >"$tmp/server.textproto" <<CONFIG
listen_address: "127.0.0.1:$grpc_port"
store { sqlite { path: "$tmp/gridline.db" } }
organisation_file: "$source/deploy/demo/organisation.textproto"
demo: true
http {
  listen_address: "127.0.0.1:$http_port"
  console_dir: "$console"
  cors_allowed_origins: "http://127.0.0.1:$page_port"
}
CONFIG
start_server "$mode" "$server" --config "$tmp/server.textproto"
status=0
case "$mode" in
  browser_walk) node walk.mjs "http://127.0.0.1:$http_port" "$chromium" "$out" || status=$? ;;
  connect_web) node connect_web.mjs "http://127.0.0.1:$http_port" "$chromium" "$out" "$page_port" || status=$? ;;
  *) echo "run.sh: unknown test $mode" >&2; status=2 ;;
esac
echo "$mode: screenshots in $out"
stop_server "$mode" "$status"
