# Shell helpers shared by the scripts of deploy/ and bench/. Source it after defining
# `fail MESSAGE` (prints and exits); the caller's cleanup trap stops what these start.

# Builds with Ninja when it is installed (deploy/install-deps.sh installs ninja-build): Ninja
# compiles a library's files while the libraries it links are still being built, where make's
# target order leaves one of two cores idle. CMake reads CMAKE_GENERATOR only for a new build
# directory, so one made with make stays a make build.
prefer_ninja() {
  if [[ -z "${CMAKE_GENERATOR:-}" ]] && command -v ninja >/dev/null 2>&1; then
    export CMAKE_GENERATOR=Ninja
  fi
}

# True once process $1 is gone, false if it is still there after $2 seconds.
wait_gone() {
  local pid=$1 timeout=$2 i
  for ((i = 0; i < timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  ! kill -0 "$pid" 2>/dev/null
}

# Sends SIGTERM to a child process, waits up to $2 seconds, then SIGKILL.
stop_process() {
  local pid=$1 timeout=$2
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$timeout"; then
    echo "$(basename "$0"): pid $pid did not stop within ${timeout}s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# True if nothing accepts connections on 127.0.0.1:$1.
port_is_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a random free loopback port in 20000-32000 (below the ephemeral range).
pick_free_port() {
  local attempt port
  for ((attempt = 0; attempt < 200; attempt++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 12001))
    if port_is_free "$port"; then
      echo "$port"
      return 0
    fi
  done
  fail "found no free loopback port in 20000-32000"
}

# start_throwaway_mariadb DIR PASSWORD TIMEOUT: a MariaDB with its data in DIR/data, listening on
# a free loopback port, with a user gridline@127.0.0.1 and gridline@% (PASSWORD) who may do
# anything. Sets MARIADB_PORT and mariadb_pid; defines mariadb_root (root over the socket).
# MARIADB_BUFFER_POOL (default 128M) and MARIADB_EXTRA_OPTS (words added to mariadbd's
# command line) tune it for benchmarks.
start_throwaway_mariadb() {
  local dir=$1 password=$2 timeout=$3 db_user deadline
  command -v mariadbd >/dev/null || fail "mariadbd not found (apt-get install mariadb-server)"
  db_user=$(id -un)  # mariadbd runs as root only if told so explicitly
  if ! mariadb-install-db --no-defaults --datadir="$dir/data" \
      --auth-root-authentication-method=normal --user="$db_user" >"$dir/mariadb-install.log" 2>&1; then
    cat "$dir/mariadb-install.log" >&2
    fail "mariadb-install-db failed"
  fi
  MARIADB_PORT=$(pick_free_port)
  mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mysql.sock" \
    --port="$MARIADB_PORT" --bind-address=127.0.0.1 --user="$db_user" --skip-name-resolve \
    --innodb-buffer-pool-size="${MARIADB_BUFFER_POOL:-128M}" --max-connections=1000 --log-error="$dir/mariadb.err" \
    --pid-file="$dir/mariadb.pid" ${MARIADB_EXTRA_OPTS:-} </dev/null >"$dir/mariadbd.out" 2>&1 &
  mariadb_pid=$!
  MARIADB_SOCKET="$dir/mysql.sock"
  mariadb_root() { mariadb --no-defaults -S "$MARIADB_SOCKET" -uroot "$@"; }
  deadline=$((SECONDS + timeout))
  until mariadb_root -e 'SELECT 1' >/dev/null 2>&1; do
    if ! kill -0 "$mariadb_pid" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "---- $dir/mariadb.err" >&2
      cat "$dir/mariadb.err" "$dir/mariadbd.out" >&2 2>/dev/null || true
      if kill -0 "$mariadb_pid" 2>/dev/null; then
        fail "MariaDB did not answer within ${timeout}s"
      fi
      fail "MariaDB exited during start-up (see its error log above)"
    fi
    sleep 0.5
  done
  mariadb_root <<SQL
CREATE USER 'gridline'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL ON *.* TO 'gridline'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER 'gridline'@'%' IDENTIFIED BY '$password';
GRANT ALL ON *.* TO 'gridline'@'%' WITH GRANT OPTION;
SQL
  mariadb --no-defaults -h127.0.0.1 -P"$MARIADB_PORT" -ugridline -p"$password" \
    -e 'SELECT 1' >/dev/null || fail "cannot log in to MariaDB as gridline over TCP"
}

# start_test_mariadb DIR PASSWORD TIMEOUT: start_throwaway_mariadb, then exports the
# GRIDLINE_TEST_MYSQL_* variables with which the store tests use it (and must: REQUIRE_MYSQL).
start_test_mariadb() {
  start_throwaway_mariadb "$1" "$2" "$3"
  export GRIDLINE_TEST_MYSQL_HOST=127.0.0.1
  export GRIDLINE_TEST_MYSQL_PORT="$MARIADB_PORT"
  export GRIDLINE_TEST_MYSQL_USER=gridline
  export GRIDLINE_TEST_MYSQL_PASSWORD="$2"
  export GRIDLINE_REQUIRE_MYSQL=1
}

# The EXIT trap of scripts that start a throwaway MariaDB with its data in $tmp: stops it
# ($mariadb_pid), removes $tmp, and keeps the script's exit status. Install with
#   trap cleanup_mariadb_and_tmp EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
cleanup_mariadb_and_tmp() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "${mariadb_pid:-}" ]]; then
    stop_process "$mariadb_pid" 30
  fi
  if [[ -n "${tmp:-}" ]]; then
    rm -rf "$tmp"
  fi
  exit "$rc"
}
