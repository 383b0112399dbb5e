#!/usr/bin/env bash
# The ingest benchmark (BENCHMARKS.md, "Ingest"; issue 16), in one command:
#   1. builds gridline-server and ingest_bench into build/ if needed,
#   2. generates an organisation: the demo organisation plus N cells with one grid leader each,
#      all with demo tokens (ingest_bench --generate_org),
#   3. SQLite: one gridline-server on a free loopback port (SQLite and photos in a temporary
#      directory, rate limits off, metrics on another free port); ingest_bench measures, without
#      and with one 200 KiB photo per report: ingest (64 reports in flight against the server),
#      (a) the wire (the same client against an echo server) and (b) the disk (batched durable
#      inserts of the same rows into a fresh SQLite store in the same directory),
#   4. MariaDB: a throwaway MariaDB on a free loopback port (as deploy/test.sh starts it) and the
#      same against a server on it; the disk limit inserts into a fresh database of that MariaDB,
#   5. prints a Markdown table per store, and stops everything (also on failure or Ctrl-C).
#
# usage: bash bench/run_ingest_bench.sh [--duration S] [--warmup S] [--concurrency N]
#                                       [--leaders N] [--sqlite_only | --mariadb_only]
#                                       [--keep DIR] [-- INGEST_BENCH_ARGS...]
#   --duration S     seconds measured per figure (default 20), after --warmup S (default 3)
#   --concurrency N  reports in flight (default 64)
#   --leaders N      grid leaders (handsets) the reports come from, in turn (default 256)
#   --keep DIR       keep the server logs, configuration and generated files in DIR
#   INGEST_BENCH_ARGS go to both runs, e.g. `-- --disk_threads 8` or `-- --variants none`
#   (see the header of bench/ingest_bench.cc).
#   INGEST_WORKERS=N sets the servers' worker_threads (default 64, the server's default).
# Six figures per store of warm-up + duration each, plus start-up: about 3 minutes with the
# defaults on 2 cores.
#
# The throwaway MariaDB runs with its defaults: innodb_flush_log_at_trx_commit=1 and no binary
# log (deploy/ documents no other settings for production). To measure with a binary log synced
# at every commit: MARIADB_EXTRA_OPTS="--log-bin --sync-binlog=1" bash bench/run_ingest_bench.sh
#
# On a shared machine take the build lock around the whole run, e.g.
#   flock /tmp/gridline-build.lock bash bench/run_ingest_bench.sh
# (this script does not take it itself, so that it can run under it).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION=20
WARMUP=3
CONCURRENCY=64
LEADERS=256
RUN_SQLITE=1
RUN_MARIADB=1
KEEP=""
EXTRA=()
while (($#)); do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    --leaders) LEADERS=$2; shift 2 ;;
    --sqlite_only) RUN_MARIADB=0; shift ;;
    --mariadb_only) RUN_SQLITE=0; shift ;;
    --keep) KEEP=$2; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run_ingest_bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

MARIADB_START_TIMEOUT=60
SERVER_START_TIMEOUT=120

fail() { echo "run_ingest_bench.sh: $*" >&2; exit 1; }
note() { printf '\n== %s\n' "$*" >&2; }

tmp=""
pids=()         # gridline-server processes
mariadb_pid=""

# wait_gone, stop_process, pick_free_port, start_throwaway_mariadb
source deploy/lib.sh

# stop_servers, cleanup (the traps), start_server
source bench/servers.sh

# write_config STORE: the server's defaults written out, with metrics on a free port and photos
# under the run's directory. Sets METRICS_PORT.
write_config() {
  local store=$1
  METRICS_PORT=$(pick_free_port)
  mkdir -p "$tmp/$store"
  cat >"$tmp/server-$store.textproto" <<EOF
worker_threads: ${INGEST_WORKERS:-64}
keepalive { time_ms: 60000 timeout_ms: 20000 min_client_ping_interval_ms: 10000 }
watch {
  heartbeat_interval_ms: 15000 poll_interval_ms: 200 retention_days: 30
  slow_consumer_timeout_ms: 60000 reauth_interval_ms: 30000
}
shutdown_grace_ms: 5000
health_check_interval_ms: 2000
attachments { directory: "$tmp/$store/attachments" max_bytes: 10485760 }
metrics_listen_address: "127.0.0.1:$METRICS_PORT"
# Every handset calls from loopback: the limits would measure themselves.
rate_limits { enabled: false }
EOF
}

# ---------------------------------------------------------------------------------------------
note "build"
if [[ ! -f build/CMakeCache.txt ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
cmake --build build -j"$(nproc)" --target gridline-server ingest_bench >&2
[[ -x build/bench/ingest_bench && -x build/server/gridline-server ]] || fail "build failed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridline-ingest-bench.XXXXXX")
build/bench/ingest_bench --generate_org "$tmp/organisation.textproto" \
  --generate_tokens "$tmp/tokens.tsv" --base_org deploy/demo/organisation.textproto \
  --leaders "$LEADERS" >&2

# What was measured: the commit, and the directories the working tree changes under it.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
changed=$(git status --porcelain -- server proto bench 2>/dev/null |
  awk '{print $2}' | cut -d/ -f1-2 | sort -u | tr '\n' ' ')
commit="$commit${changed:+ (uncommitted changes in: ${changed% })}"
echo "# ingest benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit," \
  "$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))," \
  "$(free -g | awk '/^Mem:/ {print $2}') GiB, Debian $(cat /etc/debian_version)," \
  "work directory on $(df --output=source,fstype "$tmp" | tail -1 | tr -s ' ')"

bench_args=(--tokens "$tmp/tokens.tsv" --duration "$DURATION" --warmup "$WARMUP"
  --concurrency "$CONCURRENCY" --commit "$commit")

# ---------------------------------------------------------------------------------------------
if ((RUN_SQLITE)); then
  note "SQLite: ingest, wire and disk"
  write_config sqlite
  port=$(pick_free_port)
  start_server sqlite "$port" --sqlite "$tmp/sqlite/server.db"
  build/bench/ingest_bench "${bench_args[@]}" --label SQLite --store sqlite \
    --target "127.0.0.1:$port" --metrics "127.0.0.1:$METRICS_PORT" --server_pid "$last_pid" \
    --disk_dir "$tmp/sqlite" --template_sqlite "$tmp/sqlite/server.db" "${EXTRA[@]}"
  stop_servers
  rm -rf "$tmp/sqlite"  # photos: hundreds of MiB
fi

# ---------------------------------------------------------------------------------------------
if ((RUN_MARIADB)); then
  note "throwaway MariaDB"
  start_throwaway_mariadb "$tmp" gridline-bench "$MARIADB_START_TIMEOUT"
  echo "gridline-bench" >"$tmp/mysql.pw"
  echo "MariaDB $(mariadb_root -N -e 'SELECT VERSION()') on 127.0.0.1:$MARIADB_PORT (pid $mariadb_pid)" >&2
  mysql_args=(--mysql_host 127.0.0.1 --mysql_port "$MARIADB_PORT" --mysql_user gridline
    --mysql_password_file "$tmp/mysql.pw")

  note "MariaDB: ingest, wire and disk"
  write_config mariadb
  port=$(pick_free_port)
  start_server mariadb "$port" "${mysql_args[@]}" --mysql_database gridline_ingest \
    --mysql_create_database
  build/bench/ingest_bench "${bench_args[@]}" --label MariaDB --store mysql \
    --target "127.0.0.1:$port" --metrics "127.0.0.1:$METRICS_PORT" --server_pid "$last_pid" \
    --db_pid "$mariadb_pid" --disk_dir "$tmp/mariadb" "${mysql_args[@]}" \
    --template_database gridline_ingest --disk_database gridline_ingest_disk "${EXTRA[@]}"
  stop_servers
fi
