#!/usr/bin/env bash
# Creates a local development CA and a server certificate for localhost, 127.0.0.1 and ::1,
# for `orderpush serve --tls-cert ... --tls-key ...`. See certs/README.md.
#
#   certs/make-dev-cert.sh            create what is missing (does nothing if all exist)
#   certs/make-dev-cert.sh --force    replace everything, the CA included
#   certs/make-dev-cert.sh --out DIR  write to DIR instead of this script's folder
set -euo pipefail

usage() {
    sed -n '2,8s/^# \{0,1\}//p' "$0"
}

force=0
out="$(cd "$(dirname "$0")" && pwd)"
while [ $# -gt 0 ]; do
    case "$1" in
        --force) force=1 ;;
        --out) [ $# -ge 2 ] || { echo "make-dev-cert: --out needs a directory" >&2; exit 2; }; out="$2"; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "make-dev-cert: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

command -v openssl >/dev/null || { echo "make-dev-cert: the openssl command is needed (apt-get install openssl)" >&2; exit 1; }

# Private keys must never be readable by others, not even between creation and a chmod.
umask 077
mkdir -p "$out"
out="$(cd "$out" && pwd)"
ca_key="$out/ca-key.pem" ca_cert="$out/ca.pem" key="$out/key.pem" cert="$out/cert.pem"

print_usage_hint() {
    echo
    echo "Run the server with TLS (HTTPS and WSS on port 8443):"
    echo "  orderpush serve --tls-cert $cert --tls-key $key"
    echo "  (or: swift run -c release orderpush serve --tls-cert $cert --tls-key $key)"
    echo "Check it, trusting only this CA:"
    echo "  curl --cacert $ca_cert https://localhost:8443/healthz"
    echo "For browsers, trust $ca_cert as a certificate authority (see certs/README.md)."
}

if [ "$force" = 0 ] && [ -f "$cert" ] && [ -f "$key" ] && [ -f "$ca_cert" ]; then
    echo "Development certificates already exist in $out (use --force to replace them)."
    if ! openssl x509 -checkend 0 -noout -in "$cert" >/dev/null; then
        echo "WARNING: $cert has expired; run with --force to make new ones." >&2
    fi
    print_usage_hint
    exit 0
fi

work="$(mktemp -d "$out/.make-dev-cert.XXXXXX")"
trap 'rm -rf "$work"' EXIT

serial() { echo "0x$(openssl rand -hex 16)"; }

# The CA may sign only for these names (nameConstraints): if ca-key.pem ever leaks, it
# cannot be used to impersonate any other site to a browser that trusts this CA.
cat > "$work/ca.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
x509_extensions = ca_ext
[dn]
O = OrderPush development
CN = OrderPush development CA ($(hostname 2>/dev/null || echo local), $(date +%Y-%m-%d))
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
nameConstraints = critical, permitted;DNS:localhost, permitted;IP:127.0.0.1/255.255.255.255, permitted;IP:::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
CNF

cat > "$work/server.cnf" <<CNF
[req]
distinguished_name = dn
prompt = no
[dn]
O = OrderPush development
CN = localhost
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

if [ "$force" = 0 ] && [ -f "$ca_cert" ] && [ -f "$ca_key" ]; then
    echo "Reusing the existing development CA $ca_cert."
    cp "$ca_cert" "$work/ca.pem"
    cp "$ca_key" "$work/ca-key.pem"
else
    echo "Creating a development CA (valid 10 years, limited to localhost, 127.0.0.1, ::1)..."
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/ca-key.pem" 2>/dev/null
    openssl req -new -x509 -config "$work/ca.cnf" -key "$work/ca-key.pem" -sha256 -days 3650 \
        -set_serial "$(serial)" -out "$work/ca.pem"
fi

# 397 days: under the 398/825-day limits that Apple platforms and browsers enforce.
echo "Creating the server certificate for localhost, 127.0.0.1 and ::1 (valid 397 days)..."
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/key.pem" 2>/dev/null
openssl req -new -config "$work/server.cnf" -key "$work/key.pem" -out "$work/server.csr"
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca-key.pem" -set_serial "$(serial)" \
    -days 397 -sha256 -extfile "$work/server.cnf" -extensions server_ext -out "$work/cert.pem" 2>/dev/null
openssl verify -CAfile "$work/ca.pem" "$work/cert.pem" >/dev/null

chmod 600 "$work/key.pem" "$work/ca-key.pem"
chmod 644 "$work/cert.pem" "$work/ca.pem"
mv -f "$work/ca-key.pem" "$ca_key"
mv -f "$work/ca.pem" "$ca_cert"
mv -f "$work/key.pem" "$key"
mv -f "$work/cert.pem" "$cert"

echo
echo "Development certificates in $out:"
echo "  ca.pem      the local CA certificate: trust this one ($(openssl x509 -noout -enddate -in "$ca_cert" | cut -d= -f2))"
echo "  ca-key.pem  the CA's private key (mode 0600, keep it private)"
echo "  cert.pem    server certificate for localhost, 127.0.0.1, ::1 (until $(openssl x509 -noout -enddate -in "$cert" | cut -d= -f2))"
echo "  key.pem     server private key (mode 0600)"
print_usage_hint
