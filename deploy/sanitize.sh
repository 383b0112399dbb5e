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
#   --jobs N: suites run N at a time (default 2 with --quick, else 1)
#
# Every server the suites start is the sanitized one (GRIDLINE_TEST_SERVER_BINARY, also when the
# suites come from another build), and so are gridctl and the SDK's test app in the full run. A
# report from any process fails the run, even one that no test noticed: ASan's reports go to
# files, one per process, checked at the end; UBSan's are fatal (halt_on_error) and the suites'
# output is searched for them. No ASan or UBSan suppressions are needed.
# The shell-script tests (sdk_consumer, sdk_only_build, packages) and layering_check are not
# run: they test packaging and the build, not code that a sanitizer sees.
#
# --quick, the CI subset: only gridline-server is built with the sanitizers (-O1 -g0: reports
# name functions, not lines; about 13% less compile time than -g1), into build-asan-server/;
# the suites are the already built, unsanitized ones of build/ (`--tests-from DIR` to change),
# run on SQLite only against the sanitized server: the 16 suites of QUICK_SUITES below, every
# one that starts servers except three client-side ones. Not building the suites' executables
# (about 50 s of CPU each with ASan) pays for running ten more suites than before. Covered only
# by the full run: the MariaDB variants, gridctl/SDK/TLS suites, and the in-process suites
# (store, service, domain, runtime, SDK, gridctl) with their own code sanitized.
#
# The full run's build is -O1 with line tables (-g1) for exact reports; generated protobuf code
# is not instrumented (proto/CMakeLists.txt). On a loaded, shared 2-core machine the full build
# took most of an hour and the run of all 28 suites on both stores about 25 minutes. Needs what
# deploy/install-deps.sh --test installs; works from any directory, as root or not.
# ThreadSanitizer is deploy/tsan.sh.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=build-asan
# Every gtest suite (tests/CMakeLists.txt declares each with gridline_test(NAME ...)).
mapfile -t ALL_SUITES < <(sed -n 's/^gridline_test(\([A-Za-z0-9_]*\) .*/\1/p' tests/CMakeLists.txt)
# The CI subset (--quick): every suite that drives the server over gRPC, against the sanitized
# server (the whole server is instrumented, so this is where ASan and UBSan see most of our
# code run). Left to the full run: the in-process suites (their code is sanitized only in
# build-asan/, and ctest runs them unsanitized), and gridctl_test, sdk_e2e_test and
# tls_e2e_test, whose point is the client side (gridctl, the SDK's outbox app, TLS in gRPC) and
# whose server calls the suites below already make; they are also the slowest to start.
QUICK_SUITES=(server_e2e_test attachment_test lifecycle_e2e_test case_source_e2e_test
  supervision_e2e_test accountability_e2e_test admin_e2e_test streams_e2e_test defects_e2e_test
  history_e2e_test overload_e2e_test observability_e2e_test patrol_e2e_test config_test
  security_e2e_test peers_e2e_test)
# A suite that hangs fails after this many seconds (the sanitized server is 2-3 times slower).
SUITE_TIMEOUT=1800

filter='*'
quick=0
jobs=""
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
    --jobs) jobs=$2; shift 2 ;;
    *) echo "sanitize.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
# Suites at a time: two for --quick (SQLite only, each test on its own ports and files), one
# for the full run, whose MariaDB variants are heavier under the sanitizers.
[[ -n "$jobs" ]] || { ((quick)) && jobs=2 || jobs=1; }
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || { echo "sanitize.sh: --jobs wants a positive number" >&2; exit 2; }
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
prefer_ninja
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
  start_test_mariadb "$tmp" gridline-asan 60
fi

section "${#suites[@]} suite(s) under ASan/UBSan ($suite_dir)"
mkdir -p "$tmp/reports" "$tmp/output" "$tmp/cwd"
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
# Runs one suite; its output goes to its log, which is printed when it ends.
run_suite() {
  local suite=$1
  mkdir -p "$tmp/cwd/$suite"
  # From a scratch directory of its own: a server started without --attachments_dir writes into
  # its cwd.
  cd "$tmp/cwd/$suite" && exec timeout --foreground --kill-after=30 "$SUITE_TIMEOUT" \
    "$suite_dir/$suite" --gtest_filter="$filter" --gtest_brief=1 >"$tmp/output/$suite.log" 2>&1
}
# Suites run $jobs at a time: they mostly wait on servers, so two share two cores well.
declare -A pid_suite=() pid_start=()
finish_one() {
  local pid suite_rc=0
  wait -n -p pid "${!pid_suite[@]}" || suite_rc=$?
  local suite=${pid_suite[$pid]}
  cat "$tmp/output/$suite.log"
  if ((suite_rc == 0)); then
    echo "---- $suite: ok, $((SECONDS - pid_start[$pid])) s"
  else
    echo "---- $suite: FAILED (exit status $suite_rc), $((SECONDS - pid_start[$pid])) s"
    failed+=("$suite")
    rc=1
  fi
  unset "pid_suite[$pid]" "pid_start[$pid]"
}
for suite in "${suites[@]}"; do
  while ((${#pid_suite[@]} >= jobs)); do finish_one; done
  run_suite "$suite" &
  pid_suite[$!]=$suite
  pid_start[$!]=$SECONDS
done
while ((${#pid_suite[@]} > 0)); do finish_one; done

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
