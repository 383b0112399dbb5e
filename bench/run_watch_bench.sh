#!/usr/bin/env bash
# The WatchCases benchmark (BENCHMARKS.md), in one command:
#   1. builds gridline-server and watch_bench into build/ if needed,
#   2. generates an organisation: the demo organisation plus N cells with one grid leader each
#      (and a few street-level leaders), all with demo tokens,
#   3. SQLite: one gridline-server, N watch streams on it, reports submitted to it,
#   4. MariaDB: a throwaway MariaDB on a free loopback port (as deploy/test.sh starts it), two
#      gridline-server replicas A and B on it; N watch streams on A, reports submitted first
#      through A (same replica: A's hub is woken by the commit), then through B (A learns of the
#      events by polling the event table, or by B's peer notification), once per --cluster mode
#      with a fresh pair of replicas:
#        off      no `cluster` section: A polls every watch.poll_interval_ms (200 ms)
#        on       A and B notify each other (ServerConfig.cluster, issue 16); the poll is the
#                 fallback (cluster.poll_interval_ms, 1 s, while the peer is heard from)
#        dropped  as `on`, but every notification is dropped (cluster.test_drop_notifications):
#                 the peer is silent, so A falls back to polling every 200 ms
#      Each server serves Prometheus metrics, from which watch_bench reads how often it read the
#      event table (gridline_feed_polls_total), idle and under load,
#   5. prints a Markdown table per scenario, and stops everything (also on failure or Ctrl-C).
#
# usage: bash bench/run_watch_bench.sh [--streams N] [--hot H] [--rate R] [--duration S]
#                                      [--open_rate R] [--sqlite_only | --mariadb_only]
#                                      [--cluster MODE[,MODE...]]
#                                      [--heartbeat_ms N] [--reauth_ms N] [--idle S] [--keep DIR]
#                                      [-- WATCH_BENCH_ARGS...]
#   --cluster       the MariaDB runs: off, on, dropped (default: off,on,dropped)
#   --heartbeat_ms  the servers' watch.heartbeat_interval_ms (default 15000, the default); with a
#                   value longer than the run, also pass `-- --establish_wait 10`
#   --reauth_ms     the servers' watch.reauth_interval_ms (default 30000, the default)
#   --idle S        seconds of the idle window (every stream open, no reports) whose server CPU
#                   is reported (default: the heartbeat interval, at most 15 s; use 30 or more to
#                   include a full re-authentication round)
#   --keep DIR      keep the server logs and the generated files in DIR
# The tables of BENCHMARKS.md, issue 16 (19,500 streams; 500 opens/s, since at 1,000/s the server
# fell behind the handshakes on this 2-core machine):
#   bash bench/run_watch_bench.sh --sqlite_only --streams 19500 --duration 60 --open_rate 500 --idle 30
# Defaults: 10000 streams, 10 street leaders, 200 reports/s for 45 s per phase (SQLite: one
# phase; MariaDB: via A, then via B, per cluster mode). About 10 minutes in all. A modest run
# for a shared machine (issue 16):
#   bash bench/run_watch_bench.sh --mariadb_only --streams 1000 --hot 10 --duration 30
#
# On a shared machine take the build lock around the whole run, e.g.
#   flock /tmp/gridline-build.lock bash bench/run_watch_bench.sh
# (this script does not take it itself, so that it can run under it).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

STREAMS=10000
HOT=10
RATE=200
DURATION=45
OPEN_RATE=1000
HEARTBEAT_MS=15000
REAUTH_MS=30000
IDLE_S=""
EXTRA=()
RUN_SQLITE=1
RUN_MARIADB=1
CLUSTER_MODES=off,on,dropped
KEEP=""
while (($#)); do
  case "$1" in
    --streams) STREAMS=$2; shift 2 ;;
    --hot) HOT=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --open_rate) OPEN_RATE=$2; shift 2 ;;
    --sqlite_only) RUN_MARIADB=0; shift ;;
    --mariadb_only) RUN_SQLITE=0; shift ;;
    --cluster) CLUSTER_MODES=$2; shift 2 ;;
    --heartbeat_ms) HEARTBEAT_MS=$2; shift 2 ;;
    --reauth_ms) REAUTH_MS=$2; shift 2 ;;
    --idle) IDLE_S=$2; shift 2 ;;
    --keep) KEEP=$2; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run_watch_bench.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

MARIADB_START_TIMEOUT=60
SERVER_START_TIMEOUT=120

fail() { echo "run_watch_bench.sh: $*" >&2; exit 1; }
note() { printf '\n== %s\n' "$*" >&2; }

tmp=""
pids=()         # gridline-server processes
mariadb_pid=""

# wait_gone, stop_process, pick_free_port, start_throwaway_mariadb
source deploy/lib.sh

# stop_servers, cleanup (the traps), start_server
source bench/servers.sh

# ---------------------------------------------------------------------------------------------
note "build"
if [[ ! -f build/CMakeCache.txt ]]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >&2
fi
cmake --build build -j"$(nproc)" --target gridline-server watch_bench >&2
[[ -x build/bench/watch_bench && -x build/server/gridline-server ]] || fail "build failed"

# Every stream is a socket on both sides: raise the soft open-file limit to the hard one (20,000
# here, per process: the server holds one socket per stream, watch_bench spreads its side over
# --client_processes children).
ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < STREAMS + HOT + 200)); then
  echo "run_watch_bench.sh: warning: open-file limit $(ulimit -n) is below $STREAMS streams" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridline-bench.XXXXXX")
build/bench/watch_bench --generate_org "$tmp/organisation.textproto" \
  --generate_tokens "$tmp/tokens.tsv" --base_org deploy/demo/organisation.textproto \
  --leaders "$STREAMS" --hot "$HOT" >&2

# The defaults, written out: what a deployment would run with.
cat >"$tmp/server.textproto" <<EOF
worker_threads: 64
keepalive { time_ms: 60000 timeout_ms: 20000 min_client_ping_interval_ms: 10000 }
watch {
  heartbeat_interval_ms: $HEARTBEAT_MS poll_interval_ms: 200 retention_days: 30
  slow_consumer_timeout_ms: 60000 reauth_interval_ms: $REAUTH_MS
}
shutdown_grace_ms: 5000
health_check_interval_ms: 2000
attachments { directory: "$tmp/attachments" }
# Thousands of streams from one loopback address: the limits would measure themselves.
rate_limits { enabled: false }
EOF

bench_args=(--tokens "$tmp/tokens.tsv" --streams "$STREAMS" --rate "$RATE"
  --duration "$DURATION" --open_rate "$OPEN_RATE" --open_timeout 40
  --idle "${IDLE_S:-$(((HEARTBEAT_MS + 999) / 1000 > 15 ? 15 : (HEARTBEAT_MS + 999) / 1000))}")
# Last, so that they override the above.
bench_args+=("${EXTRA[@]}")

echo "# watch benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores" \
  "($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GiB," \
  "Debian $(cat /etc/debian_version), open-file limit $(ulimit -n);" \
  "heartbeat every $HEARTBEAT_MS ms, re-authentication every $REAUTH_MS ms"

# ---------------------------------------------------------------------------------------------
if ((RUN_SQLITE)); then
  note "SQLite: one server, $STREAMS streams, $RATE reports/s"
  port=$(pick_free_port)
  metrics_port=$(pick_free_port)
  while [[ "$metrics_port" == "$port" ]]; do metrics_port=$(pick_free_port); done
  start_server sqlite "$port" --sqlite "$tmp/bench.db" --metrics_listen "127.0.0.1:$metrics_port"
  build/bench/watch_bench "${bench_args[@]}" --label "SQLite, one server" \
    --watch_targets "127.0.0.1:$port" --submit_targets "127.0.0.1:$port" \
    --server_pids "$last_pid" --metrics_targets "127.0.0.1:$metrics_port"
  t0=$SECONDS
  stop_servers
  echo "(SQLite server stopped in $((SECONDS - t0)) s)" >&2
fi

# ---------------------------------------------------------------------------------------------
if ((RUN_MARIADB)); then
  note "throwaway MariaDB"
  start_throwaway_mariadb "$tmp" gridline-bench "$MARIADB_START_TIMEOUT"
  echo "gridline-bench" >"$tmp/mysql.pw"
  echo "MariaDB $(mariadb_root -N -e 'SELECT VERSION()') on 127.0.0.1:$MARIADB_PORT (pid $mariadb_pid)" >&2
  mysql_args=(--mysql_host 127.0.0.1 --mysql_port "$MARIADB_PORT" --mysql_user gridline
    --mysql_password_file "$tmp/mysql.pw" --mysql_database gridline_bench --mysql_create_database)

  # Distinct free ports: gRPC, metrics and cluster of A and B.
  free_ports() {
    local n=$1 p used=" "
    ports=()
    while ((${#ports[@]} < n)); do
      p=$(pick_free_port)
      [[ "$used" == *" $p "* ]] && continue
      used+="$p "
      ports+=("$p")
    done
  }
  IFS=, read -r -a modes <<<"$CLUSTER_MODES"
  for mode in "${modes[@]}"; do
    case "$mode" in
      off) label="peer notifications off: A polls every 200 ms" ;;
      on) label="peer notifications on" ;;
      dropped) label="peer notifications on, every one dropped (cluster.test_drop_notifications)" ;;
      *) fail "--cluster: unknown mode '$mode' (off, on, dropped)" ;;
    esac
    note "MariaDB: replicas A and B, $STREAMS streams on A, $RATE reports/s through A and B; $label"
    free_ports 6
    port_a=${ports[0]} port_b=${ports[1]} metrics_a=${ports[2]} metrics_b=${ports[3]}
    cluster_a=${ports[4]} cluster_b=${ports[5]}
    rm -f "$tmp/server-A.textproto" "$tmp/server-B.textproto"
    if [[ "$mode" != off ]]; then
      drop=""
      [[ "$mode" == dropped ]] && drop="test_drop_notifications: true"
      for side in A B; do
        if [[ $side == A ]]; then own=$cluster_a other=$cluster_b; else own=$cluster_b other=$cluster_a; fi
        { cat "$tmp/server.textproto"
          echo "cluster { listen_address: \"127.0.0.1:$own\" peers: \"127.0.0.1:$other\""
          echo "  secret: \"watch-bench-cluster-secret\" $drop }"
        } >"$tmp/server-$side.textproto"
      done
    fi
    start_server A "$port_a" "${mysql_args[@]}" --metrics_listen "127.0.0.1:$metrics_a"
    pid_a=$last_pid
    start_server B "$port_b" "${mysql_args[@]}" --metrics_listen "127.0.0.1:$metrics_b"
    pid_b=$last_pid
    build/bench/watch_bench "${bench_args[@]}" \
      --label "MariaDB, two replicas (streams on A), $label" \
      --watch_targets "127.0.0.1:$port_a" --submit_targets "127.0.0.1:$port_a,127.0.0.1:$port_b" \
      --server_pids "$pid_a,$pid_b" --db_pid "$mariadb_pid" --sequential \
      --metrics_targets "127.0.0.1:$metrics_a,127.0.0.1:$metrics_b"
    stop_servers
  done
fi
