#!/usr/bin/env bash
# Builds and runs the libFuzzer harnesses of the pure parsers and of the connection state
# machine (see docs/FUZZING.md).
#
#   scripts/fuzz.sh [target|all] [seconds]
#   scripts/fuzz.sh [target|all] --runs N [max-seconds]
#     target   http1 | websocket | utf8 | json | jwt | orders | connection | all (default all)
#     seconds  time per target (default 60); 0 only replays the seed corpus and the saved
#              crashes (a quick regression check)
#     --runs N stop each target after N executions (libFuzzer -runs=N) instead of after a
#              time; max-seconds (default: none) still caps a target that is slower
#              than expected. This is the campaign mode (see docs/FUZZING.md).
#   FUZZ_LOG_DIR  where each target's libFuzzer log goes (default .build-fuzz/logs)
#   FUZZ_TIMEOUT  seconds one input may take before libFuzzer reports a hang (default 10,
#                 120 with --runs). libFuzzer measures it on the wall clock, so a niced
#                 campaign starved by other builds would otherwise report false hangs.
#   FUZZ_MAX_LEN  longest input in bytes (default 4096). Corpus files longer than it are
#                 read truncated. The campaign ran `websocket` at 1024: its frames rarely
#                 need more, and long inputs fed one byte at a time through zlib made it
#                 slow (see docs/FUZZING.md).
#
# Each target runs in one process on one core and stops by itself after `seconds` (or N
# executions). At the end of each target it prints one line: executions, wall time,
# exec/s and corpus size.
# Exits non-zero when a target crashes or breaks an invariant; the input is kept as
# Fuzz/crashes/<target>-crash-<sha1> (reproduce: .build-fuzz/bin/fuzz-<target> FILE).
#
# The package build is untouched: each parser module is compiled here with swiftc into
# its own object and .swiftmodule, instrumented (-sanitize=fuzzer,address), under
# .build-fuzz/. New inputs the fuzzer finds go to .build-fuzz/corpus/<target>; the
# committed seeds in Fuzz/corpus/<target> are only read.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(http1 websocket utf8 json jwt orders connection)
WHICH=${1:-all}
RUNS=0  # 0: bounded by time only
if [[ ${2:-} == --runs ]]; then
  RUNS=${3:?--runs needs a number of executions}
  [[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "--runs: not a positive integer: $RUNS" >&2; exit 2; }
  SECONDS_PER_TARGET=${4:-0}  # 0 here: no time cap
else
  SECONDS_PER_TARGET=${2:-60}
fi
if [[ $RUNS != 0 ]]; then TIMEOUT=${FUZZ_TIMEOUT:-120}; else TIMEOUT=${FUZZ_TIMEOUT:-10}; fi
B=.build-fuzz
LOG_DIR=${FUZZ_LOG_DIR:-$B/logs}
SWIFTC=${SWIFTC:-swiftc}
# Swift's own crash backtracer would attach to a trapping harness and, with libFuzzer's
# pipes open, keep the run from ending; libFuzzer and ASan report crashes themselves.
export SWIFT_BACKTRACE=enable=no
FLAGS=(-swift-version 6 -parse-as-library -O -g -sanitize=fuzzer,address -use-ld=lld -I "$B/modules" -I Sources/CSSL -I Sources/CZlib)

# Parser modules each target needs, in build order (dependencies first).
modules_for() {
  case $1 in
    http1) echo HTTP1 ;;
    websocket | utf8) echo OpenSSLKit WebSocket ;;
    json) echo JSON ;;
    jwt) echo OpenSSLKit JSON Auth ;;
    orders) echo JSON Orders ;;
    connection) echo OpenSSLKit JSON Auth HTTP1 WebSocket ;;
    *) echo "unknown target: $1 (one of: ${TARGETS[*]} all)" >&2; exit 2 ;;
  esac
}

harness_for() {
  case $1 in
    http1) echo HTTP1Fuzz ;;
    websocket) echo WebSocketFuzz ;;
    utf8) echo UTF8Fuzz ;;
    json) echo JSONFuzz ;;
    jwt) echo JWTFuzz ;;
    orders) echo OrdersFuzz ;;
    connection) echo ConnectionFuzz ;;
  esac
}

# Files of the OrderPushServer module compiled into a target's binary next to its harness
# (that module as a whole needs SQLite, the loops and the product; the connection state
# machine and the values it uses need none of it). Keep in step with what
# ConnectionStateMachine.swift uses: a missing file is a compile error here, not a silent gap.
extra_sources_for() {
  case $1 in
    connection)
      local d=Sources/OrderPushServer
      echo $d/Connection/ConnectionStateMachine.swift $d/Connection/WebSocketSession.swift \
        $d/Connection/WebSocketUpgrade.swift $d/Connection/RequestOutcome.swift \
        $d/Limits/TokenBucket.swift $d/Push/PushClient.swift \
        $d/Connection/EventStreamSession.swift \
        $d/Routing/HTTPResponse+JSONError.swift $d/Routing/HTTPResponseError.swift ;;
  esac
}

# True when $1 is missing or older than any of the other files/directories' contents.
stale() {
  local out=$1; shift
  [[ -e $out ]] || return 0
  [[ -n $(find "$@" -newer "$out" -print -quit 2>/dev/null) ]]
}

build_module() {
  local m=$1 obj=$B/obj/$1.o
  local deps=()
  for d in $(modules_for_module "$m"); do deps+=("$B/obj/$d.o"); done
  if stale "$obj" "Sources/$m" "${deps[@]}" scripts/fuzz.sh; then
    echo "fuzz: compiling $m"
    mapfile -t sources < <(find "Sources/$m" -name '*.swift' | sort)
    "$SWIFTC" "${FLAGS[@]}" -module-name "$m" -wmo \
      -emit-module -emit-module-path "$B/modules/$m.swiftmodule" \
      -c "${sources[@]}" -o "$obj"
    touch "$obj"  # swiftc keeps the old file (and date) when the output is unchanged
  fi
}

# Direct dependencies of a parser module (mirrors Package.swift).
modules_for_module() {
  case $1 in
    WebSocket) echo OpenSSLKit ;;
    Auth) echo OpenSSLKit JSON ;;
    Orders) echo JSON ;;
  esac
}

build_target() {
  local t=$1 bin=$B/bin/fuzz-$1 objs=()
  for m in $(modules_for "$t"); do
    build_module "$m"
    objs+=("$B/obj/$m.o")
  done
  local harness=Fuzz/Harnesses/$(harness_for "$t").swift
  local extra
  read -r -a extra <<< "$(extra_sources_for "$t")"
  if stale "$bin" "$harness" Fuzz/Support "${objs[@]}" "${extra[@]}" Tests/TestSupport/SplitMix64.swift; then
    echo "fuzz: linking fuzz-$t"
    "$SWIFTC" "${FLAGS[@]}" -module-name "fuzz_$t" \
      "$harness" "${extra[@]}" Fuzz/Support/*.swift Tests/TestSupport/SplitMix64.swift "${objs[@]}" \
      -lssl -lcrypto -lz -o "$bin"
  fi
}

run_target() {
  local t=$1 bin=$B/bin/fuzz-$1 log=$LOG_DIR/$1.log
  local opts=(-max_len="${FUZZ_MAX_LEN:-4096}" -timeout="$TIMEOUT" -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="Fuzz/crashes/$t-")
  [[ -f Fuzz/dict/$t.dict ]] && opts+=(-dict="Fuzz/dict/$t.dict")
  mkdir -p "$B/corpus/$t"
  local status=0
  local started=$SECONDS
  if [[ $RUNS != 0 ]]; then
    local cap=() guard=0
    if [[ $SECONDS_PER_TARGET != 0 ]]; then
      cap=(-max_total_time="$SECONDS_PER_TARGET"); guard=$((SECONDS_PER_TARGET + 120))
    fi
    echo "fuzz: running $t for $RUNS executions${cap:+ (at most ${SECONDS_PER_TARGET}s)}, log $log"
    # timeout 0 never fires: an execution-bounded run has no time guard unless capped.
    timeout "$guard" "$bin" "${opts[@]}" -runs="$RUNS" "${cap[@]}" \
      "$B/corpus/$t" "Fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  elif [[ $SECONDS_PER_TARGET == 0 ]]; then
    # Replay only: the seeds, then every saved crash of this target, one by one.
    echo "fuzz: replaying $t seeds"
    "$bin" "${opts[@]}" -runs=0 "Fuzz/corpus/$t" >"$log" 2>&1 || status=$?
    for crash in Fuzz/crashes/"$t"-*; do
      [[ -f $crash && $status == 0 ]] || continue
      echo "fuzz: replaying $crash"
      "$bin" "${opts[@]}" "$crash" >>"$log" 2>&1 || status=$?
    done
  else
    echo "fuzz: running $t for ${SECONDS_PER_TARGET}s"
    # The outer timeout only guards against a hang in libFuzzer itself.
    timeout $((SECONDS_PER_TARGET + 120)) "$bin" "${opts[@]}" -max_total_time="$SECONDS_PER_TARGET" \
      "$B/corpus/$t" "Fuzz/corpus/$t" >"$log" 2>&1 || status=$?
  fi
  if [[ $status != 0 ]]; then
    echo "fuzz: $t FAILED (exit $status), log $log:" >&2
    grep -E 'FUZZ INVARIANT|ERROR: |Fatal error|Test unit written|SUMMARY' "$log" | head -20 >&2 || true
    return 1
  fi
  if [[ $RUNS == 0 && $SECONDS_PER_TARGET == 0 ]]; then
    echo "fuzz: $t ok: seeds and saved crashes replayed"
  else
    local execs rate elapsed=$((SECONDS - started))
    execs=$(awk '/stat::number_of_executed_units/ {n=$2} END {print n}' "$log")
    rate=$(awk '/stat::average_exec_per_sec/ {n=$2} END {print n}' "$log")
    # libFuzzer prints 0 for runs shorter than a second or so.
    if [[ ${rate:-0} == 0 && -n $execs ]]; then rate=$((execs / (elapsed > 0 ? elapsed : 1))); fi
    echo "fuzz: $t ok: ${execs:-?} executions in ${elapsed}s (${rate:-?} exec/s), corpus $(ls "$B/corpus/$t" | wc -l) files, no finding"
  fi
}

mkdir -p "$B/modules" "$B/obj" "$B/bin" "$LOG_DIR" Fuzz/crashes
if [[ $WHICH == all ]]; then selected=("${TARGETS[@]}"); else modules_for "$WHICH" >/dev/null; selected=("$WHICH"); fi

failed=()
for t in "${selected[@]}"; do
  build_target "$t"
  run_target "$t" || failed+=("$t")
done
if ((${#failed[@]})); then
  echo "fuzz: failing targets: ${failed[*]} (inputs in Fuzz/crashes/)" >&2
  exit 1
fi
