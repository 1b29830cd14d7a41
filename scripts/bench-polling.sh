#!/usr/bin/env bash
# The polling path (docs/BENCHMARKS.md, "Polling path (issue 11)"): polls/s and server CPU
# per poll of two orderpush binaries side by side (e.g. main and a branch), each on its own
# fresh SQLite database seeded the same way, measured alternately in one run.
#
#   scripts/bench-polling.sh BEFORE_BIN AFTER_BIN [SECONDS (5)] [ROUNDS (2)] [CONNECTIONS (32)]
#
# Per case: wrk -t1 -cCONNECTIONS -dSECONDS, and the server's CPU seconds (utime+stime of
# /proc/PID/stat) over the run divided by the requests wrk completed. Cases:
#   304 user      GET /api/orders?since=<cursor> with If-None-Match: the current ETag (nothing new)
#   304 list      GET /api/orders (no since) with If-None-Match
#   200 user      GET /api/orders?since=0 for a user with 4 orders (4 events, 4 orders)
#   200 admin     GET /api/orders?since=<head-50>&limit=50 (50 events, 50 orders)
#   304 admin     the same with If-None-Match (before: the 50 events and their orders are read for the ETag)
#   200 static    GET /orderpush.js
#   304 static    GET /orderpush.js with If-None-Match (before: no ETag, so a 200)
# Needs: wrk, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=${1:?before binary}; AFTER=${2:?after binary}
SECS=${3:-5}; ROUNDS=${4:-2}; CONNS=${5:-32}
command -v wrk >/dev/null || { echo "needs wrk" >&2; exit 2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tmp=$(mktemp -d /tmp/orderpush-benchpoll-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
HZ=$(getconf CLK_TCK)

declare -A PORT PID USER_TOKEN ADMIN_TOKEN
start() {  # name binary
  local name=$1 bin=$2 port; port=$(free_port)
  mkdir -p "$tmp/$name"
  "$bin" serve --port "$port" --db "$tmp/$name/db.sqlite" --web "$PWD/web" --loops 2 >"$tmp/$name.log" 2>&1 &
  PID[$name]=$!; pids+=("$!"); PORT[$name]=$port
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  local service; service=$("$bin" token --sub bench --role service --db "$tmp/$name/db.sqlite")
  USER_TOKEN[$name]=$("$bin" token --sub u7 --role user --db "$tmp/$name/db.sqlite")
  ADMIN_TOKEN[$name]=$("$bin" token --sub ops --role admin --db "$tmp/$name/db.sqlite")
  # 200 orders for 50 users (u0..u49: 4 each), one tracking update for every 4th.
  for i in $(seq 0 199); do
    id=$(curl -fsS -X POST "http://127.0.0.1:$port/api/orders" -H "Authorization: Bearer $service" \
      -H 'Content-Type: application/json' \
      -d "{\"items\":[{\"productId\":\"p$i\",\"name\":\"Tea $i\",\"quantity\":2,\"price\":120.5}],\"paymentMethod\":\"cod\",\"userId\":\"u$((i % 50))\",\"shippingAddress\":{\"line1\":\"12 MG Road\",\"city\":\"Bengaluru\"}}" \
      | grep -o '"id":"ord_[0-9a-f]*"' | head -1 | cut -d'"' -f4)
    if (( i % 4 == 0 )); then
      curl -fsS -X PUT "http://127.0.0.1:$port/api/orders/$id/tracking" -H "Authorization: Bearer $service" \
        -H 'Content-Type: application/json' -d '{"status":"shipped","note":"left the warehouse","location":{"lat":12.97,"lng":77.59}}' >/dev/null
    fi
  done
}

cat >"$tmp/get.lua" <<'LUA'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_TOKEN")
local etag = os.getenv("WRK_ETAG")
if etag ~= nil and etag ~= "" then wrk.headers["If-None-Match"] = etag end
LUA

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
etag_of() { curl -fsS -D - -o /dev/null "$@" | awk 'tolower($1)=="etag:" {sub(/\r$/,"",$2); print $2}'; }
status_of() { curl -sS -o /dev/null -w '%{http_code}' "$@"; }

measure() {  # name label path token etag
  local name=$1 label=$2 path=$3 token=$4 etag=$5 url out reqs t0 t1 status
  url="http://127.0.0.1:${PORT[$name]}$path"
  status=$(status_of -H "Authorization: Bearer $token" ${etag:+-H "If-None-Match: $etag"} "$url")
  t0=$(cpu_ticks "${PID[$name]}")
  out=$(WRK_TOKEN=$token WRK_ETAG=$etag wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$tmp/get.lua" "$url")
  t1=$(cpu_ticks "${PID[$name]}")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  awk -v n="$name" -v l="$label" -v s="$status" -v r="$reqs" -v secs="$SECS" -v dt=$((t1 - t0)) -v hz="$HZ" \
    'BEGIN { printf "%-7s %-11s status %s  %8.0f req/s  %7.1f us CPU/req\n", n, l, s, r / secs, dt / hz * 1e6 / r }'
}

start before "$BEFORE"
start after "$AFTER"
for round in $(seq "$ROUNDS"); do
  echo "== round $round"
  for name in before after; do
    port=${PORT[$name]} ut=${USER_TOKEN[$name]} at=${ADMIN_TOKEN[$name]}
    cursor=$(curl -fsS "http://127.0.0.1:$port/api/orders?since=0" -H "Authorization: Bearer $ut" | grep -o '"cursor":[0-9]*' | cut -d: -f2)
    head=$(curl -fsS "http://127.0.0.1:$port/api/orders" -H "Authorization: Bearer $at" | grep -o '"cursor":[0-9]*' | cut -d: -f2)
    e304=$(etag_of -H "Authorization: Bearer $ut" "http://127.0.0.1:$port/api/orders?since=$cursor")
    elist=$(etag_of -H "Authorization: Bearer $ut" "http://127.0.0.1:$port/api/orders")
    estatic=$(etag_of "http://127.0.0.1:$port/orderpush.js")
    eadmin=$(etag_of -H "Authorization: Bearer $at" "http://127.0.0.1:$port/api/orders?since=$((head - 50))&limit=50")
    measure "$name" "304 user" "/api/orders?since=$cursor" "$ut" "$e304"
    measure "$name" "304 list" "/api/orders" "$ut" "$elist"
    measure "$name" "200 user" "/api/orders?since=0" "$ut" ""
    measure "$name" "200 admin" "/api/orders?since=$((head - 50))&limit=50" "$at" ""
    measure "$name" "304 admin" "/api/orders?since=$((head - 50))&limit=50" "$at" "$eadmin"
    measure "$name" "200 static" "/orderpush.js" "$ut" ""
    measure "$name" "304 static" "/orderpush.js" "$ut" "${estatic:-\"none\"}"
  done
done
