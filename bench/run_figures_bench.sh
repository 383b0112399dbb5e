#!/usr/bin/env bash
# Runs bench/figures_bench (issue 11) on SQLite and on a throwaway MariaDB, at the sizes given
# (default 50000), printing one table per store and size. Heavy: at 5,000,000 cases the fill
# alone takes minutes and the figures, as computed today, much longer; run it by hand, not in CI.
#
#   bash bench/run_figures_bench.sh                 # 50,000 cases
#   bash bench/run_figures_bench.sh 50000 5000000   # both sizes of the issue
#
# Needs the build (deploy/test.sh or cmake --build build) and mariadb-server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sizes=("$@")
((${#sizes[@]} > 0)) || sizes=(50000)
bench=build/bench/figures_bench
[[ -x "$bench" ]] || { echo "run_figures_bench.sh: build $bench first" >&2; exit 1; }

fail() { echo "run_figures_bench.sh: $*" >&2; exit 1; }
tmp=""
mariadb_pid=""
source deploy/lib.sh
trap cleanup_mariadb_and_tmp EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridline-figures.XXXXXX")
start_throwaway_mariadb "$tmp" gridline-bench 60
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for n in "${sizes[@]}"; do
  "$bench" --sqlite "$tmp/figures-$n.db" --cases "$n" --repeats 3
  "$bench" --mysql_host 127.0.0.1 --mysql_port "$MARIADB_PORT" --mysql_user gridline \
    --mysql_password gridline-bench --mysql_database "figures_$n" --cases "$n" --repeats 3
done
