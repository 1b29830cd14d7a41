#!/usr/bin/env bash
# Profiles OrderPush under load (c) (subscribers on /ws/broadcast, a burst of messages from a
# WebSocket publisher): callgrind instruction counts on a smaller load, and perf samples
# on the full load when perf works here. Writes text reports into DIR (default
# /tmp/orderpush-profile). Loopback only; every step is bounded in time.
#
#   scripts/bench-profile.sh [DIR]
# Environment: ORDERPUSH_SRC (package to profile, default this repository),
#   PROFILE_SUBSCRIBERS / PROFILE_MESSAGES (callgrind load, default 200 x 500).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=${ORDERPUSH_SRC:-$ROOT}
DIR=${1:-/tmp/orderpush-profile}
LOADGEN=$ROOT/Benchmarks/loadgen/.build/release/loadgen
OP=$SRC/.build-bench/release/orderpush
SUBS=${PROFILE_SUBSCRIBERS:-200}
MSGS=${PROFILE_MESSAGES:-500}
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

# --- callgrind: counts only while the load runs (collection toggled around it).
if command -v valgrind >/dev/null; then
    log "callgrind: $SUBS subscribers x $MSGS messages"
    rm -f "$DIR"/callgrind.out*
    printf 'profile-secret-0123456789abcdef0123456789\n' > "$DIR/db/secret"
    (cd "$SRC" && exec valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$DIR/callgrind.out" \
        "$OP" serve --bench --port "$PORT" --db "$DIR/db/cg.sqlite" --jwt-secret-file "$DIR/db/secret" \
        --ping-interval 3600) > "$DIR/callgrind-server.log" 2>&1 &
    PID=$!
    if wait_port "$PORT"; then
        sleep 1
        # Connections first (not profiled), then collection on for the burst only.
        timeout 300 "$LOADGEN" throughput --port "$PORT" -s "$SUBS" -m "$MSGS" --timeout 240 --idle-timeout 30 \
            --label callgrind > "$DIR/callgrind-load.jsonl" 2> "$DIR/callgrind-load.txt" &
        LPID=$!
        for _ in $(seq 1 600); do grep -q all_open "$DIR/callgrind-load.jsonl" 2>/dev/null && break; sleep 0.1; done
        callgrind_control -i on "$PID" > /dev/null 2>&1 || true
        wait "$LPID" || true
        callgrind_control -i off "$PID" > /dev/null 2>&1 || true
        stop
        callgrind_annotate --inclusive=no "$DIR/callgrind.out" 2>/dev/null | head -60 > "$DIR/callgrind-self.txt" || true
        callgrind_annotate --inclusive=yes "$DIR/callgrind.out" 2>/dev/null | head -60 > "$DIR/callgrind-inclusive.txt" || true
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
    log "perf ($EVENT): 1000 subscribers x 2000 messages, repeated"
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
        perf report -i "$DIR/perf.data" --stdio --no-children --sort symbol 2>/dev/null | grep -v '^$' | grep -E '^ +[0-9]' | head -40 > "$DIR/perf-self.txt" || true
        perf report -i "$DIR/perf.data" --stdio --children --sort symbol 2>/dev/null | grep -E '^ +[0-9]' | head -40 > "$DIR/perf-children.txt" || true
    fi
    stop
fi
log "profile reports in $DIR"
