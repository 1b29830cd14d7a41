#!/usr/bin/env bash
# Group commit, measured: durable order creation (POST /api/orders, each answered only
# after its COMMIT with synchronous=FULL) with one write per transaction (--write-batch 1)
# versus the default batching (--write-batch 256), under the same concurrent load.
# Loopback only; each run is bounded by wrk's duration. Needs wrk (apt-get install wrk).
#   scripts/bench-group-commit.sh [connections=64] [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${1:-64}
SECS=${2:-10}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install -y wrk" >&2; exit 2; }
swift build -c release --product orderpush >/dev/null
BIN=.build/release/orderpush
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"items":[{"productId":"p1","name":"Tea","quantity":2,"price":120.0}],"paymentMethod":"cod","userId":"u1"}'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/json"
LUA
for batch in 1 256; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  rm -rf "$tmp/data"; mkdir -p "$tmp/data"
  $BIN serve --port "$port" --db "$tmp/data/db.sqlite" --write-batch "$batch" >"$tmp/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  export TOKEN=$($BIN token --sub bench --role service --db "$tmp/data/db.sqlite")
  out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$tmp/post.lua" "http://127.0.0.1:$port/api/orders")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  events=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '/^orderpush_events_appended_total/ {print $2}')
  echo "write-batch=$batch connections=$CONNS seconds=$SECS orders/s=$rps p50=$p50 p99=$p99 non-2xx=${non2xx:-0} events=$events"
  kill -TERM $pid; wait $pid || true
done
