#!/usr/bin/env bash
# Builds the server and the suites of the store, the event hub, the streams and the worker pool
# with ThreadSanitizer into build-tsan/, then runs them on SQLite and on a throwaway MariaDB:
#   store_conformance_test   every store method, on both stores, incl. concurrent writers
#   runtime_test             the worker pool's admission and the event hub's call-outs
#   peer_hub_test            two hubs and the peer notifier's thread (issue 16), fake wire
#   streams_e2e_test         the three watches against a TSan-built server (hub, poller, streams)
#   overload_e2e_test        load shedding: the pool's bounded queue under many calls
#   attachment_test          uploads and downloads: reactors handing chunks to the pool
# Every server the tests start is the TSan-built one; a report from any process fails the run,
# even one that no test noticed (reports go to files, checked at the end).
#
#   bash deploy/tsan.sh                       # build, then run every suite on both stores
#   bash deploy/tsan.sh --sqlite              # SQLite variants only (no MariaDB needed)
#   bash deploy/tsan.sh --filter 'Watch*'     # a gtest filter for the suites
#
# gRPC, protobuf, abseil, Connector/C++ and the generated protobuf code are not instrumented
# (ThreadSanitizer cannot see their locks). deploy/tsan.supp suppresses, narrowly, the reports
# that come only from that; it says why for each entry. ThreadSanitizer cannot be combined with
# AddressSanitizer (deploy/sanitize.sh): this is a build directory of its own.
#
# The build is -O1 with line tables (-g1). Needs what deploy/install-deps.sh --test installs.
# Works from any directory, as root or not. Not part of CI (deploy/test.sh): on this shared
# 2-core machine under load the build took 47 minutes (560 s of CPU) and the run 8. Under heavy
# load a TSan-built server can take longer than attachment_test's 30 s upload deadline to
# decode its largest photos (DEADLINE_EXCEEDED, no report): rerun on a quieter machine.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=build-tsan
SUITES=(store_conformance_test runtime_test peer_hub_test streams_e2e_test overload_e2e_test
  attachment_test)
SUPPRESSIONS="$PWD/deploy/tsan.supp"
filter='*'
sqlite_only=0
while (($#)); do
  case "$1" in
    --filter) filter=$2; shift 2 ;;
    --sqlite) sqlite_only=1; shift ;;
    *) echo "tsan.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

section() { printf '\n========== %s  [%ds]\n' "$*" "$SECONDS"; }
fail() { echo "tsan.sh: $*" >&2; exit 1; }

tmp=""
mariadb_pid=""
source deploy/lib.sh

trap cleanup_mariadb_and_tmp EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

section "build ($BUILD_DIR, -fsanitize=thread)"
prefer_ninja
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DGRIDLINE_SANITIZE=thread >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target gridline-server "${SUITES[@]}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridline-tsan.XXXXXX")
if ((sqlite_only)); then
  [[ "$filter" == '*' ]] && filter='-*/MariaDB'
  unset GRIDLINE_TEST_MYSQL_HOST GRIDLINE_REQUIRE_MYSQL
else
  section "throwaway MariaDB"
  start_test_mariadb "$tmp" gridline-tsan 60
fi

section "suites under ThreadSanitizer"
mkdir -p "$tmp/reports" "$tmp/cwd"
# The tests and every server they start inherit this: reports go to one file per process.
# halt_on_error=0: a process goes on after a report, so one run shows them all (each still
# fails the run). A TSan-built process is 5-15 times slower: the suites' timeouts allow for it.
export TSAN_OPTIONS="log_path=$tmp/reports/tsan:suppressions=$SUPPRESSIONS:halt_on_error=0:second_deadlock_stack=1:history_size=4"
tests_dir="$PWD/$BUILD_DIR/tests"
rc=0
for suite in "${SUITES[@]}"; do
  start=$SECONDS
  suite_rc=0
  # From a scratch directory: a server started without --attachments_dir writes into its cwd.
  (cd "$tmp/cwd" && exec timeout --foreground --kill-after=30 2400 \
    "$tests_dir/$suite" --gtest_filter="$filter" --gtest_brief=1) || suite_rc=$?
  echo "---- $suite: $( ((suite_rc == 0)) && echo ok || echo "FAILED ($suite_rc)"), $((SECONDS - start)) s"
  ((suite_rc == 0)) || rc=1
done

section "ThreadSanitizer reports"
shopt -s nullglob
reports=("$tmp"/reports/*)
if ((${#reports[@]} > 0)); then
  for r in "${reports[@]}"; do
    echo "---- $r"
    cat "$r"
  done
  fail "${#reports[@]} process(es) with ThreadSanitizer reports"
fi
echo "no ThreadSanitizer reports"
((rc == 0)) || fail "a suite failed under ThreadSanitizer"
echo "tsan.sh: all passed"
