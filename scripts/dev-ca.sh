#!/usr/bin/env bash
# Makes a local certificate authority and certificates for development and tests, into the folder given as the
# only argument (created if missing):
#   ca.pem ca-key.pem          the CA (trust ca.pem: NODE_EXTRA_CA_CERTS, nats ca_file, gRPC root certs)
#   server.pem server-key.pem  for nats-server (clients and cluster routes), the gRPC and HTTP servers
#   client.pem client-key.pem  for mutual TLS clients
# The server certificate is also a client certificate (extendedKeyUsage clientAuth) because nats-server nodes
# present it to each other on cluster routes, which are verified both ways. Its names cover loopback, the
# Compose service names and the Kubernetes service names (namespace portstream). Never use these in production:
# the CA key sits next to the certificates. Extra DNS names: DEV_CA_EXTRA_DNS="a.example b.example".
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 <output folder>" >&2
  exit 2
fi
out=$1
days=${DEV_CA_DAYS:-825}
mkdir -p "$out"
cd "$out"
umask 077

dns=(localhost nats nats-0.nats nats-1.nats nats-2.nats '*.nats' '*.nats.portstream.svc' '*.nats.portstream.svc.cluster.local'
  nats.portstream.svc ingest api clickhouse ingest.portstream.svc api.portstream.svc)
# shellcheck disable=SC2206 # word splitting of the extra names is intended
dns+=(${DEV_CA_EXTRA_DNS:-})
san="IP:127.0.0.1,IP:::1"
for d in "${dns[@]}"; do san+=",DNS:$d"; done

openssl req -x509 -new -newkey rsa:3072 -nodes -sha256 -days "$days" \
  -subj "/O=portstream dev/CN=portstream dev CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca-key.pem -out ca.pem 2>/dev/null

# issue <name> <common name> <extensions>
issue() {
  local name=$1 cn=$2 ext=$3
  openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/O=portstream dev/CN=$cn" \
    -keyout "$name-key.pem" -out "$name.csr" 2>/dev/null
  printf '%b' "$ext" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days "$days" -sha256 \
    -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

issue server "portstream server" \
  "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=$san\n"
issue client "portstream client" \
  "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n"
rm -f ca.srl
# Certificates are public; keys stay readable by the owner only (umask above).
chmod 644 ca.pem server.pem client.pem
openssl verify -CAfile ca.pem server.pem client.pem >/dev/null
echo "dev CA and certificates written to $out"
