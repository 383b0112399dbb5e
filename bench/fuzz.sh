#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ into build-fuzz/ (clang-14, GRIDLINE_FUZZ=ON) and runs
# every one for a given time, two at a time, then prints one table row per harness: executions,
# executions per second, coverage (cov: and ft: of libFuzzer's last status line), corpus size and
# crashes. Exits non-zero if any harness crashed (a crash, a sanitizer report, a leak, a timeout
# or running out of memory), printing the path of each input that did; the work directory is
# then kept.
#
#   bash bench/fuzz.sh --seconds 600          # every harness ten minutes (by hand)
#   bash bench/fuzz.sh --ci                   # deploy/test.sh: 10 s each, plus the regressions
#   bash bench/fuzz.sh --seconds 60 fuzz_upload fuzz_image   # some harnesses only
#
# Slow units (inputs that took over 10 s but finished) are listed apart and do not fail the run.
# Options: --seconds N (default 60), --jobs N harnesses at once (default 2), --work DIR (keep the
# corpora and logs there; default a temporary directory, removed after a clean run), --no-build.
# Each harness's working corpus starts from fuzz/corpus/<harness>/ (seeds written by
# fuzz/write_seeds.cc from the tests' data) and, in --ci mode, first runs once over every input of
# fuzz/regressions/<harness>/ (inputs that crashed once; each must pass now). Dictionaries are
# fuzz/dict/<harness>.dict when present. Leak checking is on (ASAN_OPTIONS detect_leaks=1).
#
# Runs under `nice` (the build at 10, the fuzzers at FUZZ_NICE, default 19): the machine is
# shared. Needs clang-14 and libfuzzer-14-dev (deploy/install-deps.sh --test). Works from any
# directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
HARNESSES=(fuzz_config fuzz_image fuzz_organisation fuzz_requests fuzz_tokens fuzz_upload)
CI_SECONDS=10
seconds=60
jobs=2
ci=0
build=1
work=""
only=()
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --ci) ci=1; seconds=$CI_SECONDS; shift ;;
    --work) work=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    fuzz_*) only+=("$1"); shift ;;
    *) echo "fuzz.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
((${#only[@]} > 0)) && HARNESSES=("${only[@]}")
nice_level=${FUZZ_NICE:-19}

section() { printf '\n========== %s  [%ds]\n' "$*" "$SECONDS"; }
fail() { echo "fuzz.sh: $*" >&2; exit 1; }

if ((build)); then
  section "build ($BUILD_DIR: clang-14, -fsanitize=fuzzer,address,undefined)"
  command -v clang++-14 >/dev/null || fail "clang++-14 not found (deploy/install-deps.sh --test)"
  build_start=$SECONDS
  source deploy/lib.sh
  prefer_ninja
  if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
    nice -n 10 cmake -S . -B "$BUILD_DIR" -DCMAKE_CXX_COMPILER=clang++-14 \
      -DCMAKE_C_COMPILER=clang-14 -DGRIDLINE_FUZZ=ON >/dev/null
  fi
  nice -n 10 cmake --build "$BUILD_DIR" -j2 --target fuzzers
  echo "build: $((SECONDS - build_start)) s"
fi
for h in "${HARNESSES[@]}"; do
  [[ -x "$BUILD_DIR/fuzz/$h" ]] || fail "$BUILD_DIR/fuzz/$h was not built"
done

keep_work=0
if [[ -z "$work" ]]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/gridline-fuzz.XXXXXX")
else
  mkdir -p "$work"
  keep_work=1
fi
cleanup() {
  local rc=$?
  if ((rc == 0 && !keep_work)); then rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Leaks are reported (LeakSanitizer) and every report aborts with the input saved. No
# suppressions are needed: protobuf and gRPC free what the harnesses make them allocate.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# The libFuzzer options of every run: at most 25 s per input (wall time: on a shared, loaded
# machine an input of a millisecond has been seen to stall 10 s), 2 GB of memory, inputs up to
# 64 KiB (a few photo chunks; the seeds are smaller).
TIMEOUT=25
fuzz_flags=(-timeout=$TIMEOUT -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1)

regression_rc=0
if ((ci)); then
  section "regressions (fuzz/regressions/<harness>/, each input once)"
  for h in "${HARNESSES[@]}"; do
    shopt -s nullglob
    inputs=(fuzz/regressions/"$h"/*)
    shopt -u nullglob
    if ((${#inputs[@]} == 0)); then
      printf '%-18s no inputs\n' "$h"
      continue
    fi
    if nice -n "$nice_level" "$BUILD_DIR/fuzz/$h" "${inputs[@]}" >"$work/$h.regressions.log" 2>&1; then
      printf '%-18s %d inputs: ok\n' "$h" "${#inputs[@]}"
    else
      printf '%-18s FAILED (log %s)\n' "$h" "$work/$h.regressions.log"
      tail -30 "$work/$h.regressions.log"
      regression_rc=1
      keep_work=1
    fi
  done
fi

# One harness: its own corpus copy, its crashes under $work/crashes/<harness>/.
run_one() {
  local h=$1
  local corpus="$work/corpus/$h" crashes="$work/crashes/$h/"
  mkdir -p "$corpus" "$crashes"
  if [[ -d "fuzz/corpus/$h" ]]; then cp -r "fuzz/corpus/$h/." "$corpus/"; fi
  local dict=()
  [[ -f "fuzz/dict/$h.dict" ]] && dict=(-dict="fuzz/dict/$h.dict")
  local start=$SECONDS rc=0
  nice -n "$nice_level" "$BUILD_DIR/fuzz/$h" "${fuzz_flags[@]}" "${dict[@]}" \
    -max_total_time="$seconds" -artifact_prefix="$crashes" "$corpus" >"$work/$h.log" 2>&1 || rc=$?
  echo "$rc $((SECONDS - start))" >"$work/$h.status"
}

section "fuzzing: ${#HARNESSES[@]} harnesses, ${seconds} s each, $jobs at a time (work dir $work)"
running=0
for h in "${HARNESSES[@]}"; do
  run_one "$h" &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

section "results"
printf '%-18s %7s %12s %8s %7s %8s %7s %7s %5s\n' harness seconds executions exec/s cov ft corpus crashes slow
crash_rc=0
crash_inputs=()
for h in "${HARNESSES[@]}"; do
  log="$work/$h.log"
  read -r rc took <"$work/$h.status"
  execs=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log" | tail -1)
  rate=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log" | tail -1)
  # The last status line ("#N  DONE  cov: C ft: F corp: ..."), or the last one before a crash.
  status_line=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status_line")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$status_line")
  corpus=$(find "$work/corpus/$h" -type f | wc -l)
  shopt -s nullglob
  # crash-, leak-, timeout-, oom-: what libFuzzer stops for. slow-unit-: an input that took
  # more than 10 s (-report_slow_units) but finished; listed, not counted as a crash.
  found=("$work/crashes/$h/"{crash,leak,timeout,oom}-*)
  slow=("$work/crashes/$h/"slow-unit-*)
  shopt -u nullglob
  # A timeout counts only if the input is slow again on its own (the machine may have stalled).
  confirmed=()
  for f in "${found[@]}"; do
    if [[ "$(basename "$f")" == timeout-* ]]; then
      aside="$work/unconfirmed/$h"
      mkdir -p "$aside"
      if nice -n "$nice_level" "$BUILD_DIR/fuzz/$h" -timeout=$TIMEOUT "$f" \
        >"$aside/$(basename "$f").recheck.log" 2>&1; then
        mv "$f" "$aside/"
        echo "fuzz.sh: $h: $(basename "$f") timed out but runs in time alone: not counted" \
          "(moved to $aside)" >&2
        continue
      fi
    fi
    confirmed+=("$f")
  done
  found=("${confirmed[@]}")
  if ((rc != 0 && ${#found[@]} == 0)) && grep -q 'ERROR: libFuzzer: timeout' "$log"; then
    rc=0  # libFuzzer's exit status of the unconfirmed timeout
  fi
  printf '%-18s %7s %12s %8s %7s %8s %7s %7s %5s\n' "$h" "$took" "${execs:--}" "${rate:--}" \
    "${cov:--}" "${ft:--}" "$corpus" "${#found[@]}" "${#slow[@]}"
  for f in "${slow[@]}"; do echo "  slow unit (not a crash): $f" >&2; done
  if ((rc != 0 || ${#found[@]} > 0)); then
    crash_rc=1
    keep_work=1
    crash_inputs+=("$h: exit status $rc, log $log")
    for f in "${found[@]}"; do crash_inputs+=("$h: input $f"); done
  fi
done

if ((crash_rc != 0)); then
  echo
  echo "fuzz.sh: crashes (reproduce with $BUILD_DIR/fuzz/<harness> <input>):" >&2
  printf '  %s\n' "${crash_inputs[@]}" >&2
fi
((regression_rc == 0)) || echo "fuzz.sh: a regression input failed" >&2
if ((crash_rc != 0 || regression_rc != 0)); then exit 1; fi
echo "fuzz.sh: no crashes (work directory: $( ((keep_work)) && echo "$work" || echo removed))"
