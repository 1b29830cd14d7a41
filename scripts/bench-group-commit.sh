#!/usr/bin/env bash
# Group commit, measured: durable order creation (POST /api/orders, each answered only
# after its COMMIT with synchronous=FULL) with one write per transaction (--write-batch 1)
# versus the default batching (--write-batch 256), under the same concurrent load.
# Loopback only; each run is bounded by wrk's duration. Needs wrk (apt-get install wrk).
#   scripts/bench-group-commit.sh [connections=64] [seconds=10]
# Environment:
#   ORDERPUSH_BIN            server binary to run (default: build this package in release)
#   GROUP_COMMIT_RESULTS     also append one JSON result line per run to this file
#                            (labels f-batch1, f-batch256; scripts/bench.sh uses it)
set -euo pipefail
cd "$(dirname "$0")/.."
CONNS=${1:-64}
SECS=${2:-10}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install -y wrk" >&2; exit 2; }
if [[ -n ${ORDERPUSH_BIN:-} ]]; then
  BIN=$ORDERPUSH_BIN
else
  swift build -c release --product orderpush >/dev/null
  BIN=.build/release/orderpush
fi
pid=
tmp=$(mktemp -d)
trap '[[ -n $pid ]] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"items":[{"productId":"p1","name":"Tea","quantity":2,"price":120.0}],"paymentMethod":"cod","userId":"u1"}'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["Content-Type"] = "application/json"
LUA
# wrk prints latencies as 812.00us, 1.23ms or 2.01s: milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /m$/) n *= 60000; else if (v ~ /[0-9]s$/ && v !~ /ms$/) n *= 1000; print n }'; }
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"; }
for batch in 1 256; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  rm -rf "$tmp/data"; mkdir -p "$tmp/data"
  $BIN serve --port "$port" --db "$tmp/data/db.sqlite" --write-batch "$batch" >"$tmp/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  export TOKEN=$($BIN token --sub bench --role service --db "$tmp/data/db.sqlite")
  cpu0=$(cpu $pid)
  out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$tmp/post.lua" "http://127.0.0.1:$port/api/orders")
  cpu1=$(cpu $pid)
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  errors=$(echo "$out" | awk '/Socket errors/ {print}')
  events=$(curl -fsS "http://127.0.0.1:$port/metrics" | awk '/^orderpush_events_appended_total/ {print $2}')
  echo "write-batch=$batch connections=$CONNS seconds=$SECS orders/s=$rps p50=$p50 p99=$p99 non-2xx=${non2xx:-0} events=$events${errors:+ ($errors)}"
  if [[ -n ${GROUP_COMMIT_RESULTS:-} ]]; then
    printf '{"event":"result","label":"f-batch%s","mode":"group-commit","write_batch":%s,"connections":%s,"seconds":%s,"orders_per_s":%s,"p50_ms":%s,"p99_ms":%s,"non_2xx":%s,"events":%s,"server_cpu_s":%s,"socket_errors":"%s"}\n' \
      "$batch" "$batch" "$CONNS" "$SECS" "${rps:-null}" "$(to_ms "${p50:-0}")" "$(to_ms "${p99:-0}")" "${non2xx:-0}" "${events:-null}" \
      "$(python3 -c "print(round($cpu1 - $cpu0, 2))")" "${errors:-}" >> "$GROUP_COMMIT_RESULTS"
  fi
  kill -TERM $pid; wait $pid || true
  pid=
done
