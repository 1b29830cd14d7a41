#!/usr/bin/env bash
# What idle WebSockets cost the server: N connections on /ws/broadcast held 100 s against a
# fresh `orderpush serve --bench`; prints the server's CPU (user, system) over 60 s once all
# are open. Loopback only; stops by itself.
#
#   Benchmarks/idle-cost.sh ORDERPUSH_BINARY [N] [server args...]
#   Benchmarks/idle-cost.sh .build/release/orderpush 16700                       # pings every 30 s
#   Benchmarks/idle-cost.sh .build/release/orderpush 16700 --ping-interval 3600  # no pings
#
# Needs the load generator built: (cd Benchmarks/loadgen && swift build -c release).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$1; N=${2:-16700}; shift $(( $# >= 2 ? 2 : 1 ))
LOADGEN=$ROOT/Benchmarks/loadgen/.build/release/loadgen
[[ -x $LOADGEN ]] || { echo "build the load generator first (see above)" >&2; exit 1; }
PORT=$((21000 + RANDOM % 2000)); WORK=$(mktemp -d /tmp/idle-cost.XXXXXX)
"$BIN" serve --bench --port "$PORT" --db "$WORK/db.sqlite" "$@" > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
"$LOADGEN" idle -c "$N" --hold 100 --port "$PORT" > "$WORK/loadgen.log" 2>&1 &
LOAD=$!
sleep 12   # all open (the load generator needs a few seconds for 16,700 handshakes)
ticks() { awk '{print $14, $15}' "/proc/$SERVER/stat"; }
read -r u0 s0 < <(ticks); sleep 60; read -r u1 s1 < <(ticks)
wait "$LOAD" || true
open=$(grep -o '"ready":[0-9]*' "$WORK/loadgen.log" | head -1 | cut -d: -f2)
python3 - "$u0" "$s0" "$u1" "$s1" "$(getconf CLK_TCK)" "$open" <<'PY'
import sys
u0, s0, u1, s1, hz = (int(x) for x in sys.argv[1:6])
user, system = (u1 - u0) / hz, (s1 - s0) / hz
print(f"{sys.argv[6]} idle connections: server CPU {user + system:.2f} s per minute "
      f"(user {user:.2f}, system {system:.2f}) = {(user + system) / 60 * 100:.2f} % of a core")
PY
