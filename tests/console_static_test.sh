#!/usr/bin/env bash
# ctest console_static: the HTTP endpoint serving a console directory (HttpConfig.console_dir),
# checked with curl against a real gridline-server: files with their Content-Type and
# Cache-Control, index.html for client routes, 404 for unknown files, 400 for traversal ("..",
# encoded dots and slashes, backslashes), nothing through a symbolic link out of the directory,
# the security headers, /console-config.json, and the API's routes (/healthz, Connect) first.
#
#   console_static_test.sh SERVER_BINARY SOURCE_DIR
set -euo pipefail
server=$1
source=$2
source "$source/tests/http_server.sh"
fail() { echo "console_static: FAIL: $*" >&2; [[ -f "$tmp/server.log" ]] && cat "$tmp/server.log" >&2; exit 1; }

site="$tmp/site"
mkdir -p "$site/assets" "$tmp/outside"
echo '<!doctype html><title>console index</title>' >"$site/index.html"
echo 'console.log("app")' >"$site/assets/app-ABC123.js"
echo 'body{}' >"$site/assets/app.css"
echo 'secret outside' >"$tmp/outside/secret.txt"
ln -s "$tmp/outside/secret.txt" "$site/secret.txt"
ln -s "$tmp/outside" "$site/outdir"
ln -s "$site/assets/app.css" "$site/inside-link.css"

grpc_port=$(free_port)
http_port=$(free_port)
cat >"$tmp/server.textproto" <<CONFIG
listen_address: "127.0.0.1:$grpc_port"
store { sqlite { path: "$tmp/gridline.db" } }
organisation_file: "$source/deploy/demo/organisation.textproto"
demo: true
http {
  listen_address: "127.0.0.1:$http_port"
  console_dir: "$site"
  console_tile_url: "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
}
CONFIG
start_server console_static "$server" --config "$tmp/server.textproto"
base="http://127.0.0.1:$http_port"

# status PATH: the HTTP status of GET PATH, sent exactly as written.
status() { curl -s --path-as-is -o /dev/null -w '%{http_code}' "$base$1"; }
header() { curl -s --path-as-is -D - -o /dev/null "$base$1" | tr -d '\r' | grep -i "^$2:" | head -1 | cut -d' ' -f2-; }
body() { curl -s --path-as-is "$base$1"; }
expect() { [[ "$2" == "$3" ]] || fail "$1: got '$2', want '$3'"; }

expect "GET /" "$(status /)" 200
body / | grep -q 'console index' || fail "GET / is not index.html"
expect "Content-Type of /" "$(header / content-type)" "text/html; charset=utf-8"
expect "Cache-Control of /" "$(header / cache-control)" "no-cache"
expect "Content-Type of a script" "$(header /assets/app-ABC123.js content-type)" "text/javascript; charset=utf-8"
expect "Cache-Control of an asset" "$(header /assets/app-ABC123.js cache-control)" "public, max-age=31536000, immutable"
expect "Content-Type of CSS" "$(header /assets/app.css content-type)" "text/css; charset=utf-8"
csp=$(header / content-security-policy)
[[ "$csp" == *"script-src 'self'"* && "$csp" == *"frame-ancestors 'none'"* && "$csp" == *"img-src 'self' blob: data: https://*.tiles.example.org"* ]] ||
  fail "Content-Security-Policy: $csp"
[[ "$csp" != *"unsafe"* ]] || fail "Content-Security-Policy allows unsafe sources: $csp"
expect "X-Content-Type-Options" "$(header / x-content-type-options)" "nosniff"
expect "X-Frame-Options" "$(header /assets/app.css x-frame-options)" "DENY"

# Client routes get index.html; unknown files 404.
expect "GET /queue" "$(status /queue)" 200
body /case/abc-123 | grep -q 'console index' || fail "/case/abc-123 is not index.html"
expect "GET /assets/missing.js" "$(status /assets/missing.js)" 404
expect "GET /missing.png" "$(status /missing.png)" 404

# Traversal.
expect "/../etc/passwd" "$(status /../etc/passwd)" 400
expect "/assets/../../etc/passwd" "$(status /assets/../../etc/passwd)" 400
expect "/%2e%2e/etc/passwd" "$(status /%2e%2e/etc/passwd)" 400
expect "/assets/%2E%2E/%2E%2E/etc/passwd" "$(status /assets/%2E%2E/%2E%2E/etc/passwd)" 400
expect "/..%2fetc%2fpasswd" "$(status /..%2fetc%2fpasswd)" 400
expect "/assets%5c..%5cindex.html" "$(status '/assets%5c..%5cindex.html')" 400
expect "/%00" "$(status /index.html%00)" 400
expect "bad escape" "$(status /%zz)" 400
# Symbolic links: out of the directory never; inside it, yes.
expect "a link to a file outside" "$(status /secret.txt)" 404
expect "a link to a directory outside" "$(status /outdir/secret.txt)" 404
body /outdir/secret.txt | grep -q 'secret outside' && fail "served a file through a link out of the directory"
expect "a link inside" "$(status /inside-link.css)" 200

# The API first.
expect "/healthz" "$(body /healthz)" "SERVING"
answer=$(curl -s -X POST -H 'Content-Type: application/json' -d '{}' "$base/gridline.v1.AdminService/GetCurrentUser")
[[ "$answer" == *'"code":"unauthenticated"'* ]] || fail "Connect route: $answer"
expect "GET of a Connect route" "$(status /gridline.v1.AdminService/GetCurrentUser)" 405
expect "POST to a console path" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/queue")" 404
# The page's settings.
expect "/console-config.json" "$(body /console-config.json)" '{"tileUrl":"https://{s}.tiles.example.org/{z}/{x}/{y}.png"}'
expect "HEAD /" "$(curl -s -I -o /dev/null -w '%{http_code}' "$base/")" 200

stop_server console_static 0
echo "console_static: OK"
