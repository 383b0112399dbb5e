#!/usr/bin/env bash
# AddressSanitizer and UndefinedBehaviorSanitizer over the test suite, in build-asan/ (the
# server alone in build-asan-server/ for --quick and --tests-from).
#
#   bash deploy/sanitize.sh            # the whole suite: the server and every gtest suite of
#                                      # tests/CMakeLists.txt built with ASan+UBSan, run on
#                                      # SQLite and on a throwaway MariaDB
#   bash deploy/sanitize.sh --sqlite   # the same, SQLite variants only (no MariaDB)
#   bash deploy/sanitize.sh --quick    # the CI run (deploy/test.sh), see below
#   bash deploy/sanitize.sh --suites 'streams_e2e_test admin_e2e_test' --filter 'Watch*'
#
# Every server the suites start is the sanitized one (GRIDLINE_TEST_SERVER_BINARY, also when the
# suites come from another build), and so are gridctl and the SDK's test app in the full run. A
# report from any process fails the run, even one that no test noticed: ASan's reports go to
# files, one per process, checked at the end; UBSan's are fatal (halt_on_error) and the suites'
# output is searched for them. No ASan or UBSan suppressions are needed.
# The shell-script tests (sdk_consumer, sdk_only_build, packages) and layering_check are not
# run: they test packaging and the build, not code that a sanitizer sees.
#
# --quick, the CI subset: only gridline-server is built with the sanitizers (-O1, no debug info:
# function names, no lines); the end-to-end suites are the already built, unsanitized ones of
# build/ (`--tests-from DIR` to change), and they run on SQLite only, against the sanitized
# server. Each suite of QUICK_SUITES below exercises a part of the server that no other covers
# as well (see there). Covered only by the full run: the other suites, the MariaDB variants, the
# in-process suites (store, service, domain, runtime, SDK, gridctl) with their own code
# sanitized.
#
# The build is -O1 with line tables (-g1) for exact reports; generated protobuf code is not
# instrumented (proto/CMakeLists.txt). Full run: about an hour here (40 min of it the build);
# --quick: about 10 minutes. Needs what deploy/install-deps.sh --test installs; works from any
# directory, as root or not. ThreadSanitizer is deploy/tsan.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=build-asan
# Every gtest suite (tests/CMakeLists.txt declares each with gridline_test(NAME ...)).
mapfile -t ALL_SUITES < <(sed -n 's/^gridline_test(\([A-Za-z0-9_]*\) .*/\1/p' tests/CMakeLists.txt)
# The CI subset (--quick), each chosen for what it drives in the server:
#   streams_e2e_test    the three watches: the event hub, its poller, stream reactors, shutdown
#   attachment_test     photo uploads and downloads: client-streaming reactors and the pool
#   admin_e2e_test      the admin RPCs, organisation imports (streaming), audit, statistics
#   defects_e2e_test    the regression suite of issue 10: malformed input from outside
#   lifecycle_e2e_test  every case action through the transition table
#   overload_e2e_test   admission control: a full pool and queue, RESOURCE_EXHAUSTED
QUICK_SUITES=(streams_e2e_test attachment_test admin_e2e_test defects_e2e_test
  lifecycle_e2e_test overload_e2e_test)
# A suite that hangs fails after this many seconds (the sanitized server is 2-3 times slower).
SUITE_TIMEOUT=1800

filter='*'
quick=0
sqlite_only=0
tests_from=""
suites=()
while (($#)); do
  case "$1" in
    --filter) filter=$2; shift 2 ;;
    --quick) quick=1; sqlite_only=1; shift ;;
    --sqlite) sqlite_only=1; shift ;;
    --suites) read -r -a suites <<<"$2"; shift 2 ;;
    --tests-from) tests_from=$2; shift 2 ;;
    *) echo "sanitize.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if ((quick)); then
  ((${#suites[@]})) || suites=("${QUICK_SUITES[@]}")
  [[ -n "$tests_from" ]] || tests_from=build
fi
((${#suites[@]})) || suites=("${ALL_SUITES[@]}")
for s in "${suites[@]}"; do
  [[ " ${ALL_SUITES[*]} " == *" $s "* ]] || { echo "sanitize.sh: no gtest suite '$s'" >&2; exit 2; }
done

section() { printf '\n========== %s  [%ds]\n' "$*" "$SECONDS"; }
fail() { echo "sanitize.sh: $*" >&2; exit 1; }

tmp=""
mariadb_pid=""
source deploy/lib.sh

trap cleanup_mariadb_and_tmp EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n "$tests_from" ]]; then
  # Only the server is sanitized; the suites are another build's. A build directory of its own:
  # its flags differ from the full run's, and switching would rebuild everything.
  BUILD_DIR=build-asan-server
  targets=(gridline-server)
  suite_dir=$(cd "$tests_from" && pwd)/tests
  for s in "${suites[@]}"; do
    [[ -x "$suite_dir/$s" ]] || fail "$suite_dir/$s not found: build $tests_from first"
  done
  debug="-g0"
else
  targets=(gridline-server "${suites[@]}")
  suite_dir="$PWD/$BUILD_DIR/tests"
  debug="-g1"
fi

section "build ($BUILD_DIR, -fsanitize=address,undefined, -O1 $debug): ${targets[*]}"
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 $debug -DNDEBUG" \
  -DGRIDLINE_SANITIZE=address,undefined >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${targets[@]}"
export GRIDLINE_TEST_SERVER_BINARY="$PWD/$BUILD_DIR/server/gridline-server"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/gridline-asan.XXXXXX")
if ((sqlite_only)); then
  # The MariaDB variants are skipped (the store suites say so) unless MariaDB is configured.
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

section "${#suites[@]} suite(s) under ASan/UBSan ($suite_dir)"
mkdir -p "$tmp/reports" "$tmp/output"
# The suites and every process they start inherit these. GCC's UBSan runtime (libubsan, apart
# from libasan) ignores log_path: its reports go to stderr, where halt_on_error makes each one
# fatal (a server that has one dies, and its test fails); the suites' own output is searched
# for them below. gRPC and Connector/C++ are not
# instrumented; their one-time allocations at exit are not leaks of ours, so leak checking
# stays off here (LeakSanitizer runs in the fuzzing issue's harnesses).
export ASAN_OPTIONS="log_path=$tmp/reports/asan:detect_leaks=0:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="log_path=$tmp/reports/ubsan:print_stacktrace=1:halt_on_error=1"
rc=0
failed=()
for suite in "${suites[@]}"; do
  start=$SECONDS
  suite_rc=0
  timeout --foreground --kill-after=30 "$SUITE_TIMEOUT" "$suite_dir/$suite" --gtest_filter="$filter" \
    --gtest_brief=1 2>&1 | tee "$tmp/output/$suite.log" || suite_rc=$?
  if ((suite_rc == 0)); then
    echo "---- $suite: ok, $((SECONDS - start)) s"
  else
    echo "---- $suite: FAILED (exit status $suite_rc), $((SECONDS - start)) s"
    failed+=("$suite")
    rc=1
  fi
done

section "sanitizer reports"
shopt -s nullglob
reports=("$tmp"/reports/*)
while IFS= read -r f; do reports+=("$f"); done < <(grep -l 'runtime error:' "$tmp"/output/*.log)
if ((${#reports[@]} > 0)); then
  for r in "${reports[@]}"; do
    echo "---- $r"
    cat "$r"
  done
  fail "${#reports[@]} sanitizer report(s)"
fi
echo "no sanitizer reports"
((rc == 0)) || fail "failed under the sanitizers: ${failed[*]}"
echo "sanitize.sh: all ${#suites[@]} suite(s) passed"
