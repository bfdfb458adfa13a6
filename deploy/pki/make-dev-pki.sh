#!/usr/bin/env bash
# Creates a DEVELOPMENT-ONLY certificate authority and the certificates that
# the healthtwin services, bridges and people use for mutual TLS.
#
#   make-dev-pki.sh OUTDIR            healthtwin dev CA + every identity, the
#                                     data-at-rest keyring (OUTDIR/keyring/, which also holds
#                                     the audit checkpoint signing key audit-signing.key) and
#                                     that key's public half OUTDIR/audit-signing.pub
#   make-dev-pki.sh OUTDIR --foreign  an unrelated CA + "intruder" and
#                                     "foreign-server", for refusal tests
#
# The OU of each subject carries the role (service, bridge, clinician, nurse, admin, researcher);
# see README.md beside this script. Running it again over a complete OUTDIR
# changes nothing; over a partial one it issues only the missing certificates,
# and it reissues server certificates whose SAN is not the current one (older
# versions of this script gave every service DNS:localhost, which let one
# service pose as another).
set -euo pipefail

readonly PROG="${0##*/}"
readonly LEAF_DAYS=825
readonly CA_DAYS=3650

readonly SERVICES=(ingest twin alerts simulation clinician_api feeds)
readonly BRIDGES=(bridge-001 bridge-002)
readonly CLINICIANS=(dr-alice dr-bob)
readonly NURSES=(nurse-nora nurse-ned)
readonly ADMINS=(cli-admin)
readonly RESEARCHERS=(researcher-rita researcher-sam)

readonly HT_CA_SUBJECT="/O=healthtwin/OU=dev-ca/CN=healthtwin development CA"
readonly FOREIGN_CA_SUBJECT="/O=not-healthtwin/OU=dev-ca/CN=foreign development CA"

usage() {
  cat <<EOF
usage: ${PROG} OUTDIR [--foreign]

Creates a development CA (OUTDIR/ca.pem, OUTDIR/ca.key) and, for each identity,
OUTDIR/<name>.pem and OUTDIR/<name>.key (EC P-256, keys mode 0600).

  --foreign   create an unrelated CA with the client cert 'intruder' and the
              server cert 'foreign-server' instead (for refusal tests)
  -h, --help  show this help
EOF
}

die_usage() {
  echo "${PROG}: $*" >&2
  echo "Try '${PROG} --help'." >&2
  exit 2
}

die() {
  echo "${PROG}: error: $*" >&2
  exit 1
}

outdir=""
foreign=0
while (($# > 0)); do
  case "$1" in
    --foreign) foreign=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    --) shift; break ;;
    -*) die_usage "unknown option '$1'" ;;
    *)
      [[ -z "${outdir}" ]] || die_usage "more than one OUTDIR given ('${outdir}' and '$1')"
      outdir="$1"
      ;;
  esac
  shift
done
if (($# > 0)); then
  [[ -z "${outdir}" && $# -eq 1 ]] || die_usage "more than one OUTDIR given"
  outdir="$1"
fi
[[ -n "${outdir}" ]] || die_usage "missing OUTDIR"

command -v openssl >/dev/null 2>&1 || die "the 'openssl' command was not found in PATH"

# The SAN of a server certificate: its own service name and nothing shared, so
# that a client expecting one service (the TLS target name it checks) cannot be
# answered by another. The foreign server claims every one of our names, so a
# test that sees it refused knows the CA check did it, not the name check.
server_san() {
  if [[ "$1" == "foreign-server" ]]; then
    local san="DNS:foreign-server" n
    for n in "${SERVICES[@]}"; do san+=", DNS:${n}"; done
    echo "${san}"
  else
    echo "DNS:$1"
  fi
}

# The SAN of an existing certificate, in `server_san`'s spelling; empty if none.
existing_san() {
  openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null | sed -n '2{s/^ *//;p}'
}

# Each entry: name|OU|kind, where kind is 'server+client' or 'client'.
identities=()
if ((foreign)); then
  ca_subject="${FOREIGN_CA_SUBJECT}"
  identities+=("intruder|clinician|client" "foreign-server|service|server+client")
else
  ca_subject="${HT_CA_SUBJECT}"
  for n in "${SERVICES[@]}"; do identities+=("${n}|service|server+client"); done
  for n in "${BRIDGES[@]}"; do identities+=("${n}|bridge|client"); done
  for n in "${CLINICIANS[@]}"; do identities+=("${n}|clinician|client"); done
  for n in "${NURSES[@]}"; do identities+=("${n}|nurse|client"); done
  for n in "${ADMINS[@]}"; do identities+=("${n}|admin|client"); done
  for n in "${RESEARCHERS[@]}"; do identities+=("${n}|researcher|client"); done
fi

if [[ -e "${outdir}" && ! -d "${outdir}" ]]; then
  die "'${outdir}' exists and is not a directory"
fi
mkdir -p "${outdir}" || die "cannot create directory '${outdir}'"

# The keyring of identifying data at rest (services/common/crypto/README.md): KEK version 1,
# marked active, the MRN blind-index key and the research pseudonym key; 256-bit keys as 64 hex
# digits, mode 0600, in a directory mode 0700. Existing keys are never replaced (they would orphan encrypted data).
if ((!foreign)); then
  keyring="${outdir}/keyring"
  (umask 077 && mkdir -p "${keyring}") || die "cannot create the keyring directory '${keyring}'"
  chmod 0700 "${keyring}"
  for key in kek-1.key blind-index.key pseudonym.key; do
    if [[ ! -s "${keyring}/${key}" ]]; then
      (umask 077 && openssl rand -hex 32 >"${keyring}/${key}.tmp") ||
        die "generating the keyring key '${keyring}/${key}' failed"
      chmod 0600 "${keyring}/${key}.tmp"
      mv -f "${keyring}/${key}.tmp" "${keyring}/${key}"
      echo "${PROG}: created the keyring key '${keyring}/${key}'"
    fi
  done
  if [[ ! -s "${keyring}/active-kek" ]]; then
    (umask 077 && echo 1 >"${keyring}/active-kek") || die "cannot write '${keyring}/active-kek'"
  fi
fi

# The Ed25519 key that signs audit checkpoints (services/common/audit), in the keyring as
# audit-signing.key (PEM, mode 0600); its public half OUTDIR/audit-signing.pub is what an auditor
# verifies with. A key left at OUTDIR/audit-signing.key by an older version of this script is
# moved into the keyring, so checkpoints it signed still verify.
if ((!foreign)); then
  audit_key="${keyring}/audit-signing.key"
  if [[ ! -s "${audit_key}" && -s "${outdir}/audit-signing.key" ]]; then
    mv -f "${outdir}/audit-signing.key" "${audit_key}" && chmod 0600 "${audit_key}" ||
      die "cannot move '${outdir}/audit-signing.key' into the keyring"
    echo "${PROG}: moved the audit checkpoint signing key into the keyring: '${audit_key}'"
  fi
  if [[ ! -s "${audit_key}" ]]; then
    (umask 077 && openssl genpkey -algorithm ed25519 -out "${audit_key}.tmp" 2>/dev/null) ||
      die "generating the audit signing key failed"
    chmod 0600 "${audit_key}.tmp"
    mv -f "${audit_key}.tmp" "${audit_key}"
    echo "${PROG}: created the audit checkpoint signing key '${audit_key}'"
  fi
  audit_pub="$(openssl pkey -in "${audit_key}" -pubout 2>/dev/null)" ||
    die "'${audit_key}' is not a readable private key"
  if [[ "$(cat "${outdir}/audit-signing.pub" 2>/dev/null)" != "${audit_pub}" ]]; then
    printf '%s\n' "${audit_pub}" >"${outdir}/audit-signing.pub" || die "cannot write '${outdir}/audit-signing.pub'"
  fi
fi

# The bearer-token issuer (docs/security.md, "Bearer tokens"): an EC P-256 key pair for ES256.
# `healthtwin admin issue-token` signs with token-issuer.key; clinician_api verifies with
# token-issuer.pub (--token-public-key). An existing key is kept (it would void issued tokens).
if ((!foreign)); then
  token_key="${outdir}/token-issuer.key"
  if [[ ! -s "${token_key}" ]]; then
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "${token_key}.tmp" \
      2>/dev/null) || die "generating the token issuer key failed"
    mv -f "${token_key}.tmp" "${token_key}"
    echo "${PROG}: created the bearer-token issuer key '${token_key}'"
  fi
  if [[ ! -s "${outdir}/token-issuer.pub" ]]; then
    openssl pkey -in "${token_key}" -pubout -out "${outdir}/token-issuer.pub" 2>/dev/null ||
      die "'${token_key}' is not a readable private key"
  fi
fi

# --- Revocation (issue 13): every CA gets a CRL, so services always have one to load. -------
# revoke.sh keeps the CA database (PKIDIR/ca-db) and writes crl.pem; an existing crl.pem is
# left alone (it may list revocations).
ensure_crl() {
  [[ -s "${outdir}/crl.pem" ]] && return 0
  "$(dirname "${BASH_SOURCE[0]}")/revoke.sh" --pki "${outdir}" --crl-only >/dev/null ||
    die "issuing the initial CRL '${outdir}/crl.pem' failed"
  echo "${PROG}: issued the initial (empty) CRL '${outdir}/crl.pem'"
}
# --- end revocation -------------------------------------------------------------------------

ca_pem="${outdir}/ca.pem"
ca_key="${outdir}/ca.key"

# A PKCS#12 bundle per person (OUTDIR/<name>.p12: key, certificate and the CA), to import into a
# browser for the clinician dashboard. DEVELOPMENT ONLY password convention: every bundle's
# password is "healthtwin-dev" (PKCS12_PASSWORD). Rewritten when missing or older than its .pem.
readonly PKCS12_PASSWORD="healthtwin-dev"
write_pkcs12_bundles() {
  local entry name ou
  for entry in "${identities[@]}"; do
    IFS='|' read -r name ou _ <<<"${entry}"
    case "${ou}" in clinician | nurse | admin | researcher) ;; *) continue ;; esac
    local p12="${outdir}/${name}.p12"
    [[ -s "${p12}" && ! "${outdir}/${name}.pem" -nt "${p12}" ]] && continue
    (umask 077 && openssl pkcs12 -export -in "${outdir}/${name}.pem" -inkey "${outdir}/${name}.key" \
      -certfile "${ca_pem}" -name "${name}" -passout "pass:${PKCS12_PASSWORD}" -out "${p12}.tmp" 2>/dev/null) ||
      die "writing the PKCS#12 bundle '${p12}' failed"
    mv -f "${p12}.tmp" "${p12}"
    echo "${PROG}: wrote '${p12}' (password '${PKCS12_PASSWORD}', development only)"
  done
}

missing=()
for entry in "${identities[@]}"; do
  name="${entry%%|*}"
  if [[ ! -s "${outdir}/${name}.pem" || ! -s "${outdir}/${name}.key" ]]; then
    missing+=("${entry}")
  elif [[ "${entry##*|}" == "server+client" &&
    "$(existing_san "${outdir}/${name}.pem")" != "$(server_san "${name}")" ]]; then
    echo "${PROG}: '${outdir}/${name}.pem' has an outdated SAN; reissuing it"
    missing+=("${entry}")
  fi
done

if [[ -s "${ca_pem}" ]]; then
  # Refuse to mix the two kinds of CA: a "foreign" CA that is really ours (or
  # the reverse) would make the refusal tests pass for the wrong reason.
  existing_subject="$(openssl x509 -in "${ca_pem}" -noout -subject -nameopt compat 2>/dev/null)" ||
    die "'${ca_pem}' exists but is not a readable PEM certificate"
  existing_subject="${existing_subject#subject=}"
  if [[ "${existing_subject}" != "${ca_subject}" ]]; then
    die "'${ca_pem}' has subject '${existing_subject}', expected '${ca_subject}';" \
      "use a separate OUTDIR for the $( ((foreign)) && echo foreign || echo healthtwin) PKI"
  fi
  if ((${#missing[@]} == 0)); then
    ensure_crl
    write_pkcs12_bundles
    echo "${PROG}: '${outdir}' already holds the CA and all ${#identities[@]} certificates; nothing to do."
    exit 0
  fi
  [[ -s "${ca_key}" ]] ||
    die "'${ca_pem}' exists but '${ca_key}' does not, so the ${#missing[@]} missing certificate(s) cannot be issued"
fi

workdir="$(mktemp -d "${TMPDIR:-/tmp}/make-dev-pki.XXXXXX")"
trap 'rm -rf "${workdir}"' EXIT

# A private config keeps the result independent of the system openssl.cnf.
cat >"${workdir}/openssl.cnf" <<'EOF'
[req]
distinguished_name = req_dn
prompt = no
[req_dn]
CN = unused
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF

# new_key PATH: EC P-256 private key, readable by the owner only.
new_key() {
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -pkeyopt ec_param_enc:named_curve -out "$1" 2>"${workdir}/err") ||
    die "generating key '$1' failed: $(cat "${workdir}/err")"
  chmod 0600 "$1"
}

random_serial() {
  echo "0x$(openssl rand -hex 16)"
}

if [[ ! -s "${ca_pem}" ]]; then
  # A new CA invalidates whatever leaves are lying around: reissue them all.
  missing=("${identities[@]}")
  echo "${PROG}: creating CA '${ca_subject}' in '${outdir}'"
  new_key "${workdir}/ca.key"
  openssl req -config "${workdir}/openssl.cnf" -new -x509 -sha256 -days "${CA_DAYS}" \
    -key "${workdir}/ca.key" -subj "${ca_subject}" -extensions v3_ca \
    -set_serial "$(random_serial)" -out "${workdir}/ca.pem" 2>"${workdir}/err" ||
    die "creating the CA certificate failed: $(cat "${workdir}/err")"
  # Key first, so that a ca.pem never exists without its key.
  mv -f "${workdir}/ca.key" "${ca_key}"
  mv -f "${workdir}/ca.pem" "${ca_pem}"
fi

for entry in "${missing[@]}"; do
  IFS='|' read -r name ou kind <<<"${entry}"
  # Foreign leaves copy our naming on purpose: refusal must come from the CA
  # check, never from a name that merely looks wrong.
  subject="/O=healthtwin/OU=${ou}/CN=${name}"
  ext="${workdir}/${name}.ext"
  {
    echo "basicConstraints = critical, CA:FALSE"
    echo "keyUsage = critical, digitalSignature"
    echo "subjectKeyIdentifier = hash"
    echo "authorityKeyIdentifier = keyid:always"
    if [[ "${kind}" == "server+client" ]]; then
      echo "extendedKeyUsage = serverAuth, clientAuth"
      echo "subjectAltName = $(server_san "${name}")"
    else
      echo "extendedKeyUsage = clientAuth"
    fi
  } >"${ext}"

  echo "${PROG}: issuing '${subject}'"
  new_key "${workdir}/${name}.key"
  openssl req -config "${workdir}/openssl.cnf" -new -sha256 -key "${workdir}/${name}.key" \
    -subj "${subject}" -out "${workdir}/${name}.csr" 2>"${workdir}/err" ||
    die "creating the request for '${name}' failed: $(cat "${workdir}/err")"
  openssl x509 -req -sha256 -days "${LEAF_DAYS}" -in "${workdir}/${name}.csr" \
    -CA "${ca_pem}" -CAkey "${ca_key}" -set_serial "$(random_serial)" \
    -extfile "${ext}" -out "${workdir}/${name}.pem" 2>"${workdir}/err" ||
    die "signing the certificate for '${name}' failed: $(cat "${workdir}/err")"
  mv -f "${workdir}/${name}.key" "${outdir}/${name}.key"
  mv -f "${workdir}/${name}.pem" "${outdir}/${name}.pem"
done

ensure_crl
write_pkcs12_bundles
echo "${PROG}: done; ${#missing[@]} certificate(s) issued in '${outdir}'."
