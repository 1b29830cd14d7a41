#!/usr/bin/env bash
# The cluster section of docs/BENCHMARKS.md: a throwaway PostgreSQL + 3 nodes + HAProxy on
# loopback (scripts/cluster.sh), beside one SQLite node. Prints one line per figure.
#
#   scripts/bench-cluster.sh [SUBSCRIBERS_PER_NODE (6000)] [IDLE_PER_NODE (18000)]
#
# 0. a loop's read: GET /api/orders/{id} and a polling page, SQLite vs PostgreSQL (wrk)
# 1. durable orders/s (wrk, 64 connections, 10 s, POST /api/orders): SQLite one node,
#    PostgreSQL one node, PostgreSQL three nodes through HAProxy
# 2. fan-out: SUBSCRIBERS_PER_NODE admin subscribers on every node (straight to the nodes:
#    HAProxy's 20 000 descriptors hold only ~9 900 proxied connections), orders POSTed on
#    node1, delivery latency on all (loadgen orders), beside one SQLite node
#    VIA_BALANCER=N: also N subscribers in all through HAProxy (N <= ~9 000 here)
# 3. connections held: IDLE_PER_NODE idle WebSockets on each node, RSS per connection
# SECTIONS=01 runs only those sections (default 0123).
# Needs: wrk, haproxy, postgresql; builds orderpush and loadgen (release) unless
# ORDERPUSH_BIN / LOADGEN are set.
set -euo pipefail
cd "$(dirname "$0")/.."
SUBS=${1:-6000}
IDLE=${2:-18000}
SECTIONS=${SECTIONS:-0123}
command -v wrk >/dev/null || { echo "needs wrk: apt-get install -y wrk" >&2; exit 2; }
BIN=${ORDERPUSH_BIN:-}
if [ -z "$BIN" ]; then swift build -c release --product orderpush >&2; BIN=$PWD/.build/release/orderpush; fi
LOADGEN=${LOADGEN:-}
if [ -z "$LOADGEN" ]; then
  (cd Benchmarks/loadgen && swift build -c release --scratch-path .build >&2)
  LOADGEN=$PWD/Benchmarks/loadgen/.build/release/loadgen
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d /tmp/orderpush-benchcluster-XXXXXX)
chmod 755 "$tmp"
cluster_pid=
sqlite_pid=
cleanup() {
  [ -n "$sqlite_pid" ] && kill "$sqlite_pid" 2>/dev/null || true
  [ -n "$cluster_pid" ] && kill -TERM "$cluster_pid" 2>/dev/null && wait "$cluster_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# The cluster (nodes with --bench for the idle test's /ws/broadcast).
balancer=$(free_port)
CLUSTER_DIR="$tmp/cluster" ORDERPUSH_BIN="$BIN" NODE_ARGS="--bench ${NODE_ARGS:-}" \
  scripts/cluster.sh --port "$balancer" >"$tmp/cluster.out" 2>&1 &
cluster_pid=$!
for _ in $(seq 120); do grep -q "Ctrl-C" "$tmp/cluster.out" && break; sleep 1; done
grep -q "Ctrl-C" "$tmp/cluster.out" || { cat "$tmp/cluster.out" >&2; exit 1; }
mapfile -t ports < <(grep -o 'node[0-9]*: http://127.0.0.1:[0-9]*' "$tmp/cluster.out" | grep -o '[0-9]*$')
node_pid() { pgrep -f -- "--port $1 --node-name" | head -1; }
TOKEN=$("$BIN" token --sub bench --role service --jwt-secret-file "$tmp/cluster/jwt-secret")
export TOKEN

# One SQLite node, same binary.
sqlite_port=$(free_port)
mkdir -p "$tmp/sqlite"
"$BIN" serve --port "$sqlite_port" --db "$tmp/sqlite/db.sqlite" --bench >"$tmp/sqlite.log" 2>&1 &
sqlite_pid=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$sqlite_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
SQLITE_TOKEN=$("$BIN" token --sub bench --role service --db "$tmp/sqlite/db.sqlite")

cat >"$tmp/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"items":[{"productId":"p1","name":"Tea","quantity":2,"price":120.0}],"paymentMethod":"cod","userId":"u1"}'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_TOKEN")
wrk.headers["Content-Type"] = "application/json"
LUA
cat >"$tmp/get.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_TOKEN")
LUA
wrk_line() {  # label token url [connections seconds script]
  local label=$1 token=$2 url=$3 conns=${4:-64} secs=${5:-10} script=${6:-$tmp/post.lua}
  local out
  out=$(WRK_TOKEN=$token wrk -t"$(( conns < 2 ? 1 : 2 ))" -c"$conns" -d"${secs}s" --latency -s "$script" "$url")
  printf '%s: %s req/s, p50 %s, p99 %s, non-2xx %s\n' "$label" "$(echo "$out" | awk '/Requests\/sec/ {print $2}')" \
    "$(echo "$out" | awk '$1=="50%" {print $2}')" "$(echo "$out" | awk '$1=="99%" {print $2}')" \
    "$(echo "$out" | awk '/Non-2xx/ {print $NF}' | grep . || echo 0)"
}

if [[ $SECTIONS == *0* ]]; then
echo "== 0. a loop's read (after 200 orders)"
for i in $(seq 200); do
  curl -fsS -X POST "http://127.0.0.1:$sqlite_port/api/orders" -H "Authorization: Bearer $SQLITE_TOKEN" -H 'Content-Type: application/json' \
    -d '{"items":[{"productId":"p1","name":"Tea","quantity":1,"price":1.0}],"paymentMethod":"cod","userId":"u1"}' >/dev/null
  curl -fsS -X POST "http://127.0.0.1:${ports[0]}/api/orders" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"items":[{"productId":"p1","name":"Tea","quantity":1,"price":1.0}],"paymentMethod":"cod","userId":"u1"}' >/dev/null
done
sqlite_id=$(curl -fsS "http://127.0.0.1:$sqlite_port/api/orders?since=199" -H "Authorization: Bearer $SQLITE_TOKEN" | grep -o '"id":"ord_[0-9a-f]*"' | head -1 | cut -d'"' -f4)
pg_id=$(curl -fsS "http://127.0.0.1:${ports[0]}/api/orders?since=199" -H "Authorization: Bearer $TOKEN" | grep -o '"id":"ord_[0-9a-f]*"' | head -1 | cut -d'"' -f4)
for c in 1 32; do
  wrk_line "GET order, SQLite, $c conn" "$SQLITE_TOKEN" "http://127.0.0.1:$sqlite_port/api/orders/$sqlite_id" "$c" 5 "$tmp/get.lua"
  wrk_line "GET order, PostgreSQL, $c conn" "$TOKEN" "http://127.0.0.1:${ports[0]}/api/orders/$pg_id" "$c" 5 "$tmp/get.lua"
  wrk_line "poll page of 10, SQLite, $c conn" "$SQLITE_TOKEN" "http://127.0.0.1:$sqlite_port/api/orders?since=190" "$c" 5 "$tmp/get.lua"
  wrk_line "poll page of 10, PostgreSQL, $c conn" "$TOKEN" "http://127.0.0.1:${ports[0]}/api/orders?since=190" "$c" 5 "$tmp/get.lua"
done

fi

if [[ $SECTIONS == *1* ]]; then
echo "== 1. durable orders/s (wrk -t2 -c64 -d10s POST /api/orders)"
wrk_line "SQLite, one node" "$SQLITE_TOKEN" "http://127.0.0.1:$sqlite_port/api/orders"
wrk_line "PostgreSQL, one node" "$TOKEN" "http://127.0.0.1:${ports[0]}/api/orders"
wrk_line "PostgreSQL, three nodes via HAProxy" "$TOKEN" "http://127.0.0.1:$balancer/api/orders"
echo "appended per node: $(for p in "${ports[@]}"; do curl -fsS "http://127.0.0.1:$p/metrics" | awk '/^orderpush_events_appended_total/ {printf "%s ", $2}'; done)"

fi

if [[ $SECTIONS == *2* ]]; then
echo "== 2. fan-out: POST on node1, $SUBS admin subscribers per node"
"$LOADGEN" orders --port "$sqlite_port" -s "$SUBS" --token "$SQLITE_TOKEN" -m 200 -r 20 --timeout 300 \
  --label "sqlite-1node-$SUBS" 2>"$tmp/lg1.err" | grep '"result"' || tail -5 "$tmp/lg1.err"
tail -4 "$tmp/lg1.err"
"$LOADGEN" orders --port "${ports[0]}" --subscriber-ports "$(IFS=,; echo "${ports[*]}")" -s $((SUBS * 3)) --token "$TOKEN" \
  -m 200 -r 20 --timeout 300 --label "pg-3nodes-$SUBS-each" 2>"$tmp/lg2.err" | grep '"result"' || tail -5 "$tmp/lg2.err"
tail -4 "$tmp/lg2.err"
if [ -n "${VIA_BALANCER:-}" ]; then
  # The same through HAProxy: VIA_BALANCER subscribers in all (a proxied connection holds
  # two of HAProxy's descriptors: ~9 900 at most under a 20 000-descriptor cap), spread
  # over the nodes by leastconn; orders still POSTed on node1.
  "$LOADGEN" orders --port "${ports[0]}" --subscriber-ports "$balancer" -s "$VIA_BALANCER" --token "$TOKEN" \
    -m 200 -r 20 --timeout 300 --label "pg-3nodes-via-haproxy-$VIA_BALANCER" 2>"$tmp/lg3.err" | grep '"result"' || tail -5 "$tmp/lg3.err"
  tail -4 "$tmp/lg3.err"
fi

fi

if [[ $SECTIONS == *3* ]]; then
echo "== 3. idle WebSockets held: $IDLE per node"
lg_pids=()
for i in "${!ports[@]}"; do
  "$LOADGEN" idle --port "${ports[$i]}" -c "$IDLE" --hold 10 --timeout 300 --server-pid "$(node_pid "${ports[$i]}")" \
    --label "idle-node$((i+1))" >"$tmp/idle$i.json" 2>"$tmp/idle$i.err" &
  lg_pids+=($!)
done
for pid in "${lg_pids[@]}"; do wait "$pid" || true; done
for i in "${!ports[@]}"; do grep '"result"' "$tmp/idle$i.json" || tail -3 "$tmp/idle$i.err"; done
fi
