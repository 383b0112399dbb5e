#!/usr/bin/env bash
# Builds the server and the reactor-heavy test suites with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/, then runs those suites (uploads, downloads, the
# imports and the three watches, plus the regression suite of issue 10) on SQLite and on a
# throwaway MariaDB. Every server the tests start is the sanitized one; a report from any of
# them fails the run, even one that a test did not notice (reports go to files, checked at the
# end).
#
#   bash deploy/sanitize.sh            # build and run every test of the suites, both stores
#   bash deploy/sanitize.sh --quick    # the CI run (deploy/test.sh): SQLite variants only
#   bash deploy/sanitize.sh --filter 'Attachment*'   # a gtest filter for the suites
#
# The build is -O1 with line tables (-g1): enough for exact reports, about half the compile
# time of -O2 -g. The generated protobuf code is not instrumented (proto/CMakeLists.txt).
#
# Needs what deploy/install-deps.sh --test installs. Works from any directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=build-asan
TARGETS=(gridline-server attachment_test streams_e2e_test defects_e2e_test admin_e2e_test)
SUITES=(attachment_test streams_e2e_test defects_e2e_test admin_e2e_test)
filter='*'
quick=0
while (($#)); do
  case "$1" in
    --filter) filter=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "sanitize.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

section() { printf '\n========== %s  [%ds]\n' "$*" "$SECONDS"; }
fail() { echo "sanitize.sh: $*" >&2; exit 1; }

tmp=""
mariadb_pid=""
source deploy/lib.sh

trap cleanup_mariadb_and_tmp EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

section "build ($BUILD_DIR, -fsanitize=address,undefined)"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DGRIDLINE_SANITIZE=address,undefined >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${TARGETS[@]}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridline-asan.XXXXXX")
if ((quick)); then
  # The reactors are the same on both stores; the MariaDB variants run in the full run.
  [[ "$filter" == '*' ]] && filter='-*/MariaDB'
  unset GRIDLINE_TEST_MYSQL_HOST GRIDLINE_REQUIRE_MYSQL
else
  section "throwaway MariaDB"
  start_throwaway_mariadb "$tmp" gridline-asan 60
  export GRIDLINE_TEST_MYSQL_HOST=127.0.0.1
  export GRIDLINE_TEST_MYSQL_PORT="$MARIADB_PORT"
  export GRIDLINE_TEST_MYSQL_USER=gridline
  export GRIDLINE_TEST_MYSQL_PASSWORD=gridline-asan
  export GRIDLINE_REQUIRE_MYSQL=1
fi

section "suites under ASan/UBSan"
mkdir -p "$tmp/reports"
# Reports go to files (one per process) as well as making the process fail. gRPC and
# Connector/C++ are not instrumented; their one-time allocations at exit are not leaks of
# ours, so leak checking stays off here (LeakSanitizer runs in the fuzzing issue's harnesses).
export ASAN_OPTIONS="log_path=$tmp/reports/asan:detect_leaks=0:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="log_path=$tmp/reports/ubsan:print_stacktrace=1:halt_on_error=1"
rc=0
for suite in "${SUITES[@]}"; do
  echo "---- $suite"
  "$BUILD_DIR/tests/$suite" --gtest_filter="$filter" --gtest_brief=1 || rc=1
done

section "sanitizer reports"
shopt -s nullglob
reports=("$tmp"/reports/*)
if ((${#reports[@]} > 0)); then
  for r in "${reports[@]}"; do
    echo "---- $r"
    cat "$r"
  done
  fail "${#reports[@]} sanitizer report(s)"
fi
echo "no sanitizer reports"
((rc == 0)) || fail "a suite failed under the sanitizers"
echo "sanitize.sh: all passed"
