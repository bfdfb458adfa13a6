#!/usr/bin/env bash
# Revokes certificates of a DEVELOPMENT healthtwin CA (made by make-dev-pki.sh) and (re)issues
# its certificate revocation list, PKIDIR/crl.pem.
#
#   revoke.sh --pki DIR --cert FILE [--reason R]   revoke FILE's certificate, then reissue crl.pem
#   revoke.sh --pki DIR --crl-only                  reissue crl.pem (e.g. before nextUpdate)
#
# The CA database (`openssl ca`'s index.txt, crlnumber and a private openssl.cnf) lives in
# PKIDIR/ca-db/ and is created on first use. make-dev-pki.sh signs with `openssl x509 -req`,
# so its certificates are not in index.txt; `openssl ca -revoke` adds them as it revokes them.
# Services read crl.pem at start and again on SIGHUP (services/common/tls/revocation.h).
set -euo pipefail

readonly PROG="${0##*/}"
# A CRL is valid for this long (its nextUpdate); services refuse to start with an expired
# one, so reissue (--crl-only) within this time. 30 days is the upper bound the CA/Browser
# Forum Baseline Requirements (section 4.9.7) allow for a subscriber-certificate CRL.
readonly DEFAULT_CRL_DAYS=30

usage() {
  cat <<EOF
usage: ${PROG} --pki DIR (--cert FILE [--reason REASON] | --crl-only) [--crl-days N]

Revokes FILE's certificate in DIR's CA database and writes a fresh DIR/crl.pem, signed by
DIR/ca.key, valid for N days (default ${DEFAULT_CRL_DAYS}).

  --pki DIR         directory made by make-dev-pki.sh (holds ca.pem and ca.key)
  --cert FILE       PEM certificate to revoke (issued by DIR/ca.pem)
  --reason REASON   unspecified (default), keyCompromise, affiliationChanged, superseded,
                    cessationOfOperation
  --crl-only        revoke nothing; only reissue DIR/crl.pem
  --crl-days N      validity of the CRL in days (default ${DEFAULT_CRL_DAYS})
  --crl-window LAST NEXT
                    set lastUpdate and nextUpdate exactly (YYYYMMDDHHMMSSZ), for tests of
                    expired CRLs
  -h, --help        show this help
EOF
}

# Usage errors exit 2 and point at --help; other failures exit 1 (as make-dev-pki.sh does).
die_usage() { printf "%s: %s\nTry '%s --help'.\n" "${PROG}" "$*" "${PROG}" >&2 && exit 2; }
die() { echo "${PROG}: error: $*" >&2 && exit 1; }

pki="" cert="" reason="unspecified" crl_only=0 crl_days="${DEFAULT_CRL_DAYS}" last_update="" next_update=""
while (($# > 0)); do
  case "$1" in
    --pki) (($# >= 2)) || die_usage "--pki needs a directory"; pki="$2"; shift ;;
    --cert) (($# >= 2)) || die_usage "--cert needs a file"; cert="$2"; shift ;;
    --reason) (($# >= 2)) || die_usage "--reason needs a value"; reason="$2"; shift ;;
    --crl-only) crl_only=1 ;;
    --crl-days) (($# >= 2)) || die_usage "--crl-days needs a number"; crl_days="$2"; shift ;;
    --crl-window)
      (($# >= 3)) || die_usage "--crl-window needs LAST and NEXT"
      last_update="$2" next_update="$3"
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die_usage "unknown argument '$1'" ;;
  esac
  shift
done
[[ -n "${pki}" ]] || die_usage "missing --pki DIR"
if ((crl_only)); then
  [[ -z "${cert}" ]] || die_usage "--cert and --crl-only exclude each other"
else
  [[ -n "${cert}" ]] || die_usage "give --cert FILE to revoke, or --crl-only"
fi
[[ "${crl_days}" =~ ^[1-9][0-9]*$ ]] || die_usage "--crl-days must be a positive whole number, got '${crl_days}'"
case "${reason}" in
  unspecified | keyCompromise | affiliationChanged | superseded | cessationOfOperation) ;;
  *) die_usage "--reason '${reason}' is not one of unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation" ;;
esac

command -v openssl >/dev/null 2>&1 || die "the 'openssl' command was not found in PATH"
ca_pem="${pki}/ca.pem"
ca_key="${pki}/ca.key"
[[ -s "${ca_pem}" ]] || die "'${ca_pem}' is missing; run make-dev-pki.sh '${pki}' first"
[[ -s "${ca_key}" ]] || die "'${ca_key}' is missing; only the CA can revoke"

db="${pki}/ca-db"
mkdir -p "${db}"
[[ -e "${db}/index.txt" ]] || : >"${db}/index.txt"
[[ -s "${db}/crlnumber" ]] || echo 01 >"${db}/crlnumber"
# Absolute paths: openssl ca resolves the config's paths against the current directory.
db_abs="$(cd "${db}" && pwd)"
cat >"${db}/openssl.cnf" <<EOF
[ca]
default_ca = healthtwin_dev_ca
[healthtwin_dev_ca]
database = ${db_abs}/index.txt
crlnumber = ${db_abs}/crlnumber
new_certs_dir = ${db_abs}
certificate = $(cd "${pki}" && pwd)/ca.pem
private_key = $(cd "${pki}" && pwd)/ca.key
default_md = sha256
default_crl_days = ${DEFAULT_CRL_DAYS}
unique_subject = no
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
EOF

err="$(mktemp "${TMPDIR:-/tmp}/revoke.XXXXXX")"
trap 'rm -f "${err}" "${pki}/crl.pem.tmp"' EXIT

if ((!crl_only)); then
  [[ -s "${cert}" ]] || die "certificate file '${cert}' is missing or empty"
  openssl verify -CAfile "${ca_pem}" "${cert}" >/dev/null 2>"${err}" ||
    die "'${cert}' is not a valid certificate issued by '${ca_pem}': $(cat "${err}")"
  serial="$(openssl x509 -in "${cert}" -noout -serial)"
  serial="${serial#serial=}"
  if awk -F'\t' -v s="${serial}" '$1 == "R" && toupper($4) == toupper(s) { found = 1 } END { exit !found }' \
    "${db}/index.txt"; then
    echo "${PROG}: serial ${serial} is already revoked; reissuing the CRL only"
  else
    openssl ca -config "${db}/openssl.cnf" -revoke "${cert}" -crl_reason "${reason}" 2>"${err}" ||
      die "revoking '${cert}' failed: $(cat "${err}")"
    echo "${PROG}: revoked '$(openssl x509 -in "${cert}" -noout -subject -nameopt compat)' serial ${serial} (${reason})"
  fi
fi

window=(-crldays "${crl_days}")
if [[ -n "${next_update}" ]]; then window=(-crl_lastupdate "${last_update}" -crl_nextupdate "${next_update}"); fi
openssl ca -config "${db}/openssl.cnf" -gencrl "${window[@]}" -out "${pki}/crl.pem.tmp" 2>"${err}" ||
  die "issuing the CRL failed: $(cat "${err}")"
# Rename, so a service reloading at this moment reads the old CRL or the new one, never half.
mv -f "${pki}/crl.pem.tmp" "${pki}/crl.pem"
revoked="$(grep -c '^R' "${db}/index.txt" || true)"
echo "${PROG}: wrote '${pki}/crl.pem' (${revoked} revoked; $(openssl crl -in "${pki}/crl.pem" -noout -nextupdate))"
echo "${PROG}: send SIGHUP to running services so they load it"
