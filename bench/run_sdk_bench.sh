#!/usr/bin/env bash
# The client SDK benchmark (BENCHMARKS.md, "Client SDK"), in one command:
#   1. builds gridline-server and sdk_bench into build/ if needed,
#   2. SQLite: sdk_bench starts a gridline-server on a free loopback port (SQLite in a temporary
#      directory, the demo organisation deploy/demo/organisation.textproto, --demo) and measures,
#      as demo grid leader 1 through the SDK: SubmitReport latency (no photo, 1 x 200 KiB,
#      3 x 1 MiB), Outbox::Enqueue on the device side (fdatasync counted; also on a tmpfs),
#      Outbox::Flush of 200 reports after an outage, and WatchCases: event latency and the
#      reconnect after the server is SIGKILLed and restarted,
#   3. MariaDB (when mariadbd is installed): a throwaway MariaDB on a free loopback port (as
#      deploy/test.sh starts it) and the same against a server on it, without the device-only
#      Enqueue part and with 4 restarts after 1 s down (none after 10 s),
#   4. prints Markdown tables, and stops everything (also on failure or Ctrl-C).
# sdk_bench starts, kills and restarts the server itself (it has to know when the server went
# away and when it listens again); the server dies with it.
#
# usage: bash bench/run_sdk_bench.sh [--sqlite_only] [--keep DIR] [-- SDK_BENCH_ARGS...]
#   --sqlite_only  skip the MariaDB run
#   --keep DIR     keep the server logs and configuration in DIR
#   SDK_BENCH_ARGS are passed to both runs, e.g. `-- --submit_n 100 --restarts 2` (see
#   `build/bench/sdk_bench --help`).
# About 2 minutes on 2 cores (SQLite about 75 s, MariaDB about 40 s); a restart the SDK is
# slow to notice (see BENCHMARKS.md) adds 10-15 s.
#
# On a shared machine take the build lock around the whole run, e.g.
#   flock /tmp/gridline-build.lock bash bench/run_sdk_bench.sh
# (this script does not take it itself, so that it can run under it).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUN_MARIADB=1
KEEP=""
EXTRA=()
while (($#)); do
  case "$1" in
    --sqlite_only) RUN_MARIADB=0; shift ;;
    --keep) KEEP=$2; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run_sdk_bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

MARIADB_START_TIMEOUT=60

fail() { echo "run_sdk_bench.sh: $*" >&2; exit 1; }
note() { printf '\n== %s\n' "$*" >&2; }

tmp=""
mariadb_pid=""

# wait_gone, stop_process, pick_free_port, start_throwaway_mariadb
source deploy/lib.sh

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$mariadb_pid" ]]; then
    stop_process "$mariadb_pid" 30
    mariadb_pid=""
  fi
  if [[ -n "$tmp" ]]; then
    if [[ -n "$KEEP" ]]; then
      mkdir -p "$KEEP"
      for store in sqlite mariadb; do
        [[ -f "$tmp/$store/server.log" ]] && cp "$tmp/$store/server.log" "$KEEP/server-$store.log"
      done
      cp "$tmp"/*.textproto "$KEEP"/ 2>/dev/null || true
      echo "run_sdk_bench.sh: logs and configuration kept in $KEEP" >&2
    fi
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# write_config STORE: the server's defaults written out, photos under the run's directory.
write_config() {
  local store=$1
  mkdir -p "$tmp/$store"
  cat >"$tmp/server-$store.textproto" <<EOF
worker_threads: 64
keepalive { time_ms: 60000 timeout_ms: 20000 min_client_ping_interval_ms: 10000 }
watch {
  heartbeat_interval_ms: 15000 poll_interval_ms: 200 retention_days: 30
  slow_consumer_timeout_ms: 60000 reauth_interval_ms: 30000
}
shutdown_grace_ms: 5000
health_check_interval_ms: 2000
attachments { directory: "$tmp/$store/attachments" max_bytes: 10485760 }
# One process drives every client from loopback: the limits would measure themselves.
rate_limits { enabled: false }
EOF
}

# ---------------------------------------------------------------------------------------------
note "build"
if [[ ! -f build/CMakeCache.txt ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
cmake --build build -j"$(nproc)" --target gridline-server sdk_bench >&2
[[ -x build/bench/sdk_bench && -x build/server/gridline-server ]] || fail "build failed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridline-sdk-bench.XXXXXX")
tmpfs_args=()
if [[ -d /dev/shm && -w /dev/shm ]] && df -t tmpfs /dev/shm >/dev/null 2>&1; then
  tmpfs_args=(--tmpfs_dir /dev/shm)
fi
server_common=(build/server/gridline-server --organisation deploy/demo/organisation.textproto
  --demo)

# What was measured: the commit, and the directories the working tree changes under it.
changed=$(git status --porcelain -- client_sdk/src client_sdk/include server proto 2>/dev/null |
  awk '{print $2}' | cut -d/ -f1-2 | sort -u | tr '\n' ' ')
echo "# client SDK benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), commit" \
  "$(git rev-parse --short HEAD 2>/dev/null || echo '?')${changed:+ (uncommitted changes in: ${changed% })}," \
  "$(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1))," \
  "$(free -g | awk '/^Mem:/ {print $2}') GiB, Debian $(cat /etc/debian_version)," \
  "work directory on $(df --output=source,fstype "$tmp" | tail -1 | tr -s ' ')"

# ---------------------------------------------------------------------------------------------
note "SQLite"
write_config sqlite
t0=$SECONDS
build/bench/sdk_bench --port "$(pick_free_port)" --work_dir "$tmp/sqlite" --label SQLite \
  "${tmpfs_args[@]}" "${EXTRA[@]}" -- \
  "${server_common[@]}" --config "$tmp/server-sqlite.textproto" --sqlite "$tmp/sqlite/server.db"
echo "(SQLite run: $((SECONDS - t0)) s)" >&2

# ---------------------------------------------------------------------------------------------
if ((RUN_MARIADB)); then
  if ! command -v mariadbd >/dev/null; then
    echo "run_sdk_bench.sh: mariadbd not installed; MariaDB run skipped" >&2
    exit 0
  fi
  note "throwaway MariaDB"
  t0=$SECONDS
  start_throwaway_mariadb "$tmp" gridline-bench "$MARIADB_START_TIMEOUT"
  echo "gridline-bench" >"$tmp/mysql.pw"
  echo "MariaDB $(mariadb_root -N -e 'SELECT VERSION()') on 127.0.0.1:$MARIADB_PORT" \
    "(pid $mariadb_pid), ready after $((SECONDS - t0)) s" >&2
  write_config mariadb
  build/bench/sdk_bench --port "$(pick_free_port)" --work_dir "$tmp/mariadb" --label MariaDB \
    --phases submit,flush,watch --restarts 4 --long_restarts 0 "${EXTRA[@]}" -- \
    "${server_common[@]}" --config "$tmp/server-mariadb.textproto" --mysql_host 127.0.0.1 \
    --mysql_port "$MARIADB_PORT" --mysql_user gridline --mysql_password_file "$tmp/mysql.pw" \
    --mysql_database gridline_sdk_bench --mysql_create_database
  echo "(MariaDB run, with its start: $((SECONDS - t0)) s)" >&2
fi
