#!/usr/bin/env bash
# The client SDK as a device vendor gets it: installed into a fresh prefix, found from a project
# of the vendor's own (find_package and pkg-config), and its examples run against a real server.
#
#   bash tests/sdk_consumer_test.sh BUILD_DIR SOURCE_DIR
#
# BUILD_DIR must hold a complete build (ctest runs this as the test "sdk_consumer"). Steps:
#   1. cmake --install BUILD_DIR --prefix TMP/prefix; check the shared libraries with their
#      SONAME links, the public and generated headers, the CMake package and the .pc file, that
#      libgridline_client needs no MySQL library, and that the installed gridctl and
#      gridline-server load the installed libraries;
#   2. configure and build client_sdk/examples as a separate project (find_package);
#   3. build handset_flow with plain g++ and `pkg-config --cflags --libs gridline_client`;
#   4. start a demo gridline-server (SQLite in TMP), run department_console in the background
#      and both handset_flow builds in the foreground: each reports a case in an auto-accepted
#      category, the console accepts and resolves it, the handset verifies it; all exit 0.
# Everything it starts is stopped, and TMP removed, on exit.
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 BUILD_DIR SOURCE_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)

# Demo users (deploy/demo/organisation.textproto, tests/e2e_fixture.h): grid leader 1 reports in
# cell 410184001001001; C04_STREET_LIGHT_OUT is auto-accepted (filed and dispatched on submit,
# no dispatcher needed) and routed to municipal works (SZ), whose staff token is kStaffSz.
LEADER_TOKEN=demo-leader-1-a5afbedb015471db
STAFF_SZ_TOKEN=demo-staff-sz-1-7df0788b89946940
CATEGORY=C04_STREET_LIGHT_OUT
EXAMPLE_TIMEOUT=90     # seconds an example waits for the other side (its --timeout)
PROCESS_TIMEOUT=150    # hard limit on each example process (timeout(1))
SERVER_START_TIMEOUT=30

step() { printf '\n== sdk_consumer: %s\n' "$*"; }
fail() {
  echo "sdk_consumer_test: FAIL: $*" >&2
  exit 1
}
check_file() { [[ -f "$1" ]] || fail "missing $1"; echo "ok   $1"; }
# check_loads BINARY LIBRARY: the dynamic loader takes LIBRARY for BINARY from the prefix's libdir.
check_loads() {
  local path
  path=$(ldd "$1" | awk -v lib="$2" '$1 == lib { print $3 }')
  [[ -f "$path" && $(dirname "$(readlink -f "$path")") == $(readlink -f "$libdir") ]] ||
    fail "$1 does not load $2 from $libdir (ldd: '${path:-nothing}')"
}

tmp=""
server_pid=""
console_pid=""

# wait_gone, stop_process, port_is_free, pick_free_port
source "$src/deploy/lib.sh"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$console_pid" ]]; then stop_process "$console_pid" 5; fi
  if [[ -n "$server_pid" ]]; then stop_process "$server_pid" 10; fi
  if ((rc != 0)) && [[ -n "$tmp" ]]; then
    for log in "$tmp"/console.log "$tmp"/server.log; do
      if [[ -s "$log" ]]; then
        echo "---- $log (last 60 lines)" >&2
        tail -n 60 "$log" >&2
      fi
    done
  fi
  if [[ -n "$tmp" ]]; then rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridline-sdk-consumer.XXXXXX")
prefix="$tmp/prefix"
started=$SECONDS

# ---------------------------------------------------------------------------------------------
step "install $build into $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
  { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
so=$(find "$prefix" -name libgridline_client.so.0.1.0 -print -quit)
[[ -n "$so" ]] || fail "no libgridline_client.so.0.1.0 under $prefix"
libdir=$(dirname "$so")
echo "library directory: ${libdir#"$prefix"/}"

for lib in gridline_client gridline_protos; do
  check_file "$libdir/lib$lib.so.0.1.0"
  for link in "lib$lib.so.0" "lib$lib.so"; do
    [[ -L "$libdir/$link" ]] || fail "$libdir/$link is not a symlink"
    [[ $(readlink -f "$libdir/$link") == "$libdir/lib$lib.so.0.1.0" ]] ||
      fail "$libdir/$link does not lead to lib$lib.so.0.1.0"
    echo "ok   $libdir/$link -> $(readlink "$libdir/$link")"
  done
  soname=$(readelf -d "$libdir/lib$lib.so.0.1.0" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
  [[ "$soname" == "lib$lib.so.0" ]] || fail "lib$lib.so.0.1.0 has SONAME '$soname', want lib$lib.so.0"
  echo "ok   SONAME $soname"
done
check_file "$prefix/include/gridline/client/report_client.h"
check_file "$prefix/include/gridline/client/mocks/mock_report_connection.h"
check_file "$prefix/include/gridline/proto/gridline/v1/report_service.pb.h"
check_file "$prefix/share/gridline/proto/gridline/v1/report_service.proto"
# Nothing in the shared include directories other packages use.
for shared in google grpc; do
  [[ ! -e "$prefix/include/$shared" ]] || fail "the install wrote $prefix/include/$shared"
done
check_file "$libdir/cmake/gridline_client/gridline_client-config.cmake"
check_file "$libdir/cmake/gridline_client/gridline_client-config-version.cmake"
check_file "$libdir/pkgconfig/gridline_client.pc"

# The SDK goes on handsets and consoles that have no MySQL client: neither a direct dependency
# (readelf) nor one pulled in through another library (ldd) may name it.
readelf -d "$so" >"$tmp/readelf.txt"
ldd "$so" >"$tmp/ldd.txt"
if grep -i mysql "$tmp/readelf.txt" "$tmp/ldd.txt"; then
  fail "libgridline_client depends on MySQL"
fi
if grep 'not found' "$tmp/ldd.txt"; then
  fail "ldd cannot resolve every dependency of the installed libgridline_client"
fi
echo "ok   no mysqlcppconn in readelf -d or ldd of libgridline_client ($(grep -c NEEDED "$tmp/readelf.txt") direct dependencies)"

# The installed programs find the installed libraries (RUNPATH $ORIGIN/../lib...), not the build's.
for exe in gridctl gridline-server; do
  check_file "$prefix/bin/$exe"
  check_loads "$prefix/bin/$exe" libgridline_protos.so.0
done
"$prefix/bin/gridctl" version >/dev/null || fail "the installed gridctl does not run"
echo "ok   the installed gridctl and gridline-server load the installed libraries"

# ---------------------------------------------------------------------------------------------
step "build client_sdk/examples as a separate CMake project (find_package, CMAKE_PREFIX_PATH)"
examples="$tmp/examples-build"
cmake -S "$src/client_sdk/examples" -B "$examples" -DCMAKE_PREFIX_PATH="$prefix" \
  >"$tmp/examples-configure.log" ||
  { cat "$tmp/examples-configure.log" >&2; fail "configuring the examples failed"; }
found=$(sed -n 's/^gridline_client_DIR:PATH=//p' "$examples/CMakeCache.txt")
[[ "$found" == "$prefix"/* ]] || fail "find_package found gridline_client in '$found', not in $prefix"
echo "ok   find_package(gridline_client) -> ${found}"
cmake --build "$examples" -j2
for exe in handset_flow department_console; do
  [[ -x "$examples/$exe" ]] || fail "$examples/$exe was not built"
  check_loads "$examples/$exe" libgridline_client.so.0
done
echo "ok   handset_flow and department_console load libgridline_client from the prefix"

# ---------------------------------------------------------------------------------------------
step "build handset_flow with g++ and pkg-config"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pc_flags=$(pkg-config --cflags --libs gridline_client)
echo "pkg-config --cflags --libs gridline_client: ${pc_flags:0:240} ..."
pc_include=$(pkg-config --variable=includedir gridline_client)
[[ $(cd "$pc_include" && pwd -P) == $(cd "$prefix/include" && pwd -P) ]] ||
  fail "the .pc file's includedir $pc_include is not $prefix/include"
read -ra pc_args <<<"$pc_flags"
g++ -std=c++17 "$src/client_sdk/examples/handset_flow.cc" "${pc_args[@]}" -o "$tmp/handset_flow_pc"
unset PKG_CONFIG_PATH
check_loads "$tmp/handset_flow_pc" libgridline_client.so.0
echo "ok   $tmp/handset_flow_pc"

# ---------------------------------------------------------------------------------------------
step "start a demo gridline-server"
# department_console lists its assignments and watches from the list's feed_cursor, so it misses
# nothing between the two; heartbeats every second keep the stream visibly alive.
echo 'watch { heartbeat_interval_ms: 1000 }' >"$tmp/server.textproto"
port=$(pick_free_port)
endpoint="127.0.0.1:$port"
"$build/server/gridline-server" --config "$tmp/server.textproto" --sqlite "$tmp/g.db" \
  --listen "$endpoint" --organisation "$src/deploy/demo/organisation.textproto" --demo \
  </dev/null >"$tmp/server.log" 2>&1 &
server_pid=$!
deadline=$((SECONDS + SERVER_START_TIMEOUT))
while port_is_free "$port"; do
  kill -0 "$server_pid" 2>/dev/null || fail "gridline-server exited during start-up"
  ((SECONDS < deadline)) || fail "gridline-server did not listen within ${SERVER_START_TIMEOUT}s"
  sleep 0.1
done
echo "gridline-server on $endpoint (pid $server_pid)"

# Two tiny PNGs (1x1 pixel): the handset's photo and the department's after-photo.
base64 -d >"$tmp/before.png" <<<'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mNgaPgPAAIDAYAanCY7AAAAAElFTkSuQmCC'
base64 -d >"$tmp/after.png" <<<'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mNgWGADAAGAAN3Js5tZAAAAAElFTkSuQmCC'

# ---------------------------------------------------------------------------------------------
step "department_console in the background (municipal works, 2 cases)"
GRIDLINE_TOKEN=$STAFF_SZ_TOKEN timeout "$PROCESS_TIMEOUT" "$examples/department_console" \
  --endpoint "$endpoint" --insecure --cases 2 --timeout "$EXAMPLE_TIMEOUT" \
  --after-photo "$tmp/after.png" </dev/null >"$tmp/console.log" 2>&1 &
console_pid=$!
deadline=$((SECONDS + 60))
until grep -q '^watching assignments' "$tmp/console.log"; do
  kill -0 "$console_pid" 2>/dev/null || fail "department_console exited before watching"
  ((SECONDS < deadline)) || fail "department_console did not start watching within 60s"
  sleep 0.1
done
echo "department_console is watching (pid $console_pid)"

# run_handset NAME COMMAND...: runs one handset to the end and checks that it closed its case;
# appends the case id to case_ids.
case_ids=()
run_handset() {
  local name=$1 rc=0 case_id
  shift
  GRIDLINE_TOKEN=$LEADER_TOKEN timeout "$PROCESS_TIMEOUT" "$@" </dev/null \
    >"$tmp/$name.log" 2>&1 || rc=$?
  sed "s/^/  $name| /" "$tmp/$name.log"
  ((rc == 0)) || fail "$name exited with status $rc"
  grep -q '^verified case .*: CLOSED' "$tmp/$name.log" || fail "$name did not close its case"
  case_id=$(sed -n 's/^reported case \([^:]*\):.*/\1/p' "$tmp/$name.log")
  [[ -n "$case_id" ]] || fail "$name printed no case id"
  case_ids+=("$case_id")
  echo "ok   $name: case $case_id reported, resolved, verified and closed"
}

step "handset_flow (CMake build, photo from a file, --endpoint)"
run_handset handset_flow "$examples/handset_flow" --endpoint "$endpoint" --insecure \
  --category "$CATEGORY" --timeout "$EXAMPLE_TIMEOUT" "$tmp/before.png"

step "handset_flow_pc (pkg-config build, built-in photo, GRIDLINE_ENDPOINT)"
GRIDLINE_ENDPOINT=$endpoint run_handset handset_flow_pc "$tmp/handset_flow_pc" --insecure \
  --category "$CATEGORY" --timeout "$EXAMPLE_TIMEOUT"

step "department_console must finish on its own"
console_rc=0
wait "$console_pid" || console_rc=$?
console_pid=""
sed 's/^/  department_console| /' "$tmp/console.log"
((console_rc == 0)) || fail "department_console exited with status $console_rc"
grep -q '^done: 2 case(s)' "$tmp/console.log" || fail "department_console did not handle 2 cases"
for case_id in "${case_ids[@]}"; do
  grep -q "^resolved case $case_id:" "$tmp/console.log" ||
    fail "department_console did not resolve case $case_id"
done
echo "ok   department_console accepted and resolved both handsets' cases"

stop_process "$server_pid" 10
server_pid=""
echo
echo "sdk_consumer_test: PASS in $((SECONDS - started)) s"
