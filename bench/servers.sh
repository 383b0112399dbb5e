# Shell helpers for the benchmark scripts that start gridline-servers (run_ingest_bench.sh,
# run_watch_bench.sh). Source it after deploy/lib.sh and after defining `fail`, with these set:
#   tmp           the run's directory (server configs, logs, tokens.tsv, organisation.textproto)
#   pids=()       the servers started; mariadb_pid="" the throwaway MariaDB, if any
#   KEEP          a directory to copy the logs and generated files into on exit ("" for none)
#   SERVER_START_TIMEOUT  seconds a server may take to listen
# It installs the EXIT/INT/TERM traps.

stop_servers() {
  local pid
  for pid in "${pids[@]}"; do stop_process "$pid" 20; done
  pids=()
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_servers
  if [[ -n "$mariadb_pid" ]]; then
    stop_process "$mariadb_pid" 30
    mariadb_pid=""
  fi
  if [[ -n "$tmp" ]]; then
    if [[ -n "$KEEP" ]]; then
      mkdir -p "$KEEP"
      cp -r "$tmp"/*.log "$tmp"/*.textproto "$tmp"/tokens.tsv "$KEEP"/ 2>/dev/null || true
      echo "$(basename "$0"): logs and generated files kept in $KEEP" >&2
    fi
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_server NAME PORT ARGS... : starts gridline-server with $tmp/server-NAME.textproto if there
# is one, else $tmp/server.textproto, and the benchmark's organisation; waits until it listens,
# appends its pid to $pids and sets last_pid.
start_server() {
  local name=$1 port=$2
  shift 2
  local log="$tmp/server-$name.log"
  local config="$tmp/server.textproto"
  [[ -f "$tmp/server-$name.textproto" ]] && config="$tmp/server-$name.textproto"
  build/server/gridline-server --config "$config" --listen "127.0.0.1:$port" \
    --organisation "$tmp/organisation.textproto" --demo "$@" </dev/null >"$log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  local deadline=$((SECONDS + SERVER_START_TIMEOUT))
  until grep -q 'listening on port' "$log"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      tail -20 "$log" >&2
      fail "gridline-server $name did not start (log above)"
    fi
    sleep 0.2
  done
  echo "gridline-server $name on 127.0.0.1:$port (pid $pid)" >&2
  last_pid=$pid
}
