#!/usr/bin/env bash
# The SDK as a device vendor builds it, without the server: -DGRIDLINE_BUILD_SERVER=OFF in a
# build directory of its own. Checks that nothing of the server (MySQL Connector/C++, the image
# libraries, GEOS, nlohmann/json, gridline-server) takes part, that the install components split
# as documented, and that a program builds against the "dev" component with pkg-config.
#
#   bash tests/sdk_only_build_test.sh SOURCE_DIR
set -euo pipefail
(($# == 1)) || { echo "usage: $0 SOURCE_DIR" >&2; exit 2; }
src=$(cd "$1" && pwd)
fail() { echo "sdk_only_build_test: FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridline-sdk-only.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

build="$tmp/build"
# -O0 without debug information: this checks what is built and installed, not how fast it runs,
# and it is the longest test of deploy/test.sh (about a third of the time at -O2 -g).
cmake -S "$src" -B "$build" -DGRIDLINE_BUILD_SERVER=OFF -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS_DEBUG=-O0 >"$tmp/configure.log" ||
  { cat "$tmp/configure.log" >&2; fail "configure failed"; }
cmake --build "$build" -j2 >"$tmp/build.log" 2>&1 || { tail -50 "$tmp/build.log" >&2; fail "build failed"; }
ok "configured and built with -DGRIDLINE_BUILD_SERVER=OFF"

# Nothing of the server was compiled or linked.
[[ ! -e "$build/server" ]] || fail "the server directory was configured"
if grep -qi mysql "$build/compile_commands.json"; then fail "a compile command names MySQL"; fi
if grep -Eqi '(libjpeg|libpng|libwebp|mysqlcppconn|geos|nlohmann)' "$build/CMakeCache.txt"; then
  fail "the cache looked for a server-only library: $(grep -Eio '(libjpeg|libpng|libwebp|mysqlcppconn|geos|nlohmann)[^ ]*' "$build/CMakeCache.txt" | head -1)"
fi
[[ -z "$(find "$build" -name gridline-server -type f)" ]] || fail "gridline-server was built"
ok "no MySQL, no image libraries, no GEOS, no gridline-server"

# Component "client": what a device runs.
cmake --install "$build" --prefix "$tmp/client" --component client >/dev/null
[[ -x "$tmp/client/bin/gridctl" ]] || fail "client: no bin/gridctl"
[[ -n "$(find "$tmp/client" -name 'libgridline_client.so.0')" ]] || fail "client: no libgridline_client.so.0"
[[ ! -e "$tmp/client/include" ]] || fail "client: headers installed"
[[ -z "$(find "$tmp/client" -name 'libgridline_client.so')" ]] || fail "client: the dev link installed"
ok "component client: $(cd "$tmp/client" && find . -type f -o -type l | sort | tr '\n' ' ')"

# Components "client" and "dev" together: a vendor's build machine.
prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" --component client >/dev/null
cmake --install "$build" --prefix "$prefix" --component dev >/dev/null
for f in include/gridline/client/report_client.h include/gridline/proto/gridline/v1/report_service.pb.h \
  include/gridline/proto/google/rpc/status.pb.h share/gridline/proto/gridline/v1/report_service.proto; do
  [[ -f "$prefix/$f" ]] || fail "dev: no $f"
done
for shared in google grpc; do
  [[ ! -e "$prefix/include/$shared" ]] || fail "dev: wrote include/$shared"
done
[[ -z "$(find "$prefix" -name gridline-server)" ]] || fail "gridline-server installed"
ok "component dev: headers under include/gridline/, protos under share/gridline/proto/"

libdir=$(dirname "$(find "$prefix" -name gridline_client.pc -print -quit)")
export PKG_CONFIG_PATH="$libdir"
read -ra flags <<<"$(pkg-config --cflags --libs gridline_client)"
g++ -std=c++17 "$src/client_sdk/examples/handset_flow.cc" "${flags[@]}" -o "$tmp/handset_flow"
"$tmp/handset_flow" --help >/dev/null 2>&1 || [[ $? -le 2 ]] || fail "handset_flow does not run"
ok "handset_flow builds with pkg-config against the SDK-only install and runs"
