#!/usr/bin/env bash
# A longer measurement on the loopback cluster than the suite's five seconds: starts a cluster
# (deploy/cluster/start.sh, in a temporary directory), runs cluster_e2e_test's throughput test for
# SECONDS with WRITERS handsets through HAProxy, prints reports/s, latency, the store's conflicts
# and retries and Galera's certification failures, and stops the cluster.
#
#   deploy/cluster/soak.sh [--seconds N] [--writers N] [--multi-primary] [--flush 0|1|2]
#                          [--build DIR] [--all]
#
# --multi-primary  each replica writes to a node of its own (the design writes to one node)
# --flush          innodb_flush_log_at_trx_commit on the nodes (default 2)
# --all            also the fault tests (replica SIGKILL, writer node SIGKILL, SIGSTOP)
# Needs a build (default build/) with cluster_e2e_test and gridline-server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

seconds=60
writers=6
build=build
filter='ClusterTest.Throughput*'
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --writers) writers=$2; shift 2 ;;
    --multi-primary) export GRIDLINE_CLUSTER_MULTI_PRIMARY=1; shift ;;
    --flush) export GRIDLINE_CLUSTER_FLUSH=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --all) filter='ClusterTest.*'; shift ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
test_binary="$build/tests/cluster_e2e_test"
[[ -x "$test_binary" ]] || {
  echo "soak.sh: $test_binary not found; build it: cmake --build $build --target cluster_e2e_test" >&2
  exit 1
}
export GRIDLINE_CLUSTER_SOAK_SECONDS=$seconds GRIDLINE_CLUSTER_SOAK_WRITERS=$writers
export GRIDLINE_REQUIRE_MYSQL=1
exec "$test_binary" --gtest_filter="$filter"
