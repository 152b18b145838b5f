#!/usr/bin/env bash
# make_test_pki.sh DIR: keys and certificates for tests and trials of auth and TLS (issue 12),
# made with the openssl command line in DIR:
#   jwt1.pem / jwt1.pub.pem, jwt2.pem / jwt2.pub.pem   RSA key pairs that sign and verify tokens
#                                                     (two, to try a key rotation)
#   ca.pem / ca.key                                   a test certificate authority
#   server.pem / server.key                           a server certificate for 127.0.0.1 and
#                                                     localhost, signed by the CA
#   client.pem / client.key                           a client certificate (mTLS), signed by it
#   other-ca.pem / other-ca.key                       a second CA (the wrong CA for the others)
#   other-client.pem / other-client.key               a client certificate signed by other-ca
# Nothing here is for production: the keys are unencrypted and the certificates last 30 days.
set -euo pipefail
dir=${1:?usage: make_test_pki.sh DIR}
mkdir -p "$dir"
cd "$dir"
rsa() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null; }
for k in jwt1 jwt2; do
  rsa "$k.pem"
  openssl pkey -in "$k.pem" -pubout -out "$k.pub.pem"
done
ca() {  # ca NAME: a self-signed CA
  rsa "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days 30 -subj "/CN=pageserver test $1" -out "$1.pem"
}
ca ca
ca other-ca
leaf() {  # leaf NAME EXTENSIONS [CA]: a certificate signed by CA (default: ca)
  local signer=${3:-ca}
  rsa "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=pageserver test $1" -out "$1.csr"
  printf '%s\n' "$2" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$signer.pem" -CAkey "$signer.key" -CAcreateserial -days 30 -sha256 \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
leaf server "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth"
leaf client "extendedKeyUsage=clientAuth"
leaf other-client "extendedKeyUsage=clientAuth" other-ca
echo "test keys and certificates in $PWD"
