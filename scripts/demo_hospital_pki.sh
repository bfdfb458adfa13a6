#!/usr/bin/env bash
# The demo hospital's own PKI, apart from healthtwin's (deploy/pki/make-dev-pki.sh): a CA
# "demo-hospital CA" and a server certificate for its FHIR endpoint, for the name `localhost`
# (SAN DNS:localhost, IP:127.0.0.1), which the feed verifies with --tls-ca OUTDIR/hospital-ca.pem.
# Development only: EC P-256 keys, valid 30 days, written unencrypted.
#
#   scripts/demo_hospital_pki.sh OUTDIR
# Writes OUTDIR/hospital-ca.pem, hospital-ca.key, fhir-server.pem (leaf), fhir-server.key.
set -euo pipefail
(($# == 1)) || { echo "usage: demo_hospital_pki.sh OUTDIR" >&2; exit 2; }
out=$1
mkdir -p "$out"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj "/O=Demo Hospital/CN=demo-hospital CA" -keyout "$out/hospital-ca.key" -out "$out/hospital-ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=Demo Hospital/CN=localhost" \
  -keyout "$out/fhir-server.key" -out "$out/fhir-server.csr" 2>/dev/null
openssl x509 -req -in "$out/fhir-server.csr" -CA "$out/hospital-ca.pem" -CAkey "$out/hospital-ca.key" \
  -CAcreateserial -days 30 -out "$out/fhir-server.pem" -extfile <(printf '%s\n' \
  "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
  "subjectAltName=DNS:localhost,IP:127.0.0.1") 2>/dev/null
rm -f "$out/fhir-server.csr" "$out/hospital-ca.srl"
chmod 644 "$out/hospital-ca.pem" "$out/fhir-server.pem"
