#!/usr/bin/env bash
# The Debian packages as an operator and a device vendor get them (deploy/packages.cmake):
# builds them with CPack from a finished build directory, checks their names, versions,
# dependencies and contents, then extracts them into an empty root and
#   - runs the extracted gridline-server: --check_config, bootstrap, serve on a temporary
#     SQLite store; the extracted gridctl loads the packaged example organisation, asks who it
#     is, and lists the grids; SIGTERM ends the server with status 0;
#   - builds a program against the extracted -dev package with pkg-config.
#
#   bash tests/packages_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
(($# == 2)) || { echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
fail() { echo "packages_test: FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
# shellcheck source=deploy/lib.sh
source "$src/deploy/lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridline-packages.XXXXXX")
server_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then kill -9 "$server_pid"; fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT

version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
[[ -n "$version" ]] || fail "no CPACK_PACKAGE_VERSION in $build/CPackConfig.cmake"
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
  { cat "$tmp/cpack.log" >&2; fail "cpack failed"; }
deb() { echo "$tmp/out/$1_${version}_$(dpkg --print-architecture).deb"; }
for p in libgridline-client libgridline-client-dev gridline-server; do
  [[ -f "$(deb "$p")" ]] || fail "no package $(basename "$(deb "$p")"); cpack made: $(ls "$tmp/out")"
  [[ "$(dpkg-deb -f "$(deb "$p")" Package)" == "$p" ]] || fail "$p: wrong Package field"
  [[ "$(dpkg-deb -f "$(deb "$p")" Version)" == "$version" ]] || fail "$p: wrong Version field"
done
ok "cpack made libgridline-client, libgridline-client-dev and gridline-server $version"

# ---- Contents.
contents() { dpkg-deb -c "$(deb "$1")" | awk '{print $6}' | sed 's|^\./|/|'; }
expect_files() {  # PACKAGE FILE...
  local p=$1 f listing
  shift
  listing=$(contents "$p")
  for f in "$@"; do
    grep -qxF "$f" <<<"$listing" || fail "$p: no $f"
  done
  if grep -v '^/usr/' <<<"$listing" | grep -qv '^/$'; then
    fail "$p: files outside /usr: $(grep -v '^/usr/' <<<"$listing" | grep -v '^/$' | head -3)"
  fi
}
expect_absent() {  # PACKAGE REGEX
  if contents "$1" | grep -Eq "$2"; then fail "$1: has $(contents "$1" | grep -E "$2" | head -1)"; fi
}
expect_files libgridline-client /usr/bin/gridctl "/usr/lib/libgridline_client.so.0" \
  "/usr/lib/libgridline_protos.so.0"
expect_absent libgridline-client '^/usr/include/|\.so$|gridline-server'
expect_files libgridline-client-dev /usr/include/gridline/client/report_client.h \
  /usr/include/gridline/proto/gridline/v1/report_service.pb.h \
  /usr/include/gridline/proto/google/rpc/status.pb.h \
  /usr/share/gridline/proto/gridline/v1/report_service.proto \
  /usr/lib/libgridline_client.so /usr/lib/pkgconfig/gridline_client.pc \
  /usr/lib/cmake/gridline_client/gridline_client-config.cmake
expect_absent libgridline-client-dev '^/usr/include/(google|grpc)/|^/usr/bin/'
expect_files gridline-server /usr/bin/gridline-server \
  /usr/lib/systemd/system/gridline-server.service \
  /usr/share/gridline/examples/server.example.textproto
expect_absent gridline-server '^/usr/include/|libgridline_client'
ok "contents: libraries and gridctl / headers, protos, CMake and pkg-config files / server and unit"

# ---- Dependencies: exact versions between our packages, and a package for every library the
# binaries link directly (their NEEDED entries; dpkg -S names the Debian package of each).
depends() { dpkg-deb -f "$(deb "$1")" Depends; }
grep -qF "libgridline-client (= $version)" <<<"$(depends gridline-server)" ||
  fail "gridline-server does not depend on libgridline-client (= $version): $(depends gridline-server)"
grep -qF "libgridline-client (= $version)" <<<"$(depends libgridline-client-dev)" ||
  fail "libgridline-client-dev does not depend on libgridline-client (= $version)"
dpkg-deb -I "$(deb gridline-server)" postinst 2>/dev/null | grep -q 'adduser --system' ||
  fail "gridline-server has no postinst (the gridline user)"

root="$tmp/root"
for p in libgridline-client gridline-server libgridline-client-dev; do
  dpkg-deb -x "$(deb "$p")" "$root"
done
for pair in "libgridline-client:$root/usr/bin/gridctl" "gridline-server:$root/usr/bin/gridline-server"; do
  p=${pair%%:*}
  bin=${pair#*:}
  own=$(depends "$p")
  [[ "$p" == gridline-server ]] && own="$own, $(depends libgridline-client)"
  needed=$(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}')
  while read -r lib path; do
    grep -qxF "$lib" <<<"$needed" || continue  # loaded by a library: its package's concern
    [[ "$path" == "$root"/* ]] && continue  # ours, from the extracted packages
    [[ -e "$path" ]] || fail "$bin: $lib not found"
    owner=$(dpkg -S "$(realpath "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null ||
      dpkg -S "${path/#\/lib\//\/usr\/lib\/}" 2>/dev/null || true)
    owner=${owner%%:*}
    [[ -n "$owner" ]] || fail "$bin: no Debian package holds $path"
    # The package names in Depends ("libstdc++6 (>= 12), adduser" -> libstdc++6, adduser).
    sed 's/ *([^)]*)//g; s/, */\n/g' <<<"$own" | grep -qxF "$owner" ||
      fail "$p: $bin loads $lib from $owner, not in Depends: $own"
  done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}')
done
ok "Depends covers every library gridctl and gridline-server link"

# ---- The extracted server, on a temporary SQLite store.
server="$root/usr/bin/gridline-server"
gridctl="$root/usr/bin/gridctl"
port=$(pick_free_port)
metrics_port=$(pick_free_port)
cat >"$tmp/server.textproto" <<EOF
listen_address: "127.0.0.1:$port"
metrics_listen_address: "127.0.0.1:$metrics_port"
store { sqlite { path: "$tmp/gridline.db" } }
EOF
"$server" --version >/dev/null || fail "the extracted gridline-server does not run"
"$server" --config "$tmp/server.textproto" --check_config >"$tmp/check.out" 2>&1 ||
  { cat "$tmp/check.out" >&2; fail "--check_config refused the config"; }
"$server" bootstrap --config "$tmp/server.textproto" --operator u-ops --display_name "Ops" \
  --token_file "$tmp/ops.token" >"$tmp/bootstrap.out" 2>&1 ||
  { cat "$tmp/bootstrap.out" >&2; fail "bootstrap failed"; }
[[ "$(stat -c %a "$tmp/ops.token")" == 600 ]] || fail "the token file is not mode 0600"
"$server" --config "$tmp/server.textproto" >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
deadline=$((SECONDS + 60))
until curl -fsS "http://127.0.0.1:$metrics_port/healthz" >/dev/null 2>&1; do
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.err" >&2; fail "the server exited"; }
  ((SECONDS < deadline)) || fail "the server did not become healthy within 60 s"
  sleep 0.2
done
ok "the extracted gridline-server checked its config, bootstrapped an operator and serves"

ctl() { "$gridctl" --endpoint "127.0.0.1:$port" --insecure --token-file "$tmp/ops.token" "$@"; }
ctl org load "$root/usr/share/gridline/examples/organisation.textproto" >"$tmp/load.out" 2>&1 ||
  { cat "$tmp/load.out" >&2; fail "gridctl org load of the packaged example failed"; }
ctl whoami --output json >"$tmp/whoami.json" 2>&1 || { cat "$tmp/whoami.json" >&2; fail "whoami"; }
grep -q '"user_id": *"u-ops"' "$tmp/whoami.json" || fail "whoami: $(cat "$tmp/whoami.json")"
grep -q '"role": *"OPERATOR"' "$tmp/whoami.json" || fail "whoami: $(cat "$tmp/whoami.json")"
ctl org grids --output json >"$tmp/grids.json" || fail "gridctl org grids failed"
[[ $(grep -o '"code":' "$tmp/grids.json" | wc -l) -ge 2 ]] || fail "org grids: $(head -c 400 "$tmp/grids.json")"
kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=""
((rc == 0)) || { tail -20 "$tmp/server.err" >&2; fail "the server exited with $rc on SIGTERM"; }
ok "the extracted gridctl loaded the example organisation and asked who it is; SIGTERM: exit 0"

# ---- A vendor's program against the extracted -dev package.
pc_dir="$root/usr/lib/pkgconfig"
read -ra flags <<<"$(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs gridline_client)"
[[ " ${flags[*]} " == *" -I$root/usr/"* ]] ||
  fail "pkg-config does not point into the extracted root: ${flags[*]}"
cat >"$tmp/vendor.cc" <<'EOF'
#include <cstdio>
#include "gridline/client/report_client.h"
#include "gridline/client/version.h"
int main() { std::printf("%s\n", gridline::client::VersionString().c_str()); }
EOF
g++ -std=c++17 "$tmp/vendor.cc" "${flags[@]}" -Wl,-rpath,"$root/usr/lib" -o "$tmp/vendor" ||
  fail "a program does not build against libgridline-client-dev"
[[ "$("$tmp/vendor")" == "$version"* ]] || fail "the vendor program printed $("$tmp/vendor")"
ok "a program builds with pkg-config against libgridline-client-dev and runs"
