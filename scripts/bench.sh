#!/usr/bin/env bash
# Runs the benchmark suite against OrderPush and its peers (Node ws, Hummingbird 2) in one
# run and writes docs/BENCHMARKS.md. Loopback only; every load is bounded and stops by itself.
#
#   scripts/bench.sh                      # everything (about 40 minutes on 2 cores: (g) ~16, (h) ~3, (i) ~1.5)
#   BENCH_ONLY=abc scripts/bench.sh       # a subset of the loads: letters a-i, p (profile)
#   BENCH_SCALE=0.1 scripts/bench.sh      # smaller loads, for a quick check of the script
#
# Environment:
#   ORDERPUSH_SRC   package to build the server from (default: this repository)
#   BENCH_OUT       where to write the report (default docs/BENCHMARKS.md)
#   BENCH_ONLY      letters of the loads to run (default abcdefghip)
#   BENCH_SCALE     multiplies client counts and message counts (default 1)
#   BENCH_PEERS     peers to compare (default "node hummingbird")
#   BENCH_REPEAT    runs of (b) and (c) for each of the default loops (one per CPU) and --loops 1
#                   (default 3; medians are reported, since single runs are noisy)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=${ORDERPUSH_SRC:-$ROOT}
OUT=${BENCH_OUT:-$ROOT/docs/BENCHMARKS.md}
ONLY=${BENCH_ONLY:-abcdefghip}
SCALE=${BENCH_SCALE:-1}
PEERS=${BENCH_PEERS:-node hummingbird}
REPEAT=${BENCH_REPEAT:-3}
WORK=$(mktemp -d /tmp/orderpush-bench.XXXXXX)
RESULTS=$WORK/results.jsonl
LOADGEN=$ROOT/Benchmarks/loadgen/.build/release/loadgen
HBPEER=$ROOT/Benchmarks/peers/hummingbird-peer/.build/release/HummingbirdPeer
OP=$SRC/.build-bench/release/orderpush
PORT=19300
SERVER_PID=
: > "$RESULTS"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
want() { [[ $ONLY == *"$1"* ]]; }
scaled() { python3 -c "import sys; print(max(1, int(round($1 * $SCALE))))"; }

stop_server() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}
trap 'stop_server' EXIT

wait_port() {
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    log "server on port $1 did not come up"; return 1
}

# start_server NAME [orderpush flags...]: a fresh server on a fresh port (so TIME_WAIT
# sockets of the previous load never collide); sets SERVER_PID and PORT. With TLS=1 the
# OrderPush server also serves TLS on TLS_PORT (PORT + 1000).
TLS=0
SERVER_ARGS=()
start_server() {
    local name=$1; shift
    stop_server
    PORT=$((PORT + 1)); TLS_PORT=$((PORT + 1000))
    case $name in
        orderpush*)
            SERVER_ARGS=("$@")
            if [[ $TLS == 1 ]]; then
                SERVER_ARGS+=(--tls-cert "$WORK/certs/cert.pem" --tls-key "$WORK/certs/key.pem" --tls-port "$TLS_PORT")
            fi
            launch_orderpush
            ;;
        node) NODE_PATH=/usr/share/nodejs node "$ROOT/Benchmarks/peers/node-ws/server.js" "$PORT" > "$WORK/server-$PORT.log" 2>&1 & ;;
        hummingbird) "$HBPEER" "$PORT" > "$WORK/server-$PORT.log" 2>&1 & ;;
    esac
    [[ $name == orderpush* ]] || SERVER_PID=$!
    wait_port "$PORT"
    if [[ $TLS == 1 && $name == orderpush* ]]; then wait_port "$TLS_PORT"; fi
    sleep 0.5
}

# launch_orderpush: (re)starts OrderPush on PORT with its database and SERVER_ARGS; the
# pid also goes to $WORK/server.pid (a restart changes it; the storm loadgen follows it).
launch_orderpush() {
    local dir=$WORK/db-$PORT; mkdir -p "$dir"
    (cd "$SRC" && exec "$OP" serve --bench --port "$PORT" --db "$dir/orderpush.sqlite" \
        --jwt-secret-file "$WORK/jwt-secret" "${SERVER_ARGS[@]}") >> "$WORK/server-$PORT.log" 2>&1 &
    SERVER_PID=$!
    echo "$SERVER_PID" > "$WORK/server.pid"
}

# restart_server: SIGTERM, wait for the exit, start again on the same port and database.
restart_server() {
    local old=$SERVER_PID
    kill -TERM "$old" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$old" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$old" 2>/dev/null || true
    wait "$old" 2>/dev/null || true
    launch_orderpush
}

# load LABEL MODE [loadgen args...]: runs one load against the current server and appends
# its result line (with the label) to the results.
load() {
    local label=$1 mode=$2; shift 2
    log "$label: loadgen $mode $*"
    echo "loadgen $mode $* --port \$PORT --server-pid \$PID" >> "$WORK/commands.txt"
    timeout 600 "$LOADGEN" "$mode" --port "$PORT" --server-pid "$SERVER_PID" --label "$label" "$@" \
        > "$WORK/$label.jsonl" 2> "$WORK/$label.txt" || log "$label: loadgen exited with $?"
    cat "$WORK/$label.txt" >&2
    grep '"event":"result"' "$WORK/$label.jsonl" >> "$RESULTS" || true
}

# ---------------------------------------------------------------------------- build
log "building (release): server, loadgen, peers"
command -v node >/dev/null || { log "node is missing"; exit 1; }
if [[ ! -f /usr/share/nodejs/ws/package.json ]]; then
    log "installing node-ws"; apt-get install -y -qq node-ws >/dev/null || { apt-get update -qq && apt-get install -y -qq node-ws >/dev/null; }
fi
(cd "$SRC" && swift build -c release --scratch-path .build-bench 2>&1 | tail -1)
(cd "$ROOT/Benchmarks/loadgen" && swift build -c release --scratch-path .build 2>&1 | tail -1)
if want f && ! command -v wrk >/dev/null; then
    log "installing wrk"; apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
if [[ $PEERS == *hummingbird* ]]; then
    (cd "$ROOT/Benchmarks/peers/hummingbird-peer" && swift build -c release --scratch-path .build 2>&1 | tail -1)
fi
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WORK/jwt-secret"; chmod 600 "$WORK/jwt-secret"
if want h || want i; then "$ROOT/certs/make-dev-cert.sh" --out "$WORK/certs" >/dev/null; fi
TOKEN=$("$OP" token --sub bench --role service --ttl 7200 --jwt-secret-file "$WORK/jwt-secret")
: > "$WORK/commands.txt"

SERVERS="orderpush $PEERS"
N_IDLE=$(scaled 10000); N_LAT=$(scaled 10000); M_LAT=$(scaled 100)
N_TP=$(scaled 1000); M_TP=$(scaled 2000)
N_ORD=$(scaled 10000); M_ORD=$(scaled 100); M_ORD_FAST=$(scaled 1000)
N_POLL=$(scaled 10000); DURATION=$(python3 -c "print(max(10, int(60 * min(1.0, $SCALE * 10))))")
DURATION_F=$(python3 -c "print(max(3, int(10 * min(1.0, $SCALE * 10))))")

# ---------------------------------------------------------------------------- loads
if want a; then
    for s in $SERVERS; do
        start_server "$s"
        load "a-$s" idle -c "$N_IDLE" --hold 6
    done
fi
# run_bc LETTER LABEL-SUFFIX: load (b) or (c) on the current server.
run_bc() {
    if [[ $1 == b ]]; then
        load "b-$2" latency -s "$N_LAT" -m "$M_LAT" -r 10 --publisher http
    else
        load "c-$2" throughput -s "$N_TP" -m "$M_TP" --publisher ws
    fi
}
# "orderpush" is the default configuration: one loop per CPU (--loops $(nproc)).
for letter in b c; do
    want $letter || continue
    for s in $SERVERS orderpush-loops1; do
        if [[ $s == orderpush-loops1 ]]; then start_server orderpush --loops 1; else start_server "$s"; fi
        run_bc $letter "$s"
    done
    # More runs of the default and of --loops 1, alternating, for the architecture question.
    for r in $(seq 2 "$REPEAT"); do
        start_server orderpush; run_bc $letter "orderpush-r$r"
        start_server orderpush --loops 1; run_bc $letter "orderpush-loops1-r$r"
    done
done
if want d; then
    start_server orderpush
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' --data '{"items":[{"productId":"p1","name":"Tea","quantity":1,"price":1.0}],"paymentMethod":"cod","userId":"u1"}' \
        "http://127.0.0.1:$PORT/api/orders" || true)
    if [[ $code == 201 ]]; then
        load "d-orderpush" orders -s "$N_ORD" --token "$TOKEN" -m "$M_ORD" -r 10
        start_server orderpush
        load "d-orderpush-fast" orders -s "$N_ORD" --token "$TOKEN" -m "$M_ORD_FAST" -r 0 --creators 8
    else
        log "(d) skipped: POST /api/orders answered $code"
        for l in d-orderpush d-orderpush-fast; do
            echo "{\"event\":\"skipped\",\"label\":\"$l\",\"why\":\"POST /api/orders answered $code\"}" >> "$RESULTS"
        done
    fi
fi
if want e; then
    start_server orderpush
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/api/orders?since=0" || true)
    if [[ $code == 200 ]]; then
        load "e-orderpush-ws" orders -s "$N_POLL" --token "$TOKEN" -m "$DURATION" -r 1 --idle-timeout 3
        start_server orderpush
        load "e-orderpush-poll" poll -c "$N_POLL" --token "$TOKEN" --duration "$DURATION" --interval 5 --order-rate 1
    else
        log "(e) skipped: GET /api/orders?since=0 answered $code"
        for l in e-orderpush-ws e-orderpush-poll; do
            echo "{\"event\":\"skipped\",\"label\":\"$l\",\"why\":\"GET /api/orders answered $code\"}" >> "$RESULTS"
        done
    fi
fi
stop_server
if want f; then
    # Durable order creation without the WebSocket side: wrk POSTs orders over 64 connections,
    # once with one transaction per order (--write-batch 1), once with group commit (default).
    if command -v wrk >/dev/null; then
        log "(f): scripts/bench-group-commit.sh $(scaled 64) $DURATION_F"
        echo "scripts/bench-group-commit.sh $(scaled 64) $DURATION_F   # wrk -t2 -c$(scaled 64) -d${DURATION_F}s, POST /api/orders, --write-batch 1 then 256" >> "$WORK/commands.txt"
        ORDERPUSH_BIN=$OP GROUP_COMMIT_RESULTS=$RESULTS "$ROOT/scripts/bench-group-commit.sh" "$(scaled 64)" "$DURATION_F" >&2 \
            || log "(f): bench-group-commit.sh exited with $?"
    else
        log "(f) skipped: wrk is missing and could not be installed"
        for l in f-batch1 f-batch256; do
            echo "{\"event\":\"skipped\",\"label\":\"$l\",\"why\":\"wrk is missing\"}" >> "$RESULTS"
        done
    fi
fi

# ---------------------------------------------------------------------------- (g) the real shop
# One server; admins on `admin`, customers on `user:u<i>` (every 10th with a second tab),
# legacy pollers every 5 s; the backend POSTs orders and PUTs three tracking updates each
# (5 s apart). Each rate runs twice: push only, then with the legacy pollers (their CPU is
# the difference). Then every client polls instead. Loadgen in 2 processes.
N_ADMIN=$(scaled 200); N_CUST=$(scaled 15000); N_LEGACY=$(scaled 2000)
G_DURATION=$DURATION; G_MAX_ORDERS=$((200 * G_DURATION))
shop() {  # shop LABEL [loadgen shop args...]
    local label=$1; shift
    load "$label" shop --jwt-secret-file "$WORK/jwt-secret" --admins "$N_ADMIN" --customers "$N_CUST" \
        --processes 2 --idle-timeout 10 "$@"
}
if want g; then
    for rate in 1 10 100 max; do
        # Two backend connections at low rates, so neither idles past the server's 10 s keep-alive.
        if [[ $rate == max ]]; then args=(--rate 0 -m "$G_MAX_ORDERS")
        elif [[ $rate == 100 ]]; then args=(--rate "$rate" --duration "$G_DURATION")
        else args=(--rate "$rate" --duration "$G_DURATION" --creators 2); fi
        start_server orderpush; shop "g-push-r$rate" --pollers 0 "${args[@]}"
        start_server orderpush; shop "g-mixed-r$rate" --pollers "$N_LEGACY" "${args[@]}"
    done
    for rate in 1 10 100; do
        c=(); [[ $rate == 100 ]] || c=(--creators 2)
        start_server orderpush; shop "g-allpoll-r$rate" --pollers "$N_LEGACY" --all-poll --rate "$rate" --duration "$G_DURATION" "${c[@]}"
    done
fi

# ---------------------------------------------------------------------------- (h) reconnect storm
# The (g) push population subscribed; orders at 10/s; STORM_AFTER s after they start the
# server gets SIGTERM and starts again on the same port and database; the clients come
# back with orderpush.js's backoff and resume with since + epoch. Plain, then TLS.
STORM_AFTER=${BENCH_STORM_AFTER:-8}
storm() {  # storm LABEL PORT [loadgen shop args...]
    local label=$1 port=$2; shift 2
    log "$label: loadgen shop --storm $*"
    echo "loadgen shop --storm $* --port $port --server-pid-file \$PIDFILE   # SIGTERM + restart ${STORM_AFTER}s after the orders start" >> "$WORK/commands.txt"
    timeout 900 "$LOADGEN" shop --storm --port "$port" --server-pid-file "$WORK/server.pid" --label "$label" \
        --jwt-secret-file "$WORK/jwt-secret" --admins "$N_ADMIN" --customers "$N_CUST" --pollers 0 \
        --processes 2 --idle-timeout 20 "$@" > "$WORK/$label.jsonl" 2> "$WORK/$label.txt" &
    local lg=$!
    for _ in $(seq 1 3000); do grep -q '"event":"all_open"' "$WORK/$label.jsonl" 2>/dev/null && break; kill -0 $lg 2>/dev/null || break; sleep 0.1; done
    sleep "$STORM_AFTER"
    log "$label: restarting the server"
    restart_server
    wait_port "$PORT"
    wait $lg || log "$label: loadgen exited with $?"
    cat "$WORK/$label.txt" >&2
    grep '"event":"result"' "$WORK/$label.jsonl" >> "$RESULTS" || true
}
if want h; then
    start_server orderpush; storm h-storm-plain "$PORT" --rate 10 --duration "$((STORM_AFTER + 30))" --creators 2
    TLS=1; start_server orderpush
    storm h-storm-tls "$TLS_PORT" --tls --rate 10 --duration "$((STORM_AFTER + 30))" --creators 2
    TLS=0
fi

# ---------------------------------------------------------------------------- (i) TLS fan-out
# Loads (b) and (c) over wss:// (publisher included), and idle memory per TLS connection;
# the plain rows are (a)-(c) above.
if want i; then
    TLS=1
    start_server orderpush; load "i-idle-tls" idle -c "$N_IDLE" --hold 6 --port "$TLS_PORT" --tls
    start_server orderpush; load "i-b-tls" latency -s "$N_LAT" -m "$M_LAT" -r 10 --publisher http --port "$TLS_PORT" --tls
    start_server orderpush; load "i-c-tls" throughput -s "$N_TP" -m "$M_TP" --publisher ws --port "$TLS_PORT" --tls
    TLS=0
fi
stop_server

# ---------------------------------------------------------------------------- profile
if want p; then
    "$ROOT/scripts/bench-profile.sh" "$WORK/profile" || log "profiling failed"
fi

# ---------------------------------------------------------------------------- report
machine() {
    echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), nproc $(nproc)"
    echo "- memory: $(free -g | awk '/Mem:/ {print $2}') GiB; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- kernel: $(uname -r); fd limit $(ulimit -Hn)"
    echo "- $(swift --version 2>/dev/null | head -1)"
    echo "- wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'); valgrind $(valgrind --version 2>/dev/null | sed 's/valgrind-//'); data folders on $(df -T /tmp | awk 'NR==2 {print $2}') ($(df /tmp | awk 'NR==2 {print $1}'))"
    echo "- node $(node --version), ws $(python3 -c "import json; print(json.load(open('/usr/share/nodejs/ws/package.json'))['version'])" 2>/dev/null || echo '?'); Hummingbird 2.28.1, hummingbird-websocket 2.8.1"
    local dirty=
    (cd "$SRC" && git diff --quiet HEAD -- Sources Package.swift 2>/dev/null) || dirty=" with uncommitted changes in Sources"
    echo "- OrderPush source: $( (cd "$SRC" && git rev-parse --short HEAD 2>/dev/null) || cat "$SRC/.source-commit" 2>/dev/null || echo unknown)$dirty; default --loops = $(nproc) (one per CPU)"
}
mkdir -p "$(dirname "$OUT")"
machine > "$WORK/machine.md"
python3 "$ROOT/Benchmarks/report.py" --results "$RESULTS" --machine "$WORK/machine.md" \
    --commands "$WORK/commands.txt" --profile "$WORK/profile" --out "$OUT" --scale "$SCALE"
log "wrote $OUT (raw results in $WORK)"
