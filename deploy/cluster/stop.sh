#!/usr/bin/env bash
# Stops the loopback cluster that deploy/cluster/start.sh started in DIR: HAProxy, the replicas,
# then the Galera nodes (3, 2, 1). Each gets SIGCONT (a test may have stopped it), SIGTERM, and
# SIGKILL after a timeout. Works from the pid files under DIR, so it also stops a cluster whose
# start failed half-way; a pid is signalled only while its command line names DIR (a reused pid
# is left alone). Safe to call twice; leaves DIR (data and logs) in place.
#
#   deploy/cluster/stop.sh DIR
set -uo pipefail

if (($# != 1)) || [[ "$1" == -* ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
DIR=$1
if [[ ! -d "$DIR" ]]; then
  echo "cluster/stop.sh: $DIR does not exist; nothing to stop"
  exit 0
fi
DIR=$(cd "$DIR" && pwd)

# The pid in FILE if that process runs and its command line names DIR.
ours() {
  local file=$1 pid
  [[ -f "$file" ]] || return 1
  pid=$(head -n1 "$file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$DIR" || return 1
  echo "$pid"
}

# True while PID runs (a zombie, which init has not reaped yet, does not count).
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) && [[ -n "$state" && "$state" != Z ]]
}

# stop_group TIMEOUT NAME=PIDFILE...: TERM to all of them at once, KILL to those left after
# TIMEOUT seconds.
stop_group() {
  local timeout=$1 entry name pid
  shift
  local names=() pids=()
  for entry in "$@"; do
    name=${entry%%=*}
    if pid=$(ours "${entry#*=}"); then
      kill -CONT "$pid" 2>/dev/null
      kill -TERM "$pid" 2>/dev/null
      names+=("$name")
      pids+=("$pid")
    fi
  done
  # SIGTERM again every 2 s: a mariadbd still starting up does not act on the first one.
  local i deadline=$((SECONDS + timeout)) left resend=$((SECONDS + 2))
  while :; do
    left=0
    for i in "${!pids[@]}"; do alive "${pids[$i]}" && left=1; done
    ((left && SECONDS < deadline)) || break
    if ((SECONDS >= resend)); then
      for i in "${!pids[@]}"; do kill -TERM "${pids[$i]}" 2>/dev/null; done
      resend=$((SECONDS + 2))
    fi
    sleep 0.2
  done
  for i in "${!pids[@]}"; do
    if alive "${pids[$i]}"; then
      echo "cluster/stop.sh: ${names[$i]} (pid ${pids[$i]}) did not stop within ${timeout}s; killing it"
      kill -KILL "${pids[$i]}" 2>/dev/null
    else
      echo "cluster/stop.sh: ${names[$i]} (pid ${pids[$i]}) stopped"
    fi
  done
  # A killed process is gone once the kernel has reaped it; wait for that (briefly).
  deadline=$((SECONDS + 5))
  for i in "${!pids[@]}"; do
    while alive "${pids[$i]}" && ((SECONDS < deadline)); do sleep 0.1; done
  done
}

# The watchdog first (unless it is the one calling us), so that it does not run stop.sh again.
if pid=$(ours "$DIR/watchdog.pid") && ((pid != $$ && pid != PPID)); then
  kill -TERM "$pid" 2>/dev/null
fi
stop_group 10 haproxy="$DIR/haproxy/pid"
stop_group 15 replica1="$DIR/replica1/pid" replica2="$DIR/replica2/pid" \
  replica3="$DIR/replica3/pid"
# One node after the other: each leaves the cluster cleanly, the last one (node 1) could
# bootstrap it again (safe_to_bootstrap).
for i in 3 2 1; do stop_group 30 "node$i=$DIR/node$i/pid"; done
echo "cluster/stop.sh: nothing of $DIR is running"
