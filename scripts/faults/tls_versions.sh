#!/usr/bin/env bash
# TLS versions: the server must refuse TLS 1.0 and 1.1 and accept 1.2 and 1.3.
#
#   scripts/faults/tls_versions.sh
#
# Makes a throw-away dev certificate (certs/make-dev-cert.sh --out TMP), starts the release
# binary (ORDERPUSH_BIN to override) with TLS on a free loopback port, and runs
# `openssl s_client` once per version. The client side is opened up with
# `-cipher DEFAULT@SECLEVEL=0` so that OpenSSL 3's client would offer 1.0/1.1 at all: a
# refusal then comes from the server. Loopback only; stops the server at the end.
# Exit 0 when 1.0/1.1 are refused and 1.2/1.3 negotiated.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=${ORDERPUSH_BIN:-.build/release/orderpush}
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
certs/make-dev-cert.sh --out "$tmp/certs" >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --host 127.0.0.1 --port 0 --tls-port "$port" --db "$tmp/db.sqlite" --web web \
  --tls-cert "$tmp/certs/cert.pem" --tls-key "$tmp/certs/key.pem" >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q 'https://' "$tmp/out" && break; sleep 0.1; done
status=0
for v in tls1 tls1_1 tls1_2 tls1_3; do
  out=$(timeout 10 openssl s_client -connect "127.0.0.1:$port" -"$v" -cipher 'DEFAULT@SECLEVEL=0' \
        -CAfile "$tmp/certs/ca.pem" </dev/null 2>&1)
  # s_client prints "New, TLSv1.3, Cipher is X", or "New, (NONE), Cipher is (NONE)".
  line=$(grep -m1 -E '^New, ' <<<"$out")
  proto=$(sed -E 's/^New, ([^,]*),.*/\1/' <<<"$line")
  cipher=$(sed -E 's/.*Cipher is (.*)$/\1/' <<<"$line")
  alert=$(grep -m1 -oE 'alert protocol version|alert [a-z]+ [a-z]+|no protocols available|wrong version number|unsupported protocol' <<<"$out" | head -1)
  if [[ -n $line && $cipher != "(NONE)" ]]; then
    echo "$v: negotiated $proto $cipher"
    [[ $v == tls1 || $v == tls1_1 ]] && status=1
  else
    echo "$v: refused (${alert:-no session})"
    [[ $v == tls1_2 || $v == tls1_3 ]] && status=1
  fi
done
[[ $status == 0 ]] && echo "PASS: TLS 1.0/1.1 refused, 1.2/1.3 accepted" || echo "FAIL"
exit $status
