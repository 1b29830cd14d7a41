#!/usr/bin/env bash
# Builds and runs the unit and integration tests under AddressSanitizer and under
# ThreadSanitizer (see docs/RELIABILITY.md, "Sanitizers").
#
#   scripts/sanitize.sh [address|thread|all] [swift test filter]
#
# Each sanitizer has its own build folder (.build-asan, .build-tsan; git-ignored), so the
# normal .build is untouched. `swift build --sanitize=X` instruments every target, the
# `orderpush` executable included, and the integration tests start the `orderpush` that
# sits next to the test binary (Tests/IntegrationTests/Support/ServerProcess.swift), so the
# server processes they spawn are instrumented too.
#
# Sanitizer reports go to files, not only to stderr: the integration tests capture the
# server's stderr, so a report printed there would be seen by nobody. Every process (test
# runner and each spawned server) writes <SANITIZE_LOG_DIR>/<sanitizer>.<pid> when it has
# something to report; the script lists them at the end. A process with a report exits
# non-zero (ASan: at the first error; TSan: 66 at exit), which fails the test that waits
# for it.
#
# Suppressions (each with its reason): scripts/sanitizer-suppressions/{lsan,tsan}.supp.
#
# Exit status: 0 when every selected run passed and left no report.
set -uo pipefail
cd "$(dirname "$0")/.."

WHICH=${1:-all}
FILTER=${2:-}
LOG_DIR=${SANITIZE_LOG_DIR:-.build-sanitize-logs}
mkdir -p "$LOG_DIR"
LOG_DIR=$(cd "$LOG_DIR" && pwd)

case $WHICH in
  address) selected=(address) ;;
  thread) selected=(thread) ;;
  all) selected=(address thread) ;;
  *) echo "usage: scripts/sanitize.sh [address|thread|all] [filter]" >&2; exit 2 ;;
esac

# Swift's crash backtracer would attach to a failing process; the sanitizers report themselves.
export SWIFT_BACKTRACE=enable=no

overall=0
summary=()
for s in "${selected[@]}"; do
  case $s in
    address) scratch=.build-asan; short=asan
             # Leak checking stays on: a leak at exit is a report like any other, except the
             # test runner's own fixtures (see the suppressions file).
             export ASAN_OPTIONS="log_path=$LOG_DIR/asan:detect_leaks=1"
             export LSAN_OPTIONS="suppressions=$PWD/scripts/sanitizer-suppressions/lsan.supp:print_suppressions=0" ;;
    thread)  scratch=.build-tsan; short=tsan
             export TSAN_OPTIONS="log_path=$LOG_DIR/tsan:halt_on_error=0:suppressions=$PWD/scripts/sanitizer-suppressions/tsan.supp" ;;
  esac
  rm -f "$LOG_DIR/$short".*
  start=$SECONDS
  echo "sanitize: building with --sanitize=$s into $scratch"
  if ! swift build --build-tests --sanitize="$s" --scratch-path "$scratch" >"$LOG_DIR/$short-build.log" 2>&1; then
    echo "sanitize: $s build FAILED, see $LOG_DIR/$short-build.log" >&2
    tail -20 "$LOG_DIR/$short-build.log" >&2
    summary+=("$s: build failed after $((SECONDS - start))s")
    overall=1
    continue
  fi
  built=$SECONDS
  echo "sanitize: built in $((built - start))s; running the tests"
  args=(--skip-build --sanitize="$s" --scratch-path "$scratch")
  [[ -n $FILTER ]] && args+=(--filter "$FILTER")
  swift test "${args[@]}" >"$LOG_DIR/$short-test.log" 2>&1
  status=$?
  reports=$(ls "$LOG_DIR/$short".* 2>/dev/null | wc -l)
  result="passed"
  [[ $status != 0 ]] && result="FAILED (swift test exit $status)"
  summary+=("$s: tests $result, $reports report file(s), build $((built - start))s, tests $((SECONDS - built))s; log $LOG_DIR/$short-test.log")
  [[ $status != 0 || $reports != 0 ]] && overall=1
  grep -E '^(✔|✘) Test run|error:|Test run with' "$LOG_DIR/$short-test.log" | tail -3
  for f in "$LOG_DIR/$short".*; do
    [[ -f $f ]] || continue
    echo "sanitize: report $f:"
    grep -E 'ERROR|WARNING|SUMMARY' "$f" | head -5
  done
done

echo "sanitize: summary"
printf '  %s\n' "${summary[@]}"
exit $overall
