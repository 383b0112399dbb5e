#!/usr/bin/env bash
# Runs the whole gridline test suite on a (fresh) Debian 12 machine:
#   1. installs missing packages (deploy/install-deps.sh --test; root, or prints the sudo line),
#   2. configures and builds everything into build/ (Release at -O2: RelWithDebInfo without the
#      debug information, which costs about 40% more compile time),
#   3. starts a throwaway MariaDB on a free loopback port (temporary data directory),
#   4. runs ctest: every store test on SQLite and on that MariaDB,
#   5. runs the independent Python client check against a real gridline-server and checks that
#      the server shuts down cleanly on SIGTERM,
#   6. runs deploy/sanitize.sh --quick, the CI subset of the sanitizer run: gridline-server built
#      with ASan and UBSan (-O1 -g0, nothing else instrumented), and the 15 suites of build/
#      that start servers (all but gridctl_test, sdk_e2e_test, tls_e2e_test) run against it on
#      SQLite; skip with GRIDLINE_SKIP_SANITIZE=1 for a quicker local run. The whole suite on
#      both stores is `bash deploy/sanitize.sh`, ThreadSanitizer `bash deploy/tsan.sh`; neither
#      runs in CI (each takes most of an hour here),
#   7. runs bench/fuzz.sh --ci: builds the libFuzzer harnesses (build-fuzz/, clang), runs each
#      over its regression inputs and then 10 s from its seed corpus (skip with
#      GRIDLINE_SKIP_FUZZ=1; run bench/fuzz.sh --seconds 600 by hand for a real search).
# MariaDB, the server and the temporary directory are always removed on exit.
# Exits non-zero if any step fails. Works from any directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian's python, where python3-grpcio is installed; a pyenv/virtualenv python3 on PATH may
# lack the grpc module.
PYTHON=/usr/bin/python3
MARIADB_START_TIMEOUT=60
SERVER_STOP_TIMEOUT=15

# Each section prints the seconds since the start, so a slow stage shows in the CI log.
section() { printf '\n========== %s  [%ds]\n' "$*" "$SECONDS"; }
fail() { echo "test.sh: $*" >&2; exit 1; }

tmp=""
mariadb_pid=""
server_pid=""

# wait_gone, stop_process, pick_free_port, start_throwaway_mariadb
source deploy/lib.sh

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$server_pid" ]]; then
    stop_process "$server_pid" 5
    server_pid=""
  fi
  if [[ -n "$mariadb_pid" ]]; then
    echo "test.sh: stopping the throwaway MariaDB (pid $mariadb_pid)"
    stop_process "$mariadb_pid" 30
    mariadb_pid=""
  fi
  if [[ -n "$tmp" ]]; then
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
section "dependencies"
bash deploy/install-deps.sh --test
[[ -x "$PYTHON" ]] || fail "$PYTHON not found (install python3 and python3-grpcio)"

# ---------------------------------------------------------------------------------------------
section "build (build/, Release -O2)"
prefer_ninja
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"
cmake --build build -j"$(nproc)"
[[ -x build/server/gridline-server ]] || fail "build/server/gridline-server was not built"

# ---------------------------------------------------------------------------------------------
section "throwaway MariaDB"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridline-test.XXXXXX")
start_test_mariadb "$tmp" gridline-test "$MARIADB_START_TIMEOUT"
echo "MariaDB $(mariadb_root -N -e 'SELECT VERSION()') on 127.0.0.1:$MARIADB_PORT (pid $mariadb_pid, data in $tmp/data)"

# ---------------------------------------------------------------------------------------------
section "ctest (SQLite and MariaDB)"
# Two at a time: most suites wait on servers, MariaDB and the network rather than the CPU. Each
# test has its own ports (FreePort; the server refuses a bound port), its own temporary
# directory and its own MariaDB database.
ctest_rc=0
ctest --test-dir build --output-on-failure --no-tests=error -j2 || ctest_rc=$?

# ---------------------------------------------------------------------------------------------
section "python client check (Debian python3-grpcio, no generated code)"
python_rc=0
"$PYTHON" tests/python_client_check.py --self-test || python_rc=$?

SERVER_PORT=$(pick_free_port)
# The demo's HTTP endpoint (Open311) listens on 8080, which may be taken here: any free port.
build/server/gridline-server --config deploy/demo/server.textproto \
  --sqlite "$tmp/check.db" --listen "127.0.0.1:$SERVER_PORT" --http_listen 127.0.0.1:0 \
  </dev/null >"$tmp/server.log" 2>&1 &
server_pid=$!
echo "gridline-server on 127.0.0.1:$SERVER_PORT (pid $server_pid, log $tmp/server.log)"

if ((python_rc == 0)); then
  "$PYTHON" tests/python_client_check.py "127.0.0.1:$SERVER_PORT" || python_rc=$?
fi

# Clean shutdown: SIGTERM must stop the server with exit status 0 within the timeout.
shutdown_rc=0
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "test.sh: gridline-server exited before SIGTERM" >&2
  shutdown_rc=1
else
  kill -TERM "$server_pid"
  if ! wait_gone "$server_pid" "$SERVER_STOP_TIMEOUT"; then
    echo "test.sh: gridline-server did not exit within ${SERVER_STOP_TIMEOUT}s of SIGTERM" >&2
    shutdown_rc=1
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
fi
server_exit=0
wait "$server_pid" || server_exit=$?
server_pid=""
if ((shutdown_rc == 0 && server_exit != 0)); then
  echo "test.sh: gridline-server exited with status $server_exit after SIGTERM, want 0" >&2
  shutdown_rc=1
fi
if ((python_rc != 0 || shutdown_rc != 0)); then
  echo "---- $tmp/server.log" >&2
  cat "$tmp/server.log" >&2
else
  echo "gridline-server stopped cleanly on SIGTERM (exit status 0)"
fi

# ---------------------------------------------------------------------------------------------
sanitize_rc=0
if [[ "${GRIDLINE_SKIP_SANITIZE:-0}" == 1 ]]; then
  section "sanitizers: skipped (GRIDLINE_SKIP_SANITIZE=1)"
else
  # The CI subset (see the header and deploy/sanitize.sh): only the server is built with the
  # sanitizers; the 15 server-starting suites of build/ run against it, SQLite only.
  section "sanitizers (deploy/sanitize.sh --quick)"
  bash deploy/sanitize.sh --quick || sanitize_rc=$?
fi

# ---------------------------------------------------------------------------------------------
fuzz_rc=0
if [[ "${GRIDLINE_SKIP_FUZZ:-0}" == 1 ]]; then
  section "fuzzing: skipped (GRIDLINE_SKIP_FUZZ=1)"
else
  section "fuzzing (bench/fuzz.sh --ci)"
  bash bench/fuzz.sh --ci || fuzz_rc=$?
fi

# ---------------------------------------------------------------------------------------------
section "summary"
status() { (($1 == 0)) && echo "ok" || echo "FAILED"; }
echo "ctest:                $(status "$ctest_rc")"
echo "python client check:  $(status "$python_rc")"
echo "clean shutdown:       $(status "$shutdown_rc")"
echo "sanitizers:           $(status "$sanitize_rc")"
echo "fuzzing:              $(status "$fuzz_rc")"
if ((ctest_rc != 0 || python_rc != 0 || shutdown_rc != 0 || sanitize_rc != 0 || fuzz_rc != 0)); then
  exit 1
fi
echo "gridline tests: all passed"
