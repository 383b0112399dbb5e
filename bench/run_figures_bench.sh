#!/usr/bin/env bash
# Runs bench/figures_bench (issue 11) on SQLite and on a throwaway MariaDB, at the sizes given
# (default 50000), printing one table per store and size. Heavy: at 5,000,000 cases the fills
# take about an hour each and 20-30 GB of disk; run it by hand, not in CI.
#
#   bash bench/run_figures_bench.sh                 # 50,000 cases
#   bash bench/run_figures_bench.sh 50000 5000000   # both sizes of the issue
#   FIGURES_STORES=mariadb bash bench/run_figures_bench.sh 5000000   # one store only
#
# Needs the build (deploy/test.sh or cmake --build build) and mariadb-server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sizes=("$@")
((${#sizes[@]} > 0)) || sizes=(50000)
bench=${FIGURES_BENCH:-build/bench/figures_bench}
[[ -x "$bench" ]] || { echo "run_figures_bench.sh: build $bench first" >&2; exit 1; }

fail() { echo "run_figures_bench.sh: $*" >&2; exit 1; }
tmp=""
mariadb_pid=""
source deploy/lib.sh
trap cleanup_mariadb_and_tmp EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridline-figures.XXXXXX")
# Sized like a production server for millions of cases: a buffer pool of a quarter of memory
# (at most 8 GiB), and the redo log flushed once a second rather than at every commit.
pool_mib=$(awk '/MemTotal/ {m = int($2 / 1024 / 4); print (m > 8192 ? 8192 : m)}' /proc/meminfo)
MARIADB_BUFFER_POOL="${pool_mib}M" \
  MARIADB_EXTRA_OPTS="--innodb-flush-log-at-trx-commit=2 --innodb-log-file-size=1G" \
  start_throwaway_mariadb "$tmp" gridline-bench 60
echo "MariaDB: innodb_buffer_pool_size ${pool_mib} MiB, innodb_flush_log_at_trx_commit 2"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
stores=${FIGURES_STORES:-sqlite mariadb}
for n in "${sizes[@]}"; do
  if [[ " $stores " == *" sqlite "* ]]; then
    "$bench" --sqlite "$tmp/figures-$n.db" --cases "$n" --repeats 5
  fi
  if [[ " $stores " == *" mariadb "* ]]; then
    "$bench" --mysql_host 127.0.0.1 --mysql_port "$MARIADB_PORT" --mysql_user gridline \
      --mysql_password gridline-bench --mysql_database "figures_$n" --cases "$n" --repeats 5
  fi
done
