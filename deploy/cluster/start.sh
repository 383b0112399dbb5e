#!/usr/bin/env bash
# Starts a whole gridline cluster on loopback, everything under DIR (data, sockets, logs, pids):
#   - 3 MariaDB Galera nodes (wsrep, rsync SST): node 1 bootstraps the cluster, 2 and 3 join;
#   - 3 gridline-server replicas on that cluster (demo organisation, demo tokens), each with its
#     own API, metrics (/healthz) and peer port;
#   - HAProxy in front (h2, roundrobin, checks on each replica's /healthz), the one port clients
#     use.
# Then writes DIR/cluster.env (KEY=VALUE, shell syntax: every port and pid) and prints it.
#
#   deploy/cluster/start.sh DIR [--server PATH] [--base-port N] [--owner-pid PID]
#                               [--flush-log-at-trx-commit 0|1|2] [--multi-primary]
#   deploy/cluster/start.sh DIR --node I       # start Galera node I again (rejoins: IST or SST)
#   deploy/cluster/start.sh DIR --replica I    # start replica I again
#   deploy/cluster/stop.sh DIR                 # stops everything; safe to call twice
#
# --server      the gridline-server binary (default build/server/gridline-server)
# --base-port   the ports are N+1..N+71 (layout below); default: a free block in 20000-31999
# --owner-pid   stop the cluster (stop.sh) once that process is gone: a test that dies leaves
#               nothing behind
# --flush-log-at-trx-commit  innodb_flush_log_at_trx_commit on every node (default 2: a commit is
#               durable once it is certified on all nodes; see deploy/cluster/README.md)
# --multi-primary  replica I writes to node I first (each node takes writes): for measuring
#               certification conflicts; the default has every replica write to node 1
#
# Ports (base N): node I mysql N+I, gcomm N+10+I, IST N+20+I, SST N+30+I; replica I API N+40+I,
# metrics N+50+I, peer N+60+I; HAProxy N+70, its stats page N+71 (/stats;csv).
# Galera's failure detection is shortened for tests: a node silent for 3 s is suspected and,
# once the others agree, dropped from the primary component (evs.suspect_timeout=PT3S); see the
# README for the production values. Runs as root or as a user, without sudo.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
fail() {
  echo "cluster/start.sh: $*" >&2
  exit 1
}
# wait_gone, stop_process, port_is_free
source "$repo/deploy/lib.sh"

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

DIR=""
server="$repo/build/server/gridline-server"
base=""
owner_pid=""
flush=2
only_node=""
only_replica=""
multi_primary=0
while (($#)); do
  case "$1" in
    --server) server=$2; shift 2 ;;
    --base-port) base=$2; shift 2 ;;
    --owner-pid) owner_pid=$2; shift 2 ;;
    --flush-log-at-trx-commit) flush=$2; shift 2 ;;
    --multi-primary) multi_primary=1; shift ;;
    --node) only_node=$2; shift 2 ;;
    --replica) only_replica=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "cluster/start.sh: unknown option $1" >&2; usage ;;
    *) [[ -z "$DIR" ]] || usage; DIR=$1; shift ;;
  esac
done
[[ -n "$DIR" ]] || usage
[[ "$DIR" != *[[:space:]]* ]] || fail "DIR must not contain spaces"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

NODES=(1 2 3)
REPLICAS=(1 2 3)
PASSWORD_FILE="$DIR/mysql.pw"
SECRET_FILE="$DIR/cluster.secret"
PROVIDER=/usr/lib/galera/libgalera_smm.so
DB_TIMEOUT=120      # seconds for a node to be Synced (an SST included)
REPLICA_TIMEOUT=60  # seconds for a replica to answer /healthz with 200
STATE_FILE="$DIR/cluster.env"

db_user=$(id -un)  # mariadbd runs as root only when told so explicitly
sst_method=rsync
(($(id -u) != 0)) || sst_method=rsync_root  # see the wrapper written below

# True while PID runs. A killed member whose parent (an earlier start.sh) is gone may stay a
# zombie for a while if nothing reaps orphans (as in some containers): that does not count.
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) && [[ -n "$state" && "$state" != Z ]]
}

log() { echo "cluster/start.sh: [${SECONDS}s] $*"; }

# ---------------------------------------------------------------------------------------------
# Ports and cluster.env

set_ports() {
  local i
  for i in "${NODES[@]}"; do
    printf -v "NODE${i}_PORT" %d $((base + i))
    printf -v "NODE${i}_GCOMM_PORT" %d $((base + 10 + i))
    printf -v "NODE${i}_IST_PORT" %d $((base + 20 + i))
    printf -v "NODE${i}_SST_PORT" %d $((base + 30 + i))
  done
  for i in "${REPLICAS[@]}"; do
    printf -v "REPLICA${i}_PORT" %d $((base + 40 + i))
    printf -v "REPLICA${i}_METRICS_PORT" %d $((base + 50 + i))
    printf -v "REPLICA${i}_PEER_PORT" %d $((base + 60 + i))
  done
  HAPROXY_PORT=$((base + 70))
  HAPROXY_STATS_PORT=$((base + 71))
}

all_ports() {
  local i
  for i in "${NODES[@]}"; do
    echo $((base + i)) $((base + 10 + i)) $((base + 20 + i)) $((base + 30 + i))
  done
  for i in "${REPLICAS[@]}"; do echo $((base + 40 + i)) $((base + 50 + i)) $((base + 60 + i)); done
  echo $((base + 70)) $((base + 71))
}

block_is_free() {
  local p
  for p in $(all_ports); do port_is_free "$p" || return 1; done
}

pick_base() {
  local attempt
  for ((attempt = 0; attempt < 100; attempt++)); do
    base=$((20000 + (RANDOM % 120) * 100))
    block_is_free && return 0
  done
  fail "found no free block of ports in 20000-31999"
}

write_env() {
  local i tmp_env="$STATE_FILE.tmp"
  {
    echo "# Written by deploy/cluster/start.sh; read by deploy/cluster/stop.sh and the tests."
    echo "CLUSTER_DIR=$DIR"
    echo "BASE_PORT=$base"
    echo "SERVER=$server"
    echo "MYSQL_USER=gridline"
    echo "MYSQL_PASSWORD_FILE=$PASSWORD_FILE"
    echo "MYSQL_DATABASE=gridline"
    echo "STORE_HOSTS=$STORE_HOSTS"
    echo "FLUSH_LOG_AT_TRX_COMMIT=$flush"
    echo "MULTI_PRIMARY=$multi_primary"
    for i in "${NODES[@]}"; do
      local v
      for v in PORT GCOMM_PORT IST_PORT SST_PORT SOCKET PID; do
        local name="NODE${i}_$v"
        echo "$name=${!name:-}"
      done
    done
    for i in "${REPLICAS[@]}"; do
      for v in PORT METRICS_PORT PEER_PORT PID; do
        local name="REPLICA${i}_$v"
        echo "$name=${!name:-}"
      done
    done
    echo "HAPROXY_PORT=$HAPROXY_PORT"
    echo "HAPROXY_STATS_PORT=$HAPROXY_STATS_PORT"
    echo "HAPROXY_PID=${HAPROXY_PID:-}"
    echo "WATCHDOG_PID=${WATCHDOG_PID:-}"
  } >"$tmp_env"
  mv "$tmp_env" "$STATE_FILE"
}

# ---------------------------------------------------------------------------------------------
# Galera nodes

root_sql() {  # root_sql I ARGS...: the mariadb client as root over node I's socket
  local i=$1
  shift
  mariadb --no-defaults -S "$DIR/node$i/mysql.sock" -uroot --connect-timeout=5 "$@"
}

wsrep_status() {  # wsrep_status I NAME: one wsrep status variable of node I ("" if unreachable)
  { root_sql "$1" -N -B -e "SHOW GLOBAL STATUS LIKE '$2'" 2>/dev/null || true; } | awk '{print $2}'
}

# The donors a joining node asks for: the other nodes, highest number first, so that a node
# that rejoins does not take node 1 (the usual writer) as donor when another is there (an rsync
# donor blocks its writes during the copy). IST does not block.
donors_of() {
  local i=$1 j out=""
  for j in 3 2 1; do ((j == i)) || out+="node$j,"; done
  echo "$out"
}

node_args() {  # node_args I: mariadbd's command line for node I (without the start position)
  local i=$1 d="$DIR/node$1" cluster_address="" j
  for j in "${NODES[@]}"; do
    local gp="NODE${j}_GCOMM_PORT"
    cluster_address+="${cluster_address:+,}127.0.0.1:${!gp}"
  done
  local port="NODE${i}_PORT" gcomm="NODE${i}_GCOMM_PORT" ist="NODE${i}_IST_PORT" \
    sst="NODE${i}_SST_PORT"
  # Failure detection: keepalive every 0.5 s, a node silent for 3 s is suspected (and dropped
  # once the others agree), declared dead after 6 s whatever the others say. Defaults: PT1S,
  # PT5S, PT15S. install_timeout must lie between the two.
  local evs="evs.keepalive_period=PT0.5S;evs.inactive_check_period=PT0.5S"
  evs+=";evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT5S"
  NODE_ARGS=(
    --no-defaults --datadir="$d/data" --socket="$d/mysql.sock" --port="${!port}"
    --bind-address=127.0.0.1 --user="$db_user" --skip-name-resolve
    --log-error="$d/mariadb.err" --pid-file="$d/mariadb.pid" --tmpdir="$d/tmp"
    --innodb-buffer-pool-size=64M --innodb-log-file-size=48M --max-connections=500
    --innodb-flush-log-at-trx-commit="$flush"
    --character-set-server=utf8mb4 --collation-server=utf8mb4_bin
    # What Galera needs: row-based replication, InnoDB, interleaved auto-increment locks.
    --binlog-format=ROW --default-storage-engine=InnoDB --innodb-autoinc-lock-mode=2
    --wsrep-on=ON --wsrep-provider="$PROVIDER" --wsrep-cluster-name=gridline-loopback
    --wsrep-cluster-address="gcomm://$cluster_address"
    --wsrep-node-name="node$i" --wsrep-node-address=127.0.0.1
    --wsrep-node-incoming-address="127.0.0.1:${!port}"
    --wsrep-sst-method="$sst_method" --wsrep-sst-receive-address="127.0.0.1:${!sst}"
    --wsrep-sst-donor="$(donors_of "$i")"
    # Causal reads everywhere: a read waits until this node has applied every transaction
    # certified before it began, so no node answers with stale data (the store also asks for it
    # per session; this covers any other client, e.g. an operator's mariadb shell).
    --wsrep-sync-wait=1
    --wsrep-provider-options="gmcast.listen_addr=tcp://127.0.0.1:${!gcomm};ist.recv_addr=127.0.0.1:${!ist};gcache.size=64M;$evs"
  )
}

# wsrep_recovered_position I: the position InnoDB of node I holds, from mariadbd --wsrep-recover
# (what Debian's galera_recovery does before a start), so that a node that crashed rejoins by
# IST. Empty when it cannot be found (then the node asks for a state transfer).
wsrep_recovered_position() {
  local i=$1 d="$DIR/node$1"
  node_args "$i"
  local args=()
  local a
  for a in "${NODE_ARGS[@]}"; do
    case "$a" in --log-error=*|--pid-file=*) ;; *) args+=("$a") ;; esac
  done
  mariadbd "${args[@]}" --wsrep-recover --log-error="$d/wsrep-recover.log" \
    </dev/null >"$d/wsrep-recover.out" 2>&1 || true
  sed -n 's/.*WSREP: Recovered position: \([0-9a-f-]*:-\{0,1\}[0-9]*\).*/\1/p' \
    "$d/wsrep-recover.log" | tail -1
}

start_node() {  # start_node I [--wsrep-new-cluster]
  local i=$1 d="$DIR/node$1" extra=()
  shift
  extra=("$@")
  mkdir -p "$d/data" "$d/tmp"
  # After a crash (SIGKILL) grastate.dat says seqno -1: the position is in InnoDB.
  if grep -q '^seqno: *-1' "$d/data/grastate.dat" 2>/dev/null; then
    local position
    position=$(wsrep_recovered_position "$i")
    [[ -z "$position" || "$position" == *:-1 ]] || extra+=("--wsrep-start-position=$position")
  fi
  node_args "$i"
  PATH="$DIR/bin:$PATH" mariadbd "${NODE_ARGS[@]}" "${extra[@]}" </dev/null \
    >>"$d/mariadbd.out" 2>&1 &
  local pid=$!
  echo "$pid" >"$d/pid"
  printf -v "NODE${i}_PID" %d "$pid"
  printf -v "NODE${i}_SOCKET" %s "$d/mysql.sock"
  log "node $i: mariadbd pid $pid, mysql port $((base + i))${extra:+ (${extra[*]})}"
}

wait_synced() {  # wait_synced I: until node I is Synced and ready
  local i=$1 pid_var="NODE${1}_PID" deadline=$((SECONDS + DB_TIMEOUT)) state ready
  while :; do
    state=$(wsrep_status "$i" wsrep_local_state_comment)
    ready=$(wsrep_status "$i" wsrep_ready)
    [[ "$state" == Synced && "$ready" == ON ]] && return 0
    if ! alive "${!pid_var}" || ((SECONDS >= deadline)); then
      echo "---- $DIR/node$i/mariadb.err (last 40 lines)" >&2
      tail -n 40 "$DIR/node$i/mariadb.err" >&2 2>/dev/null || true
      fail "node $i is not Synced (state '${state:-no answer}') within ${DB_TIMEOUT}s"
    fi
    sleep 0.3
  done
}

wait_cluster_size() {  # wait_cluster_size N: until every running node sees N members, Synced
  local want=$1 deadline=$((SECONDS + DB_TIMEOUT)) i ok
  while :; do
    ok=1
    for i in "${NODES[@]}"; do
      [[ "$(wsrep_status "$i" wsrep_cluster_size)" == "$want" &&
        "$(wsrep_status "$i" wsrep_local_state_comment)" == Synced ]] || ok=0
    done
    ((ok)) && return 0
    ((SECONDS < deadline)) || fail "the cluster did not reach $want Synced nodes in ${DB_TIMEOUT}s"
    sleep 0.3
  done
}

create_users() {
  local password
  password=$(head -n1 "$PASSWORD_FILE")
  # Replicated to every node (Galera applies account statements and DDL on all nodes).
  root_sql 1 <<SQL
CREATE USER IF NOT EXISTS 'gridline'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL ON *.* TO 'gridline'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'gridline'@'%' IDENTIFIED BY '$password';
GRANT ALL ON *.* TO 'gridline'@'%' WITH GRANT OPTION;
CREATE DATABASE IF NOT EXISTS gridline CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
SQL
}

# ---------------------------------------------------------------------------------------------
# gridline-server replicas

# The store of replica $1: all three nodes when the server knows MysqlStore.hosts (its sticky
# primary selector writes to the first that is Synced and fails over to the next), in the order
# 1, 2, 3, so that every replica writes to the same node; with --multi-primary replica I starts
# at node I (for measuring certification conflicts). Else node 1 alone.
store_block() {
  local r=$1 i k hosts="" port="NODE1_PORT"
  for k in 0 1 2; do
    i=$(( multi_primary ? (r - 1 + k) % 3 + 1 : k + 1 ))
    local p="NODE${i}_PORT"
    hosts+="${hosts:+, }\"127.0.0.1:${!p}\""
  done
  echo "store {"
  echo "  mysql {"
  if [[ "$STORE_HOSTS" == all ]]; then
    echo "    hosts: [$hosts]"
    echo "    read_timeout_seconds: 5"
  else
    echo "    host: \"127.0.0.1\""
    echo "    port: ${!port}"
  fi
  echo "    user: \"gridline\""
  echo "    password_file: \"$PASSWORD_FILE\""
  echo "    database: \"gridline\""
  echo "    pool_size: 8"
  echo "    connect_timeout_seconds: 5"
  echo "  }"
  echo "}"
}

write_replica_config() {  # write_replica_config I
  local i=$1 d="$DIR/replica$1" j peers=""
  mkdir -p "$d" "$DIR/photos"
  for j in "${REPLICAS[@]}"; do
    ((j == i)) && continue
    local pp="REPLICA${j}_PEER_PORT"
    peers+="  peers: \"127.0.0.1:${!pp}\"\n"
  done
  local port="REPLICA${i}_PORT" metrics="REPLICA${i}_METRICS_PORT" peer="REPLICA${i}_PEER_PORT"
  {
    echo "# Replica $i of the loopback cluster (deploy/cluster/start.sh). ServerConfig, text format."
    echo "listen_address: \"127.0.0.1:${!port}\""
    echo "metrics_listen_address: \"127.0.0.1:${!metrics}\""
    store_block "$i"
    echo "organisation_file: \"$repo/deploy/demo/organisation.textproto\""
    echo "# Demo tokens: the tests and soak.sh call as the demo users."
    echo "demo: true"
    echo "worker_threads: 8"
    echo "# Health (and so HAProxy's check of /healthz) follows the store within half a second."
    echo "health_check_interval_ms: 500"
    echo "shutdown_grace_ms: 3000"
    echo "watch { heartbeat_interval_ms: 1000 }"
    echo "# Shared by the replicas (on real hosts: a shared file system)."
    echo "attachments { directory: \"$DIR/photos\" }"
    echo "# Every client comes through HAProxy, so the replicas see one peer address; and the"
    echo "# tests write from three tokens at full speed. Real hosts keep the limits on."
    echo "rate_limits { enabled: false }"
    echo "log { calls: false }"
    echo "cluster {"
    echo "  listen_address: \"127.0.0.1:${!peer}\""
    printf '%b' "$peers"
    echo "  secret_file: \"$SECRET_FILE\""
    echo "}"
  } >"$d/server.textproto"
}

start_replica() {  # start_replica I
  local i=$1 d="$DIR/replica$1"
  write_replica_config "$i"
  (cd "$d" && exec "$server" --config "$d/server.textproto" </dev/null >>"$d/server.out" \
    2>>"$d/server.log") &
  local pid=$!
  echo "$pid" >"$d/pid"
  printf -v "REPLICA${i}_PID" %d "$pid"
  local port="REPLICA${i}_PORT"
  log "replica $i: gridline-server pid $pid, port ${!port}"
}

wait_replica() {  # wait_replica I: until its /healthz answers 200 (SERVING)
  local i=$1 pid_var="REPLICA${1}_PID" metrics="REPLICA${1}_METRICS_PORT"
  local deadline=$((SECONDS + REPLICA_TIMEOUT))
  until curl -sf --max-time 2 -o /dev/null "http://127.0.0.1:${!metrics}/healthz"; do
    if ! alive "${!pid_var}" || ((SECONDS >= deadline)); then
      echo "---- $DIR/replica$i/server.log (last 30 lines)" >&2
      tail -n 30 "$DIR/replica$i/server.log" >&2 2>/dev/null || true
      fail "replica $i did not become healthy within ${REPLICA_TIMEOUT}s"
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# HAProxy

write_haproxy_config() {
  local d="$DIR/haproxy" i
  mkdir -p "$d"
  {
    cat <<CFG
# HAProxy in front of the loopback cluster's replicas (deploy/cluster/start.sh). The real-host
# version with TLS is deploy/cluster/hosts/haproxy.cfg.
global
    log stdout format raw local0 notice
    maxconn 4000

defaults
    mode http
    log global
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    timeout tunnel 1h
    # A connection a replica refuses (it is down, not yet marked so) is tried on another one.
    retries 2
    option redispatch 1

frontend gridline
    # Clear-text HTTP/2 (gRPC without TLS on loopback).
    bind 127.0.0.1:$HAPROXY_PORT proto h2
    default_backend gridline_replicas

frontend stats
    bind 127.0.0.1:$HAPROXY_STATS_PORT
    stats enable
    stats uri /stats
    stats refresh 5s

backend gridline_replicas
    balance roundrobin
    # /healthz on each replica's metrics port: 200 while grpc.health.v1 says SERVING.
    option httpchk GET /healthz
    http-check expect status 200
    # Loopback: check every 500 ms, out after 2 failures (about a second), back after 2.
    default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2
CFG
    for i in "${REPLICAS[@]}"; do
      local port="REPLICA${i}_PORT" metrics="REPLICA${i}_METRICS_PORT"
      echo "    server replica$i 127.0.0.1:${!port} proto h2 check port ${!metrics} check-proto h1"
    done
  } >"$d/haproxy.cfg"
  haproxy -c -q -f "$d/haproxy.cfg" || fail "haproxy -c rejects $d/haproxy.cfg"
}

start_haproxy() {
  local d="$DIR/haproxy"
  haproxy -db -f "$d/haproxy.cfg" </dev/null >>"$d/haproxy.log" 2>&1 &
  HAPROXY_PID=$!
  echo "$HAPROXY_PID" >"$d/pid"
  log "haproxy: pid $HAPROXY_PID, port $HAPROXY_PORT (stats http://127.0.0.1:$HAPROXY_STATS_PORT/stats)"
}

# Until HAProxy counts every replica UP.
wait_haproxy() {
  local deadline=$((SECONDS + 30)) up
  while :; do
    up=$(curl -sf --max-time 2 "http://127.0.0.1:$HAPROXY_STATS_PORT/stats;csv" 2>/dev/null |
      awk -F, '$1 == "gridline_replicas" && $2 ~ /^replica/ && $18 == "UP"' | wc -l) || up=0
    ((up == ${#REPLICAS[@]})) && return 0
    if ! alive "$HAPROXY_PID" || ((SECONDS >= deadline)); then
      tail -n 20 "$DIR/haproxy/haproxy.log" >&2 2>/dev/null || true
      fail "HAProxy does not see all replicas UP within 30s ($up UP)"
    fi
    sleep 0.2
  done
}

# ---------------------------------------------------------------------------------------------
# The watchdog: stops the cluster once --owner-pid is gone (a test that crashed or was killed).

start_watchdog() {
  [[ -n "$owner_pid" ]] || return 0
  setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec bash "$2" "$3"' \
    cluster-watchdog "$owner_pid" "$here/stop.sh" "$DIR" </dev/null >>"$DIR/watchdog.log" 2>&1 &
  WATCHDOG_PID=$!
  echo "$WATCHDOG_PID" >"$DIR/watchdog.pid"
}

# ---------------------------------------------------------------------------------------------

for tool in mariadbd mariadb mariadb-install-db haproxy rsync curl; do
  command -v "$tool" >/dev/null || [[ -x "/usr/sbin/$tool" ]] ||
    fail "$tool not found (apt-get install galera-4 mariadb-server haproxy rsync curl)"
done
[[ -e "$PROVIDER" ]] || fail "$PROVIDER not found (apt-get install galera-4)"
PATH="$PATH:/usr/sbin"

if [[ -n "$only_node" || -n "$only_replica" ]]; then
  # Start one member again: the ports, the store and the rest come from cluster.env.
  [[ -f "$STATE_FILE" ]] || fail "$STATE_FILE not found: start the whole cluster first"
  # shellcheck disable=SC1090
  source "$STATE_FILE"
  base=$BASE_PORT
  server=$SERVER
  flush=$FLUSH_LOG_AT_TRX_COMMIT
  multi_primary=$MULTI_PRIMARY
  set_ports
  if [[ -n "$only_node" ]]; then
    [[ "$only_node" =~ ^[123]$ ]] || fail "--node takes 1, 2 or 3"
    pid_var="NODE${only_node}_PID"
    ! alive "${!pid_var:-0}" || fail "node $only_node is running (pid ${!pid_var})"
    start_node "$only_node"
    write_env
    wait_synced "$only_node"
    log "node $only_node: Synced, cluster size $(wsrep_status "$only_node" wsrep_cluster_size)"
  else
    [[ "$only_replica" =~ ^[123]$ ]] || fail "--replica takes 1, 2 or 3"
    pid_var="REPLICA${only_replica}_PID"
    ! alive "${!pid_var:-0}" || fail "replica $only_replica is running (pid ${!pid_var})"
    start_replica "$only_replica"
    write_env
    wait_replica "$only_replica"
    log "replica $only_replica: serving"
  fi
  write_env
  cat "$STATE_FILE"
  exit 0
fi

[[ -x "$server" ]] || fail "$server not found or not executable (build it, or pass --server)"
[[ "$flush" =~ ^[012]$ ]] || fail "--flush-log-at-trx-commit takes 0, 1 or 2"
[[ ! -e "$STATE_FILE" ]] || fail "$STATE_FILE exists: stop that cluster (stop.sh) and use a new DIR"

# A failed start stops what it started (the logs stay in DIR).
started=0
on_exit() {
  local rc=$?
  if ((rc != 0 && started)); then
    echo "cluster/start.sh: start failed; stopping what was started (logs stay in $DIR)" >&2
    bash "$here/stop.sh" "$DIR" >&2 || true
  fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -z "$base" ]]; then
  pick_base
else
  block_is_free || fail "a port in $((base + 1))-$((base + 71)) is in use"
fi
set_ports
[[ -f "$PASSWORD_FILE" ]] || (umask 077 && head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$PASSWORD_FILE" && echo >>"$PASSWORD_FILE")
[[ -f "$SECRET_FILE" ]] || (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$SECRET_FILE" && echo >>"$SECRET_FILE")

# Does this server know MysqlStore.hosts (the sticky primary selector over several nodes)?
STORE_HOSTS=all
mkdir -p "$DIR/probe"
printf 'store { mysql { hosts: ["127.0.0.1:1"] read_timeout_seconds: 5 user: "gridline" password_file: "%s" } }\n' \
  "$PASSWORD_FILE" >"$DIR/probe/server.textproto"
if ! "$server" --config "$DIR/probe/server.textproto" --check_config >"$DIR/probe/check.log" 2>&1; then
  if grep -q 'hosts' "$DIR/probe/check.log"; then
    STORE_HOSTS=node1
    log "this gridline-server has no MysqlStore.hosts: the replicas use node 1 alone (no store failover)"
  fi
fi

# As root, rsync's daemon (the joiner's end of an rsync SST) would run the transfer as nobody,
# who may not write the joiner's data directory. So as root the nodes use the SST method
# "rsync_root": Debian's wsrep_sst_rsync with an rsync first on PATH that keeps the daemon root.
# (mariadbd puts its own directory first on the script's PATH, so the wrapper needs its own name.
# Debian's mariadb.service runs mariadbd as mysql and needs none of this.)
mkdir -p "$DIR/bin"
if (($(id -u) == 0)); then
  cat >"$DIR/bin/rsync" <<'SH'
#!/bin/sh
for arg in "$@"; do
  [ "$arg" = --daemon ] && exec /usr/bin/rsync "$@" -M uid=root -M gid=root
done
exec /usr/bin/rsync "$@"
SH
  cat >"$DIR/bin/wsrep_sst_rsync_root" <<'SH'
#!/bin/sh
PATH="$(dirname "$0"):$PATH" exec /usr/bin/wsrep_sst_rsync "$@"
SH
  chmod +x "$DIR/bin/rsync" "$DIR/bin/wsrep_sst_rsync_root"
fi

started=1
write_env
start_watchdog
write_env

# Node 1 bootstraps a new cluster; 2 and 3 join it one after the other, each by rsync SST (some
# 15 s a node here) from a Synced node. (Copying node 1's data directory instead saves nothing:
# the joiner runs the SST script for the IST too, and both wait for the same donor.)
mkdir -p "$DIR/node1/tmp"
if ! mariadb-install-db --no-defaults --datadir="$DIR/node1/data" --tmpdir="$DIR/node1/tmp" \
    --auth-root-authentication-method=normal --user="$db_user" \
    >"$DIR/node1/mariadb-install.log" 2>&1; then
  cat "$DIR/node1/mariadb-install.log" >&2
  fail "mariadb-install-db failed"
fi
start_node 1 --wsrep-new-cluster
write_env
wait_synced 1
create_users
for i in 2 3; do
  start_node "$i"
  write_env
  wait_synced "$i"
done
wait_cluster_size 3
log "galera: 3 nodes Synced (cluster size 3)"

# Replica 1 first: it migrates the schema (DDL is applied on every node in total order); then
# the other two.
for i in "${REPLICAS[@]}"; do
  start_replica "$i"
  write_env
  ((i == 1)) && wait_replica 1
done
for i in "${REPLICAS[@]}"; do wait_replica "$i"; done

write_haproxy_config
start_haproxy
write_env
wait_haproxy
log "cluster ready: clients use 127.0.0.1:$HAPROXY_PORT (stop: deploy/cluster/stop.sh $DIR)"
cat "$STATE_FILE"
