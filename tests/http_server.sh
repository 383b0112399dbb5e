# Shell helpers for the tests that start a gridline-server and talk to its HTTP endpoint
# (connect_node/run.sh, browser/run.sh, console_static_test.sh, open311 tests). Source it; it
# makes $tmp (removed on exit, with the server killed if it is still running) and defines:
#   free_port                         prints a free loopback port
#   start_server NAME SERVER ARGS...  starts SERVER ARGS... (log $tmp/server.log), waits until
#                                     http://127.0.0.1:$http_port/healthz answers 200 (set
#                                     http_port first), and sets $pid; exits 1 with the log if
#                                     the server dies or is not healthy within 30 s
#   stop_server NAME STATUS           SIGTERM; the server must exit 0; prints the log if either
#                                     that or STATUS (the test's) failed; returns the result
tmp=$(mktemp -d)
pid=
_http_server_cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  rm -rf "$tmp"
}
trap _http_server_cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_server() {
  local name=$1
  shift
  "$@" >"$tmp/server.log" 2>&1 &
  pid=$!
  local deadline=$((SECONDS + 30))
  until curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$http_port/healthz" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "$name: the server did not become healthy" >&2
      cat "$tmp/server.log" >&2
      exit 1
    fi
    sleep 0.1
  done
}

stop_server() {
  local name=$1 status=$2
  kill -TERM "$pid"
  wait "$pid" || { echo "$name: the server did not stop cleanly" >&2; status=1; }
  pid=
  if [[ $status -ne 0 ]]; then cat "$tmp/server.log" >&2; fi
  return "$status"
}
