#!/usr/bin/env bash
# A disconnect storm, measured: N WebSocket clients close at once (the load generator exits),
# and the server's CPU seconds spent on those closes are read from /proc. Run for `admin`
# subscribers on /ws (removed from the channel registry one by one) and, as a baseline, for
# /ws/broadcast clients. One loop (--loops 1), so the number is also how long that loop
# could not serve anyone. Loopback only; every step is bounded in time.
#
#   Benchmarks/disconnect-storm.sh [N=10000]
# Environment: ORDERPUSH_SRC (package whose .build-bench/release/orderpush is run; default
#   this repository; scripts/bench.sh builds it).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=${ORDERPUSH_SRC:-$ROOT}
N=${1:-10000}
OP=$SRC/.build-bench/release/orderpush
LOADGEN=$ROOT/Benchmarks/loadgen/.build/release/loadgen
WORK=$(mktemp -d /tmp/orderpush-storm.XXXXXX)
PORT=19390
PID=
[[ -x $OP && -x $LOADGEN ]] || { echo "build first (scripts/bench.sh builds both)" >&2; exit 1; }

stop() {
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
        kill -TERM "$PID" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
    fi
    PID=
}
trap 'stop; rm -rf "$WORK"' EXIT

# CPU seconds (utime + stime) of the server so far.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$PID/stat"; }
connections() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '$1 == "orderpush_connections" { print $2 }'; }

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$WORK/secret"
TOKEN=$("$OP" token --sub bench --role service --ttl 3600 --jwt-secret-file "$WORK/secret")

for kind in admin broadcast; do
    PORT=$((PORT + 1))
    (cd "$SRC" && exec "$OP" serve --bench --loops 1 --port "$PORT" --db "$WORK/$kind.sqlite" \
        --jwt-secret-file "$WORK/secret") > "$WORK/server-$kind.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1 && break; sleep 0.1; done
    # The clients connect, (admin: subscribe and receive one order,) hold, and are all closed
    # when loadgen exits. The server is idle between its result line and its exit, so the
    # CPU read when the result line appears is the baseline.
    if [[ $kind == admin ]]; then
        args=(orders -s "$N" --token "$TOKEN" -m 1 -r 1)
    else
        args=(idle -c "$N" --hold 2)
    fi
    before=
    while IFS= read -r line; do
        [[ $line == *'"event":"result"'* ]] && before=$(cpu)
    done < <(timeout 120 "$LOADGEN" "${args[@]}" --port "$PORT" --idle-timeout 2 --label "storm-$kind" 2> "$WORK/loadgen-$kind.txt")
    # Until only the /metrics request itself is open.
    for _ in $(seq 1 100); do [[ $(connections) -le 1 ]] && break; sleep 0.1; done
    sleep 1
    after=$(cpu)
    python3 -c "print(f'$kind: $N clients closed at once: server CPU {($after) - ($before):.2f} s (open connections after: $(( $(connections) - 1 )))')"
    stop
done
