#!/usr/bin/env bash
# Profiles OrderPush under load (c) (subscribers on /ws/broadcast, a burst of messages from a
# WebSocket publisher): callgrind instruction counts on a smaller load, and perf samples
# on the full load when perf works here. Writes text reports into DIR (default
# /tmp/orderpush-profile). Loopback only; every step is bounded in time.
#
#   scripts/bench-profile.sh [DIR]
# Environment: ORDERPUSH_SRC (package to profile, default this repository),
#   PROFILE_SUBSCRIBERS / PROFILE_MESSAGES (callgrind load, default 200 x 1000).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=${ORDERPUSH_SRC:-$ROOT}
DIR=${1:-/tmp/orderpush-profile}
LOADGEN=$ROOT/Benchmarks/loadgen/.build/release/loadgen
OP=$SRC/.build-bench/release/orderpush
SUBS=${PROFILE_SUBSCRIBERS:-200}
MSGS=${PROFILE_MESSAGES:-1000}
PORT=19290
PID=
mkdir -p "$DIR"

log() { printf '[profile %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
stop() {
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 1 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    PID=
}
trap stop EXIT
wait_port() {
    for _ in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

[[ -x $OP && -x $LOADGEN ]] || { log "build first (scripts/bench.sh builds both)"; exit 1; }
rm -rf "$DIR"/db && mkdir -p "$DIR/db"

# --- callgrind: counts only inside EventLoop.run (start-up and shutdown excluded); the
# connections are set up first, so nearly all of it is the burst's fan-out. One loop
# (--loops 1), so the count per delivery compares with the earlier runs in docs/BENCHMARKS.md;
# with two loops each event is framed once per loop, and both threads' counts add up.
if command -v valgrind >/dev/null; then
    log "callgrind: $SUBS subscribers x $MSGS messages"
    rm -f "$DIR"/callgrind.out*
    printf 'profile-secret-0123456789abcdef0123456789\n' > "$DIR/db/secret"
    (cd "$SRC" && exec valgrind --tool=callgrind --toggle-collect='$s7Reactor9EventLoopC3runyyF' \
        --callgrind-out-file="$DIR/callgrind.out" \
        "$OP" serve --bench --port "$PORT" --db "$DIR/db/cg.sqlite" --jwt-secret-file "$DIR/db/secret" \
        --ping-interval 3600 --loops 1) > "$DIR/callgrind-server.log" 2>&1 &
    PID=$!
    if wait_port "$PORT"; then
        sleep 1
        timeout 300 "$LOADGEN" throughput --port "$PORT" -s "$SUBS" -m "$MSGS" --timeout 240 --idle-timeout 30 \
            --label callgrind > "$DIR/callgrind-load.jsonl" 2> "$DIR/callgrind-load.txt" || true
        stop
        callgrind_annotate --inclusive=no "$DIR/callgrind.out" 2>/dev/null | sed -n '/PROGRAM TOTALS/,$p' | head -40 > "$DIR/callgrind-self.txt" || true
        callgrind_annotate --inclusive=yes "$DIR/callgrind.out" 2>/dev/null | sed -n '/PROGRAM TOTALS/,$p' | head -40 > "$DIR/callgrind-inclusive.txt" || true
        total=$(sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' "$DIR/callgrind-self.txt" | tr -d ,)
        delivered=$(grep -o '"delivered":[0-9]*' "$DIR/callgrind-load.jsonl" | cut -d: -f2)
        if [[ -n $total && -n $delivered && $delivered -gt 0 ]]; then
            echo "callgrind (--loops 1, $SUBS subscribers x $MSGS messages): $total instructions in EventLoop.run for $delivered deliveries = $((total / delivered)) instructions per delivery" > "$DIR/callgrind-summary.txt"
        fi
        cat "$DIR/callgrind-load.txt" >&2
    else
        log "server under valgrind did not come up"; stop
    fi
fi

# --- perf: hardware counters when the machine has them, else cpu-clock samples.
if command -v perf >/dev/null; then
    if perf stat -e instructions true 2>&1 | grep -q "not supported"; then
        echo "perf stat -e instructions: not supported on this machine (no hardware counters); cpu-clock samples instead" > "$DIR/perf-note.txt"
        EVENT=cpu-clock
    else
        echo "perf: hardware counters available" > "$DIR/perf-note.txt"
        EVENT=cycles
    fi
    PORT=$((PORT + 1))
    log "perf ($EVENT): load c (1000 subscribers x 2000 messages, 3 times), then load b (10000 subscribers, 10 msg/s)"
    (cd "$SRC" && exec "$OP" serve --bench --port "$PORT" --db "$DIR/db/perf.sqlite" --jwt-secret-file "$DIR/db/secret") \
        > "$DIR/perf-server.log" 2>&1 &
    PID=$!
    if wait_port "$PORT"; then
        perf record -e "$EVENT" -F 2000 -g -p "$PID" -o "$DIR/perf.data" -- sleep 25 > /dev/null 2>&1 &
        PERFPID=$!
        sleep 1
        for i in 1 2 3; do
            timeout 120 "$LOADGEN" throughput --port "$PORT" -s 1000 -m 2000 --label "perf-$i" > /dev/null 2>> "$DIR/perf-load.txt" || true
        done
        wait "$PERFPID" || true
        perf report -i "$DIR/perf.data" --stdio --no-children --sort symbol 2>/dev/null | grep -E '^ +[0-9]' | head -30 > "$DIR/perf-self.txt" || true
    fi
    stop
    PORT=$((PORT + 1))
    (cd "$SRC" && exec "$OP" serve --bench --port "$PORT" --db "$DIR/db/perf-b.sqlite" --jwt-secret-file "$DIR/db/secret") \
        > "$DIR/perf-b-server.log" 2>&1 &
    PID=$!
    if wait_port "$PORT"; then
        timeout 120 "$LOADGEN" latency --port "$PORT" -s 10000 -m 100 -r 10 --label perf-b > /dev/null 2>> "$DIR/perf-load.txt" &
        LPID=$!
        sleep 3   # connections first
        perf record -e "$EVENT" -F 2000 -g -p "$PID" -o "$DIR/perf-b.data" -- sleep 7 > /dev/null 2>&1 || true
        wait "$LPID" || true
        perf report -i "$DIR/perf-b.data" --stdio --no-children --sort symbol 2>/dev/null | grep -E '^ +[0-9]' | head -30 > "$DIR/perf-b-self.txt" || true
        perf report -i "$DIR/perf-b.data" --stdio --no-children --sort dso 2>/dev/null | grep -E '^ +[0-9]' | head -8 > "$DIR/perf-b-dso.txt" || true
        perf report -i "$DIR/perf.data" --stdio --no-children --sort dso 2>/dev/null | grep -E '^ +[0-9]' | head -8 > "$DIR/perf-dso.txt" || true
    fi
    stop
fi
log "profile reports in $DIR"
