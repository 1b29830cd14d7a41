#!/usr/bin/env bash
# A throwaway OrderPush cluster on loopback: one PostgreSQL (initdb into a temp folder),
# N OrderPush nodes sharing it and one signing secret, and HAProxy in front, fit for
# WebSockets. Prints the balancer's URL and admin/demo links; Ctrl-C stops everything and
# deletes the folder.
#
#   scripts/cluster.sh [--nodes N] [--port BALANCER_PORT] [--release] [--keep]
#
# Environment: ORDERPUSH_BIN (a built binary; default: swift build, debug or --release),
# CLUSTER_DIR (folder to use instead of a temp one), NODE_ARGS (extra `serve` flags for
# every node, e.g. "--loops 1").
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=3
balancer_port=8080
config=debug
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --nodes) nodes="$2"; shift 2 ;;
    --port) balancer_port="$2"; shift 2 ;;
    --release) config=release; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing $1: $2" >&2; exit 1; }; }
need pg_config "apt install postgresql libpq-dev"
need haproxy "apt install haproxy"
need curl "apt install curl"
bindir=$(pg_config --bindir)
for p in initdb pg_ctl postgres psql; do
  [ -x "$bindir/$p" ] || { echo "missing $bindir/$p: apt install postgresql" >&2; exit 1; }
done

if [ -z "${ORDERPUSH_BIN:-}" ]; then
  swift build -c "$config" --product orderpush >&2
  ORDERPUSH_BIN="$(swift build -c "$config" --show-bin-path)/orderpush"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

dir="${CLUSTER_DIR:-$(mktemp -d /tmp/orderpush-cluster-XXXXXX)}"
mkdir -p "$dir"
chmod 755 "$dir"
pids=()
pgdata="$dir/pgdata"
run_pg() {
  # PostgreSQL refuses to run as root: as root, its programs run as `postgres`.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -f "$pgdata/postmaster.pid" ] && run_pg "$bindir/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
  if [ "$keep" = 1 ]; then echo "kept $dir"; else rm -rf "$dir"; fi
  exit 0
}
trap cleanup INT TERM EXIT

# PostgreSQL: password authentication on loopback only, a random password.
pg_port=$(free_port)
password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
mkdir -p "$pgdata"
printf '%s\n' "$password" > "$dir/pgpass"
chmod 600 "$dir/pgpass"
if [ "$(id -u)" = 0 ]; then chown postgres: "$pgdata" "$dir/pgpass"; fi
run_pg "$bindir/initdb" -D "$pgdata" -U orderpush --pwfile "$dir/pgpass" -A scram-sha-256 -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
run_pg "$bindir/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w \
  -o "-p $pg_port -k $pgdata -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
database_url="postgresql://orderpush:$password@127.0.0.1:$pg_port/postgres"
echo "PostgreSQL on 127.0.0.1:$pg_port (data in $pgdata)"

# One signing secret for every node: a token minted by one is valid on all.
head -c 48 /dev/urandom > "$dir/jwt-secret"
chmod 600 "$dir/jwt-secret"

backends=""
node_ports=()
for i in $(seq 1 "$nodes"); do
  port=$(free_port)
  node_ports+=("$port")
  ORDERPUSH_DATABASE_URL="$database_url" "$ORDERPUSH_BIN" serve --port "$port" --node-name "node$i" \
    --jwt-secret-file "$dir/jwt-secret" --web web ${NODE_ARGS:-} >"$dir/node$i.out" 2>"$dir/node$i.log" &
  pids+=($!)
  backends+="    server node$i 127.0.0.1:$port check"$'\n'
done
for i in $(seq 1 "$nodes"); do
  port=${node_ports[$((i-1))]}
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "node$i did not come up:" >&2; cat "$dir/node$i.log" >&2; exit 1; }
done

# HAProxy: WebSockets are long-lived tunnels (timeout tunnel), nodes are checked on
# /healthz (503 while a node's database is down takes it out), leastconn spreads
# long-lived connections better than round robin.
# Every proxied connection holds two descriptors; leave some for the rest.
haproxy_maxconn=$(( ($(ulimit -n) - 100) / 2 ))
cat > "$dir/haproxy.cfg" <<CFG
global
    maxconn $haproxy_maxconn
defaults
    mode http
    option http-server-close
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    timeout client-fin 5s
    timeout http-request 10s
frontend orderpush
    bind 127.0.0.1:$balancer_port
    default_backend nodes
backend nodes
    balance leastconn
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
$backends
CFG
haproxy -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$balancer_port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

base="http://127.0.0.1:$balancer_port"
links=$(grep -E "admin dashboard|demo customer" "$dir/node1.out" | sed -E "s#http://127\.0\.0\.1:[0-9]+#$base#")
echo
echo "OrderPush cluster: $nodes nodes behind HAProxy at $base (ws://127.0.0.1:$balancer_port/ws)"
for i in $(seq 1 "$nodes"); do echo "  node$i: http://127.0.0.1:${node_ports[$((i-1))]}  (log $dir/node$i.log)"; done
echo "$links"
echo "database: ${database_url/$password/***}"
echo "Ctrl-C stops everything."
wait -n "${pids[@]}" || true
# Reached when a node or HAProxy exits on its own (Ctrl-C goes to the trap).
echo "a process of the cluster exited; its log is in $dir" >&2
keep=1
