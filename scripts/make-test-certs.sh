#!/bin/sh
# Test certificates for SIP over TLS (tests only; never deploy these keys):
# a private CA, a server certificate for 127.0.0.1 signed by it (AgentLine and
# baresip in the tests), and a self-signed "rogue" one for 127.0.0.1 that no
# test trusts (a TLS target whose certificate does not verify).
# The output is committed under test/fixtures/tls so tests need no openssl.
# Usage: scripts/make-test-certs.sh [DIR]   (default test/fixtures/tls)
set -eu
dir=${1:-"$(dirname "$0")/../test/fixtures/tls"}
mkdir -p "$dir"
cd "$dir"
days=7300
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
  -keyout ca.key -out ca.crt -subj "/CN=AgentLine test CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key -out server.csr -subj "/CN=127.0.0.1"
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" -sha256 \
  -extfile server.ext -out server.crt
# baresip (libre) wants certificate and key in one PEM file.
cat server.crt server.key > server.pem
openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days "$days" \
  -keyout rogue.key -out rogue.crt -subj "/CN=127.0.0.1" -addext subjectAltName=IP:127.0.0.1
rm -f server.csr server.ext ca.srl
echo "test certificates written to $dir"
