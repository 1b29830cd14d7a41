#!/usr/bin/env bash
# What permessage-deflate costs and saves, with and without a Chromium-like offer
# (`permessage-deflate; client_max_window_bits`): bytes on the wire per event, callgrind
# instructions per delivery (load (c) small), and server memory per idle connection.
# Prints Markdown rows for docs/BENCHMARKS.md. Loopback only; every step is bounded in time.
#
#   Benchmarks/deflate.sh [WORKDIR]
# Needs: a release orderpush (.build/release or ORDERPUSH_BIN) and a release loadgen
# (Benchmarks/loadgen/.build/release/loadgen); valgrind for the instruction counts.
# Environment: SUBS / MSGS / SIZE (callgrind load, default 200 x 1000 messages of 256 bytes),
#   ORDER_SUBS / ORDERS (wire bytes, default 100 x 200), IDLE (default 10000).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OP=${ORDERPUSH_BIN:-$ROOT/.build/release/orderpush}
LOADGEN=$ROOT/Benchmarks/loadgen/.build/release/loadgen
WORK=${1:-$(mktemp -d --tmpdir orderpush-deflate.XXXXXX)}
SUBS=${SUBS:-200}; MSGS=${MSGS:-1000}; SIZE=${SIZE:-256}
ORDER_SUBS=${ORDER_SUBS:-100}; ORDERS=${ORDERS:-200}; IDLE=${IDLE:-10000}
OFFER='permessage-deflate; client_max_window_bits'
PORT=${PORT:-19400}
PID=
mkdir -p "$WORK"

log() { printf '[deflate %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
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
# start NAME [orderpush flags...]: a fresh server on the next port; sets PID and PORT.
start() {
    local name=$1; shift
    stop
    PORT=$((PORT + 1))
    rm -rf "$WORK/db-$name"; mkdir -p "$WORK/db-$name"
    "$OP" serve --bench --port "$PORT" --db "$WORK/db-$name/db.sqlite" --jwt-secret-file "$WORK/jwt-secret" \
        --ping-interval 3600 "$@" > "$WORK/server-$name.log" 2>&1 &
    PID=$!
    wait_port "$PORT"
    sleep 0.5
}
field() { python3 -c "import json,sys; r=[json.loads(l) for l in open(sys.argv[1]) if '\"result\"' in l][-1]; print(r.get(sys.argv[2]))" "$1" "$2"; }

[[ -x $OP && -x $LOADGEN ]] || { log "build first: swift build -c release (here and in Benchmarks/loadgen)"; exit 1; }
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WORK/jwt-secret"; chmod 600 "$WORK/jwt-secret"
TOKEN=$("$OP" token --sub bench --role service --ttl 7200 --jwt-secret-file "$WORK/jwt-secret")

echo "| measure | without deflate | with deflate (\`$OFFER\`) | command |"
echo "|---|---|---|---|"

# --- bytes on the wire per event: real order events to `admin` subscribers on /ws.
declare -A wire
for mode in plain deflate; do
    ext=(); [[ $mode == deflate ]] && ext=(--extensions "$OFFER")
    start "wire-$mode" --loops 1
    timeout 120 "$LOADGEN" orders --port "$PORT" -s "$ORDER_SUBS" --token "$TOKEN" -m "$ORDERS" -r 50 --creators 1 \
        --timeout 100 "${ext[@]}" > "$WORK/wire-$mode.jsonl" 2> "$WORK/wire-$mode.txt" || log "loadgen orders exited with $?"
    stop
    received=$(field "$WORK/wire-$mode.jsonl" bytes_received)
    missing=$(field "$WORK/wire-$mode.jsonl" missing)
    wire[$mode]=$(python3 -c "print(f'{$received / ($ORDER_SUBS * $ORDERS):.0f} B (missing $missing)')")
done
echo "| bytes received per event delivery (order events on \`admin\`, $ORDER_SUBS subscribers × $ORDERS orders; handshakes and \`subscribed\` included) | ${wire[plain]} | ${wire[deflate]} | \`loadgen orders -s $ORDER_SUBS -m $ORDERS -r 50 --creators 1 [--extensions '$OFFER']\` against \`serve --loops 1\` |"

# --- callgrind: instructions inside EventLoop.run per delivery, load (c) small.
if command -v valgrind >/dev/null; then
    declare -A ir
    for mode in plain deflate; do
        ext=(); [[ $mode == deflate ]] && ext=(--extensions "$OFFER")
        stop
        PORT=$((PORT + 1))
        rm -f "$WORK/callgrind-$mode.out"*
        valgrind --tool=callgrind --toggle-collect='$s7Reactor9EventLoopC3runyyF' --callgrind-out-file="$WORK/callgrind-$mode.out" \
            "$OP" serve --bench --port "$PORT" --db "$WORK/cg-$mode.sqlite" --jwt-secret-file "$WORK/jwt-secret" \
            --ping-interval 3600 --loops 1 > "$WORK/callgrind-server-$mode.log" 2>&1 &
        PID=$!
        wait_port "$PORT"; sleep 1
        timeout 400 "$LOADGEN" throughput --port "$PORT" -s "$SUBS" -m "$MSGS" --size "$SIZE" --timeout 380 --idle-timeout 60 \
            "${ext[@]}" > "$WORK/cg-$mode.jsonl" 2> "$WORK/cg-$mode.txt" || log "loadgen throughput exited with $?"
        stop
        total=$(callgrind_annotate "$WORK/callgrind-$mode.out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }')
        missing=$(field "$WORK/cg-$mode.jsonl" missing)
        ir[$mode]=$(python3 -c "print(f'{$total / ($SUBS * $MSGS):.0f} (missing $missing)')")
    done
    echo "| instructions per delivery inside the event loop (callgrind, load (c) small: $SUBS subscribers × $MSGS messages of $SIZE bytes, one loop) | ${ir[plain]} | ${ir[deflate]} | \`valgrind --tool=callgrind --toggle-collect='\$s7Reactor9EventLoopC3runyyF' orderpush serve --bench --loops 1\`; \`loadgen throughput -s $SUBS -m $MSGS --size $SIZE [--extensions '$OFFER']\` |"
fi

# --- memory per idle connection.
declare -A mem
for mode in plain deflate; do
    ext=(); [[ $mode == deflate ]] && ext=(--extensions "$OFFER")
    start "idle-$mode"
    timeout 120 "$LOADGEN" idle --port "$PORT" -c "$IDLE" --hold 6 --server-pid "$PID" "${ext[@]}" \
        > "$WORK/idle-$mode.jsonl" 2> "$WORK/idle-$mode.txt" || log "loadgen idle exited with $?"
    stop
    kib=$(python3 -c "import json; r=[json.loads(l) for l in open('$WORK/idle-$mode.jsonl') if '\"result\"' in l][-1]; print(f\"{r['server_kib_per_connection']:.2f} KiB ({r['ready']} open)\")" 2>/dev/null || echo "–")
    mem[$mode]=$kib
done
echo "| server memory per idle connection (RSS 2 s after all are open − before, ÷ N) | ${mem[plain]} | ${mem[deflate]} | \`loadgen idle -c $IDLE --hold 6 [--extensions '$OFFER']\` against \`serve --bench\` |"
log "outputs in $WORK"
