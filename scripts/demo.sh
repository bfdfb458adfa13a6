#!/usr/bin/env bash
# Runs the whole healthtwin slice on this machine with simulated patients:
# a private PostgreSQL (schema by healthtwin-migrate, one database role per service), the ingest,
# alerts, twin, simulation and clinician_api services over mutual TLS,
# simulated BLE wearables (heart-rate strap, blood-pressure cuff, pulse oximeter, scale and
# thermometer per patient, with battery, Device Information and clocks, on a mock
# BlueZ: private dbus-daemon + python3-dbusmock) and the real BLE bridge (`healthtwin-bridge run`)
# forwarding them. Shows, on dr-alice's and dr-bob's alert streams and through the CLI, the alarm
# lifecycle (issue 11):
#   1. a HIGH physiological alert: hr_high on pat-0002 (tachycardic, about 140 /min);
#   2. a NEWS2 alert with a partial score (pat-0002's pulse scores 3; respiration rate and
#      consciousness are never measured by these wearables, so they are listed as missing);
#   3. a technical alert: pat-0001's pulse oximeter runs its battery down (healthtwin-wearables
#      --drain-battery: 2 %/s, really notified on GATT Battery Level 2A19 and forwarded by the
#      bridge as device status), so battery_low (15 %) fires; at 0 % the oximeter goes silent;
#   4. an escalation: nobody acknowledges the HIGH alert, so after 30 s it goes from tier 1
#      (dr-alice) to tier 2 (dr-bob), and dr-bob's stream shows ESCALATED;
#   5. dr-alice acknowledges it (healthtwin alerts ack) and `healthtwin alerts show` prints its
#      event log (raised, escalated, acknowledged ...).
# The hospital (issue 12): healthtwin-feeds delivers the alerts to a demo hospital endpoint
# (scripts/demo_hl7_endpoint.py, an HL7 v2 MLLP listener on python3-hl7) through a feed the admin
# registers with `healthtwin admin feed add`; after scene 1 the demo shows the ORU^R40 (IHE PCD-04)
# the hospital received for the HIGH alert, and at the end the feed's status and how to add
# your own feed. A second feed, kind fhir-rest-hook, delivers the same alerts as FHIR R4
# subscription-notification Bundles to scripts/demo_fhir_endpoint.py (HTTPS, mutual TLS, a
# server certificate for localhost from the demo hospital CA of scripts/demo_hospital_pki.sh);
# after scene 1 the demo shows the Bundle with the HIGH alert's CommunicationRequest.
# History (issue 14): each cuff and scale holds 30 days of stored readings
# (ble_bridge/simulated/history.h), bound with --readings-since 31d as the patient's own devices;
# the bridge fetches them through RACP, and the demo stops with the reason unless every twin is
# calibrated within 60 s of the bridge's start.
# Then the stored vitals, pat-0002's twin, a what-if, the security scenes of issue 13 (synthetic
# identifiers shown only to the care team; dr-bob refused pat-0001, then a break-glass grant the
# admin reviews; a bearer token narrowed to reading vitals, refused the alerts), a small virtual
# trial, and `healthtwin audit verify` over the whole audit trail.
#
# Heart-rate notifications carry no time stamp, so the bridge stamps them on receipt and they
# cannot be backfilled; but the cuff's and the oximeter's stored readings (time-stamped 2 min
# before the bridge subscribes) carry pat-0002's pulse rate, which the heart-rate rules count,
# so the tachycardia alert (hr_high: above 120 /min for 60 s) comes within seconds of the
# bridge connecting. The demo runs the shipped rule catalogue with hr_high's delay cut from
# 10 min to 60 s (and its clearing from 5 min to 30 s) and NEWS2's from 10 min to 60 s
# (scored every 60 s instead of 5 min), written to $WORK/alert_rules.toml, and the alerts
# service with --escalate-high-s 30 (default 2 min); production runs
# deploy/config/alert_rules.toml and the default escalation delays unchanged.
# (ble_bridge/healthtwin-synth, the former synthetic source, is still built.)
#
#   scripts/demo.sh [--build-dir DIR] [--headless]
#
# Each scene waits (with a time limit) for its line on a stream or in the CLI's output and ends
# the demo with a one-line reason when it does not come. --headless (used by the end-to-end
# test) also checks that the vitals are in PostgreSQL, the twin, the what-if and the trial,
# then stops everything and exits 0, or non-zero with the reason.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build/dev"
HEADLESS=0
while (($#)); do
  case "$1" in
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --headless) HEADLESS=1; shift ;;
    *) echo "demo: unknown argument '$1' (use --build-dir DIR or --headless)" >&2; exit 2 ;;
  esac
done

WORK=$(mktemp -d /tmp/healthtwin-demo.XXXXXX)
chmod 755 "$WORK"
# Every background process, in start order, with a name for the report.
PIDS=()
NAMES=()
# `healthtwin alerts watch` of each clinician, recorded to files (stopped first, status ignored).
WATCHERS=()
say() { printf '\033[1m[demo]\033[0m %s\n' "$*"; }

# Starts "$@" in the background as process NAME. setsid: a new session, so Ctrl-C in the terminal
# reaches only this script and the foreground command; cleanup() then stops every process once,
# in order, and each can drain properly.
start_bg() {  # name command [args...]
  local name=$1
  shift
  setsid "$@" &
  PIDS+=($!)
  NAMES+=("$name")
}

# Stops one process with SIGTERM and waits for it; records "<name>: exit N" (or "killed by
# ABRT" and the like) in STOPPED, and the name in BAD unless it exited 0.
stop_one() {  # index
  local pid=${PIDS[$1]} name=${NAMES[$1]} st=0
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || st=$?
  if ((st == 0)); then
    STOPPED+=("$name: exit 0")
  elif ((st > 128)); then
    STOPPED+=("$name: killed by $(kill -l $((st - 128)) 2>/dev/null || echo "signal $((st - 128))")")
    BAD+=("$name")
  else
    STOPPED+=("$name: exit $st")
    BAD+=("$name")
  fi
}

cleanup() {
  local code=$?
  trap - EXIT INT TERM
  # The clinicians' alert streams first: they only read, and would report the services going.
  local w
  for w in "${WATCHERS[@]}"; do kill -TERM "$w" 2>/dev/null || true; done
  for w in "${WATCHERS[@]}"; do wait "$w" 2>/dev/null || true; done
  say "stopping: ${#PIDS[@]} processes, then PostgreSQL"
  STOPPED=()
  BAD=()
  # Newest first: the bridge drains into ingest and leaves the mock bus before they go; then the
  # wearables; then the services, all at once (they drain in parallel), ingest last of all.
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    case ${NAMES[$i]} in bridge | wearables) stop_one "$i" ;; esac
  done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    case ${NAMES[$i]} in bridge | wearables | ingest) ;; *) kill -TERM "${PIDS[$i]}" 2>/dev/null || true ;; esac
  done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    case ${NAMES[$i]} in bridge | wearables | ingest) ;; *) stop_one "$i" ;; esac
  done
  for ((i = 0; i < ${#PIDS[@]}; i++)); do
    [[ ${NAMES[$i]} == ingest ]] && stop_one "$i"
  done
  "$BUILD/tests/harness/healthtwin-pg-harness" stop --dir "$WORK/pg" --remove >/dev/null 2>&1 || true
  if ((${#STOPPED[@]})); then
    local joined
    joined=$(printf '%s, ' "${STOPPED[@]}")
    say "exit status: ${joined%, }"
  fi
  if ((${#BAD[@]})); then
    say "not stopped cleanly: ${BAD[*]}"
    ((code == 0 || code == 130)) && code=1
  fi
  if ((code != 0 && code != 130)); then
    say "failed (exit $code); logs kept in $WORK"
    for f in "$WORK"/*.log; do echo "----- $f (last lines)"; tail -n 15 "$f"; done
  else
    rm -rf "$WORK"
  fi
  say "stopped"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for bin in services/ingest/healthtwin-ingest services/alerts/healthtwin-alerts services/twin/healthtwin-twin \
           services/simulation/healthtwin-simulation services/feeds/healthtwin-feeds \
           clinician_api/healthtwin-clinician-api clinician_api/cli/healthtwin ble_bridge/cli/healthtwin-bridge \
           ble_bridge/simulated/healthtwin-wearables \
           services/common/db/healthtwin-migrate tests/harness/healthtwin-pg-harness; do
  [[ -x "$BUILD/$bin" ]] || { echo "demo: $BUILD/$bin is missing; run 'make build' first" >&2; exit 2; }
done

say "work directory $WORK"
bash "$ROOT/deploy/pki/make-dev-pki.sh" "$WORK/pki" >"$WORK/pki.log" 2>&1
say "development PKI in $WORK/pki (CA, services, bridge-001, dr-alice, dr-bob, cli-admin, researcher-rita, researcher-sam)"

"$BUILD/tests/harness/healthtwin-pg-harness" start --dir "$WORK/pg" >"$WORK/pg.conninfo"
"$BUILD/tests/harness/healthtwin-pg-harness" createdb --dir "$WORK/pg" healthtwin >/dev/null
# The superuser connection is only for creating the roles and for the checks at the end; the
# schema is migrated as healthtwin_migrator and each service connects as its own role
# (docs/database-roles.md). libpq takes the last user= of a conninfo.
DB="host=$WORK/pg port=5432 dbname=healthtwin user=postgres"
"$BUILD/services/common/db/healthtwin-migrate" --db "$DB" --bootstrap-roles >"$WORK/migrate.log"
"$BUILD/services/common/db/healthtwin-migrate" --db "$DB user=healthtwin_migrator" >>"$WORK/migrate.log"
say "PostgreSQL on Unix socket $WORK/pg (no TCP port): $(tail -n 1 "$WORK/migrate.log") as healthtwin_migrator"

# Starts a service and sets ADDR to its address. Not called in $(...): the process must be a
# child of this shell, so that cleanup() can wait for it and see its exit status.
start_service() {  # name binary [extra flags...]; connects as the role healthtwin_<name>
  local name=$1 bin=$2
  shift 2
  start_bg "$name" "$BUILD/$bin" --tls-ca "$WORK/pki/ca.pem" --tls-cert "$WORK/pki/$name.pem" \
    --tls-key "$WORK/pki/$name.key" --tls-crl "$WORK/pki/crl.pem" --db "$DB user=healthtwin_$name" --listen 127.0.0.1:0 \
    --port-file "$WORK/$name.port" --log-format text "$@" >"$WORK/$name.log" 2>&1
  for _ in $(seq 100); do [[ -s "$WORK/$name.port" ]] && break; sleep 0.1; done
  [[ -s "$WORK/$name.port" ]] || { echo "demo: $name did not start; see $WORK/$name.log" >&2; exit 1; }
  ADDR="localhost:$(cat "$WORK/$name.port")"
}

# The registry (in ingest) encrypts identifying data under the dev PKI's keyring. Every service
# that audits signs checkpoints of the audit chain with the keyring's audit-signing.key, in the
# demo every 20 records (default 1000) or 10 minutes. Each gets the fewest keys it needs
# (docs/security.md, "Who holds which key"): ingest the whole keyring, clinician_api a keyring
# of pseudonym.key and audit-signing.key, the others one of audit-signing.key alone.
narrow_keyring() {  # narrow_keyring DIR FILE...: a 0700 directory of 0600 copies of those keyring files
  local dir=$1 file
  shift
  (umask 077 && mkdir -p "$dir" && for file in "$@"; do cp "$WORK/pki/keyring/$file" "$dir/"; done) ||
    { echo "demo: cannot make the keyring $dir" >&2; exit 1; }
}
narrow_keyring "$WORK/keyring-clinician" pseudonym.key audit-signing.key
narrow_keyring "$WORK/keyring-signing" audit-signing.key
INGEST_SIGNING=(--keyring "$WORK/pki/keyring" --audit-checkpoint-every-records 20)
CLINICIAN_SIGNING=(--keyring "$WORK/keyring-clinician" --audit-checkpoint-every-records 20)
SIGNING=(--keyring "$WORK/keyring-signing" --audit-checkpoint-every-records 20)
start_service ingest services/ingest/healthtwin-ingest "${INGEST_SIGNING[@]}"
INGEST=$ADDR
# The shipped catalogue, hr_high and NEWS2 shortened for the demo (see the top of this file).
sed -e 's/^min_duration_s = 600           # \[Bonafide\]/min_duration_s = 60  # demo: [Bonafide]/' \
  -e '0,/^clear_duration_s = 300         # \.\.\. held 5 min/s//clear_duration_s = 30  # demo/' \
  -e '/^\[rules\.news2\]/,/^\[/{s/^step_s = 300$/step_s = 60  # demo/;s/^min_duration_s = 600$/min_duration_s = 60  # demo/}' \
  "$ROOT/deploy/config/alert_rules.toml" >"$WORK/alert_rules.toml"
grep -q '^min_duration_s = 60  # demo: \[Bonafide\]' "$WORK/alert_rules.toml" &&
  grep -q '^clear_duration_s = 30  # demo' "$WORK/alert_rules.toml" ||
  { echo "demo: cannot shorten hr_high in deploy/config/alert_rules.toml" >&2; exit 1; }
grep -q '^step_s = 60  # demo' "$WORK/alert_rules.toml" && grep -q '^min_duration_s = 60  # demo$' "$WORK/alert_rules.toml" ||
  { echo "demo: cannot shorten news2 in deploy/config/alert_rules.toml" >&2; exit 1; }
# HIGH alerts escalate after 30 s instead of 2 min, so that the escalation scene is short.
start_service alerts services/alerts/healthtwin-alerts --alert-rules "$WORK/alert_rules.toml" --escalate-high-s 30 "${SIGNING[@]}"
ALERTS=$ADDR
# The twin service follows the vitals table; in the demo it writes a sequential snapshot at most
# every 10 s per twin (production default: 600 s) so `twin show` reflects the last seconds.
start_service twin services/twin/healthtwin-twin --persist-every-s 10 "${SIGNING[@]}"
TWIN=$ADDR
start_service simulation services/simulation/healthtwin-simulation "${SIGNING[@]}"
SIM=$ADDR
# Bearer tokens (issue 13): optional on top of the client certificates; a token narrows a call
# to its SMART v2 scopes. The dev PKI holds the issuer's key pair.
TOKEN_ISSUER=https://healthtwin.demo/token-issuer
start_service clinician_api clinician_api/healthtwin-clinician-api \
  --ingest-addr "$INGEST" --alerts-addr "$ALERTS" --twin-addr "$TWIN" --simulation-addr "$SIM" --https-port 0 --dashboard-port 0 \
  --token-public-key "$WORK/pki/token-issuer.pub" --token-issuer "$TOKEN_ISSUER" --token-audience clinician_api \
  "${CLINICIAN_SIGNING[@]}"
API=$ADDR
# The FHIR R4 read API and the clinician dashboard on clinician_api's HTTPS ports (mutual TLS;
# both written before the gRPC port file).
FHIR_PORT=$(cat "$WORK/clinician_api.port.https")
DASHBOARD_PORT=$(cat "$WORK/clinician_api.port.dashboard")
# The demo hospital: an HL7 v2 MLLP endpoint that prints what it receives (python3-hl7, run with
# the system python as the tests' peer is), and the feed service that delivers to it.
start_bg hospital /usr/bin/python3 "$ROOT/scripts/demo_hl7_endpoint.py" --port-file "$WORK/hospital.port" \
  --record "$WORK/hospital.jsonl" >"$WORK/hospital.log" 2>&1
for _ in $(seq 100); do [[ -s "$WORK/hospital.port" ]] && break; sleep 0.1; done
[[ -s "$WORK/hospital.port" ]] || { echo "demo: the demo hospital endpoint did not start; see $WORK/hospital.log" >&2; exit 1; }
HOSPITAL="127.0.0.1:$(cat "$WORK/hospital.port")"
# --- demo FHIR endpoint (issue 12 item 6) ---
# The demo hospital's FHIR R4 rest-hook receiver: HTTPS (python3 http.server + ssl) with a server
# certificate for localhost from the hospital's own CA (scripts/demo_hospital_pki.sh), mutual
# TLS: it requires a client certificate of healthtwin's dev CA and answers 200 only to `feeds`.
bash "$ROOT/scripts/demo_hospital_pki.sh" "$WORK/hospital-pki"
start_bg hospital-fhir /usr/bin/python3 "$ROOT/scripts/demo_fhir_endpoint.py" --cert "$WORK/hospital-pki/fhir-server.pem" \
  --key "$WORK/hospital-pki/fhir-server.key" --client-ca "$WORK/pki/ca.pem" --client-cn feeds \
  --port-file "$WORK/hospital-fhir.port" --record "$WORK/hospital-fhir.jsonl" >"$WORK/hospital-fhir.log" 2>&1
for _ in $(seq 100); do [[ -s "$WORK/hospital-fhir.port" ]] && break; sleep 0.1; done
[[ -s "$WORK/hospital-fhir.port" ]] ||
  { echo "demo: the demo hospital FHIR endpoint did not start; see $WORK/hospital-fhir.log" >&2; exit 1; }
HOSPITAL_FHIR="https://localhost:$(cat "$WORK/hospital-fhir.port")/fhir/r4"
# --- end demo FHIR endpoint ---
start_service feeds services/feeds/healthtwin-feeds --fhir-base-url "https://clinician_api:$FHIR_PORT/fhir/r4" \
  "${SIGNING[@]}"
FEEDS=$ADDR

HT=("$BUILD/clinician_api/cli/healthtwin" --pki "$WORK/pki" --api "$API" --registry "$INGEST" --simulation "$SIM")
ht() { "${HT[@]}" "$@"; }
for svc in "ingest $INGEST" "alerts $ALERTS" "twin $TWIN" "simulation $SIM" "clinician_api $API" "feeds $FEEDS"; do
  ht --as cli-admin health --service "${svc% *}" --addr "${svc#* }" --wait-s 30 >/dev/null
done
say "services SERVING over mutual TLS: ingest $INGEST, alerts $ALERTS, twin $TWIN, simulation $SIM, clinician_api $API, feeds $FEEDS"
say "FHIR R4 read API (HTTPS, client certificate required): curl --cacert $WORK/pki/ca.pem" \
  "--cert $WORK/pki/dr-alice.pem --key $WORK/pki/dr-alice.key --resolve clinician_api:$FHIR_PORT:127.0.0.1" \
  "https://clinician_api:$FHIR_PORT/fhir/r4/metadata"
say "clinician dashboard (HTTPS, client certificate required): https://clinician_api:$DASHBOARD_PORT/ as dr-alice:" \
  "import $WORK/pki/dr-alice.p12 (password healthtwin-dev, development only) and trust $WORK/pki/ca.pem in the browser;" \
  "the server's name is clinician_api, e.g. chromium --host-resolver-rules='MAP clinician_api 127.0.0.1'" \
  "https://clinician_api:$DASHBOARD_PORT/ (up while the demo runs)"
# Registered before any alert exists: a new feed starts at the current end of the alert log.
ht --as cli-admin admin feed add --name demo-hospital --kind hl7v2-mllp --target "$HOSPITAL" --content alerts \
  --receiving-app DEMO --receiving-facility WARD7 >"$WORK/feed-add.txt"
say "hospital feed registered (healthtwin --as cli-admin admin feed add --name demo-hospital --kind hl7v2-mllp --target $HOSPITAL --content alerts --receiving-app DEMO --receiving-facility WARD7): $(cat "$WORK/feed-add.txt")"
# --- demo FHIR feed (issue 12 item 6) ---
ht --as cli-admin admin feed add --name demo-hospital-fhir --kind fhir-rest-hook --target "$HOSPITAL_FHIR" \
  --tls-ca "$WORK/hospital-pki/hospital-ca.pem" --client-cert --content alerts >"$WORK/feed-add-fhir.txt"
say "FHIR feed registered (healthtwin --as cli-admin admin feed add --name demo-hospital-fhir --kind fhir-rest-hook --target $HOSPITAL_FHIR --tls-ca $WORK/hospital-pki/hospital-ca.pem --client-cert --content alerts): $(cat "$WORK/feed-add-fhir.txt")"
# --- end demo FHIR feed ---

# Simulated wearables on a mock BlueZ. Device ids are BLE addresses: patient n has the strap
# C0:FF:EE:00:<n in hex>:01, the cuff :02, oximeter :03, scale :04, thermometer :05 (ble_bridge/simulated/main.cc).
# pat-0001's oximeter runs its battery down (scene 3).
DRAINED=C0:FF:EE:00:01:03
start_bg wearables "$BUILD/ble_bridge/simulated/healthtwin-wearables" --patients 3 --drain-battery "$DRAINED" \
  --bus-address-file "$WORK/bluez.address" >"$WORK/wearables.devices" 2>"$WORK/wearables.log"
for _ in $(seq 100); do [[ -s "$WORK/bluez.address" ]] && break; sleep 0.1; done
[[ -s "$WORK/bluez.address" ]] || { echo "demo: the simulated wearables did not start; see $WORK/wearables.log" >&2; exit 1; }

# Synthetic identifiers (no real person), stored encrypted: the MRN is found by its blind index.
given=(Ada Ben Cleo) family=(Synthetic-One Synthetic-Two Synthetic-Three) born=(1950-03-14 1962-11-02 1978-07-21)
for i in 1 2 3; do
  p=$(printf 'pat-%04d' "$i")
  ht --as cli-admin admin create-patient --patient "$p" --given "${given[i - 1]}" --family "${family[i - 1]}" \
    --birth-date "${born[i - 1]}" --mrn "DEMO-$i" >/dev/null
  while read -r device patient kind; do
    [[ $patient == "$p" ]] || continue
    # Demo history: the cuff and the scale were the patient's before they were bound, so their
    # stored readings of the last 30 days are accepted (otherwise quarantined as measured before
    # the binding).
    since=()
    [[ $kind == blood_pressure_cuff || $kind == weight_scale ]] && since=(--readings-since 31d)
    ht --as cli-admin admin bind-device --device "$device" --kind "$kind" --patient "$p" --gateway bridge-001 \
      "${since[@]}" >/dev/null
  done <"$WORK/wearables.devices"
  ht --as cli-admin admin add-care-team --patient "$p" --member dr-alice --tier 1 >/dev/null
done
ht --as cli-admin admin add-care-team --patient pat-0002 --member dr-bob --tier 2 >/dev/null
say "patients pat-0001..3 have synthetic names, birth dates and MRNs, stored only encrypted (keyring $WORK/pki/keyring); MRN DEMO-2 is $(ht --as cli-admin admin find-patient --mrn DEMO-2) (found by its blind index)"
say "enrolled pat-0001..pat-0003, each with a BLE heart-rate strap, BP cuff, oximeter, scale and thermometer; dr-alice (tier 1) is on their care team, dr-bob (tier 2) on pat-0002's"

# The clinicians' alert streams, recorded from now on; the scenes below wait on them.
"${HT[@]}" --as dr-alice alerts watch --since 10m >"$WORK/alice-stream.txt" 2>"$WORK/alice-watch.log" &
WATCHERS+=($!)
"${HT[@]}" --as dr-bob alerts watch >"$WORK/bob-stream.txt" 2>"$WORK/bob-watch.log" &
WATCHERS+=($!)

start_bg bridge env "DBUS_SYSTEM_BUS_ADDRESS=$(cat "$WORK/bluez.address")" "$BUILD/ble_bridge/cli/healthtwin-bridge" run \
  --ingest-addr "$INGEST" --registry-addr "$INGEST" --pki "$WORK/pki" --as bridge-001 \
  --outbox "$WORK/bridge-outbox.db" --adapter hci0 >"$WORK/bridge.log" 2>&1
say "healthtwin-bridge run: BlueZ (mock) -> outbox $WORK/bridge-outbox.db -> ingest as bridge-001"
say "wearables: HR (1 Hz) and BP for 3 patients; pat-0002 is tachycardic; $DRAINED (pat-0001's oximeter) is losing 2 % of battery a second"
say "logs: $WORK/*.log"

# --- demo history (issue 14 item 4) ---
# Each cuff and scale keeps 30 days of its wearer's readings (morning and evening BP, a morning
# weighing; ble_bridge/simulated/history.h); the bridge fetches them through RACP when it
# connects, and every twin must be calibrated from them within 60 s of the bridge's start.
say "history: each cuff and scale holds 30 days of stored readings, fetched by the bridge through RACP (2A52); waiting (at most 60 s) for every twin to calibrate from them..."
BRIDGE_STARTED=$SECONDS
for i in 1 2 3; do
  p=$(printf 'pat-%04d' "$i")
  until ht --as dr-alice twin show --patient "$p" >"$WORK/twin-cal-$p.txt" 2>&1 &&
    grep -q "^calibrated on data " "$WORK/twin-cal-$p.txt"; do
    if ((SECONDS - BRIDGE_STARTED >= 60)); then
      echo "demo: history: the twin of $p is not calibrated 60 s after the bridge started: $(grep -m 1 -E '^(not calibrated|last calibration|twin of)' "$WORK/twin-cal-$p.txt" || tail -n 1 "$WORK/twin-cal-$p.txt")" >&2
      exit 1
    fi
    sleep 1
  done
  say "$p: $(grep -m 1 '^calibrated on data ' "$WORK/twin-cal-$p.txt") ($((SECONDS - BRIDGE_STARTED)) s after the bridge started, $SECONDS s into the demo)"
done
say "every twin is calibrated from its history; pat-0001's twin (healthtwin --as dr-alice twin show --patient pat-0001):"
cat "$WORK/twin-cal-pat-0001.txt"
# --- end demo history ---

# Waits up to TIMEOUT_S for a line of FILE matching the extended regex PATTERN, prints it and
# sets LINE to it; otherwise ends the demo with "demo: WHAT ..." (one line).
wait_for() {  # file pattern timeout_s what
  local file=$1 pattern=$2 timeout_s=$3 what=$4 i
  for ((i = 0; i < timeout_s * 2; i++)); do
    LINE=$(grep -E -m 1 -- "$pattern" "$file" 2>/dev/null || true)
    if [[ -n $LINE ]]; then
      echo "$LINE"
      return 0
    fi
    sleep 0.5
  done
  echo "demo: $what: no line matching '$pattern' in $(basename "$file") within $timeout_s s" >&2
  exit 1
}

say "scene 1, waiting for the first alert on dr-alice's subscription (healthtwin --as dr-alice alerts watch): a HIGH physiological alert..."
wait_for "$WORK/alice-stream.txt" '^\[[^]]*\] (ALERT|UPDATED) HIGH pat-0002 hr_high: ' 150 "scene 1 (HIGH hr_high on pat-0002 on dr-alice's stream)"
HR_ALERT=$(grep -oE 'id [0-9a-f-]{36}\)' <<<"$LINE" | head -n 1 | tr -d ')' | cut -d' ' -f2)
[[ -n $HR_ALERT ]] || { echo "demo: scene 1: no alert id in: $LINE" >&2; exit 1; }
say "the same alert at the hospital: healthtwin-feeds sent it as HL7 v2 ORU^R40 (IHE PCD-04) over MLLP; the endpoint printed:"
wait_for "$WORK/hospital.jsonl" \
  "^\\{\"message_type\": \"ORU\\^R40\\^ORU_R40\", \"control_id\": \"ht-[0-9]+-a[0-9]+\", \"patient_id\": \"pat-0002\", \"alert_id\": \"$HR_ALERT\"" \
  30 "the ORU^R40 of alert $HR_ALERT at the demo hospital" >/dev/null
grep -A 2 -m 1 "patient pat-0002  alert $HR_ALERT" "$WORK/hospital.log"
# --- demo FHIR feed: the alert as a FHIR Bundle ---
say "and over FHIR R4: healthtwin-feeds POSTed a subscription-notification Bundle (IHE mACM CommunicationRequest) to the demo hospital's HTTPS endpoint (mutual TLS), which printed:"
wait_for "$WORK/hospital-fhir.jsonl" "\"focus\": \\[[^]]*\"CommunicationRequest/ht-cr-$HR_ALERT\"" 30 \
  "the FHIR Bundle with the CommunicationRequest of alert $HR_ALERT at the demo hospital" >/dev/null
grep -m 1 -F "CommunicationRequest/ht-cr-$HR_ALERT" "$WORK/hospital-fhir.log"
# --- end demo FHIR feed ---

say "scene 2, a NEWS2 alert with a partial score (respiration rate and consciousness are not measured by wearables)..."
wait_for "$WORK/alice-stream.txt" ' pat-0002 news2: NEWS2 [0-9]+ \([^)]*partial, missing [^)]*\)' 120 \
  "scene 2 (partial NEWS2 alert on pat-0002 on dr-alice's stream)"

say "scene 3, a technical alert: $DRAINED's battery runs down (reported on GATT 2A19, forwarded by the bridge)..."
wait_for "$WORK/alice-stream.txt" " pat-0001 battery_low: Battery low: $DRAINED [0-9]+ %" 120 \
  "scene 3 (battery_low of $DRAINED on pat-0001 on dr-alice's stream)"

say "scene 4, nobody acknowledges alert $HR_ALERT: after 30 s it escalates to tier 2 (healthtwin --as dr-bob alerts watch)..."
wait_for "$WORK/bob-stream.txt" "^\\[[^]]*\\] ESCALATED HIGH pat-0002 hr_high: .*\\(ESCALATED, tier 2, id $HR_ALERT\\)" 90 \
  "scene 4 (the escalation of $HR_ALERT to tier 2 on dr-bob's stream)"

say "scene 5, dr-alice acknowledges it (healthtwin --as dr-alice alerts ack $HR_ALERT --note ...):"
ht --as dr-alice alerts ack "$HR_ALERT" --note "seen; calling the patient" >"$WORK/ack.txt" 2>&1 ||
  { echo "demo: scene 5: healthtwin alerts ack $HR_ALERT failed: $(tail -n 1 "$WORK/ack.txt")" >&2; exit 1; }
cat "$WORK/ack.txt"
grep -qE "^\[[^]]*\] ACKNOWLEDGED HIGH pat-0002 hr_high: .*id $HR_ALERT\)" "$WORK/ack.txt" ||
  { echo "demo: scene 5: healthtwin alerts ack did not acknowledge $HR_ALERT" >&2; exit 1; }
say "the alert and its event log (healthtwin --as dr-alice alerts show $HR_ALERT):"
ht --as dr-alice alerts show "$HR_ALERT" >"$WORK/show.txt" 2>&1 ||
  { echo "demo: scene 5: healthtwin alerts show $HR_ALERT failed: $(tail -n 1 "$WORK/show.txt")" >&2; exit 1; }
cat "$WORK/show.txt"
for event in "raised by system" "escalated by system" "acknowledged by dr-alice"; do
  grep -qE "^  #[0-9]+ [^ ]+ $event" "$WORK/show.txt" ||
    { echo "demo: scene 5: the event log of $HR_ALERT has no '$event' event" >&2; exit 1; }
done
grep -q "^acknowledged by dr-alice at " "$WORK/show.txt" ||
  { echo "demo: scene 5: healthtwin alerts show $HR_ALERT does not list dr-alice's acknowledgement" >&2; exit 1; }

say "the hospital feed (healthtwin --as cli-admin admin feed status):"
ht --as cli-admin admin feed status | tee "$WORK/feed-status.txt"
say "to add your own hospital: run an HL7 v2 MLLP receiver, then healthtwin --pki $WORK/pki --registry $INGEST --as cli-admin admin feed add --name my-hospital --kind hl7v2-mllp --target HOST:PORT --content alerts,vitals [--tls-ca CA.pem] [--min-priority medium] (see services/feeds/README.md)"

say "stored heart rate of pat-0002, 30 s buckets (healthtwin vitals --patient pat-0002 ...):"
ht --as dr-alice vitals --patient pat-0002 --type heart_rate --since 3m --bucket-s 30

say "pat-0002's twin, kept current from the same vitals (healthtwin twin show --patient pat-0002):"
for _ in $(seq 20); do
  ht --as dr-alice twin show --patient pat-0002 >"$WORK/twin-show.txt" 2>"$WORK/twin-show.err" && break
  sleep 0.5
done
cat "$WORK/twin-show.txt" "$WORK/twin-show.err"

say "its forecast for the next 6 hours, from the twin shard that owns pat-0002 (healthtwin twin predict --patient pat-0002 --horizon-h 6):"
ht --as dr-alice twin predict --patient pat-0002 --horizon-h 6 | tee "$WORK/twin-predict.txt"

say "dr-alice compares treatments on pat-0002's twin (healthtwin whatif --patient pat-0002 --options docs/examples/whatif-options.json):"
ht --as dr-alice whatif --patient pat-0002 --options "$ROOT/docs/examples/whatif-options.json" --days 14 --ensemble 10 \
  | tee "$WORK/whatif.txt"

say "identifying data, decrypted only for the care team (healthtwin --as dr-alice patient show --patient pat-0002):"
ht --as dr-alice patient show --patient pat-0002 | tee "$WORK/patient-show.txt"

say "dr-bob is not on pat-0001's care team: his read is refused, and the refusal is audited (healthtwin --as dr-bob patient show --patient pat-0001):"
if ht --as dr-bob patient show --patient pat-0001 >"$WORK/bob-refused.txt" 2>&1; then
  echo "demo: dr-bob read pat-0001's identity without being on the care team or holding a grant" >&2
  exit 1
fi
cat "$WORK/bob-refused.txt"
say "in an emergency he breaks the glass: a 30-minute grant, audited as a security alert (DICOM 110113/110127) (healthtwin --as dr-bob break-glass --patient pat-0001 --reason-code ETREAT --reason ... --for 30m):"
ht --as dr-bob break-glass --patient pat-0001 --reason-code ETREAT \
  --reason "covering the ward tonight; pat-0001's alerts are escalating" --for 30m | tee "$WORK/break-glass.txt"
say "his reads of pat-0001 now succeed, each flagged in the audit trail (healthtwin --as dr-bob patient show --patient pat-0001):"
ht --as dr-bob patient show --patient pat-0001 | tee "$WORK/bob-glass-read.txt"
say "the admins review every grant (healthtwin --as cli-admin admin break-glass list, then review --justified):"
ht --as cli-admin admin break-glass list --json >"$WORK/break-glass-list.json"
ht --as cli-admin admin break-glass list
GRANT=$(/usr/bin/python3 -c 'import json, sys; g = json.loads(sys.stdin.readline()); print(g.get("grantId", g.get("grant_id")))' \
  <"$WORK/break-glass-list.json")
ht --as cli-admin admin break-glass review --grant "$GRANT" --justified --note "night cover; confirmed with the ward" |
  tee "$WORK/break-glass-review.txt"

say "bearer tokens narrow a person's calls to scopes: a 15-minute token for dr-alice that may read vitals only (healthtwin admin issue-token --subject dr-alice --role clinician --scopes user/Observation.rs ...):"
TOKEN=$(ht admin issue-token --subject dr-alice --role clinician --scopes "user/Observation.rs" --ttl 15m \
  --issuer-key "$WORK/pki/token-issuer.key" --issuer "$TOKEN_ISSUER" --audience clinician_api)
ht --as dr-alice --token "$TOKEN" vitals --patient pat-0002 --type heart_rate --since 1m --bucket-s 60 |
  tee "$WORK/token-vitals.txt"
say "the same token may not read her alerts (it lacks user/Communication.rs) (healthtwin --as dr-alice --token ... alerts list --patient pat-0002):"
if ht --as dr-alice --token "$TOKEN" alerts list --patient pat-0002 >"$WORK/token-refused.txt" 2>&1; then
  echo "demo: a token without user/Communication.rs listed alerts" >&2
  exit 1
fi
cat "$WORK/token-refused.txt"

say "a researcher runs a small virtual trial on the simulation service (healthtwin job submit --wait):"
cat >"$WORK/cohort.json" <<'SPEC'
{"seed": 11, "patients": 200, "days": 14,
 "population": {"sbp_mmhg": {"mean": 152, "sd": 6}, "dbp_mmhg": {"mean": 94, "sd": 5},
                "heart_rate_bpm": {"mean": 74, "sd": 8}, "age_years": {"mean": 60, "sd": 9},
                "weight_kg": {"mean": 82, "sd": 12}, "female_fraction": 0.5},
 "arms": [{"name": "placebo", "treatments": []},
          {"name": "amlodipine 5 mg", "treatments": [{"drug": "amlodipine", "dose_mg": 5, "interval_h": 24}]},
          {"name": "lisinopril 20 mg", "treatments": [{"drug": "lisinopril", "dose_mg": 20, "interval_h": 24}]}]}
SPEC
ht --as researcher-rita job submit --spec "$WORK/cohort.json" --wait | tee "$WORK/cohort.txt"

# --- research on de-identified data (issue 13, item 5): a study, pseudonyms, shifted vitals, a what-if ---
say "an admin opens a study with two consenting demo patients and researcher-rita (healthtwin admin study create|add-patient|add-researcher):"
ht --as cli-admin admin study create --study demo-htn --title "Demo hypertension study" >/dev/null
for p in pat-0001 pat-0002; do
  ht --as cli-admin admin study add-patient --study demo-htn --patient "$p" >/dev/null
done
ht --as cli-admin admin study add-researcher --study demo-htn --researcher researcher-rita | tee "$WORK/study.txt"
say "rita sees the study's subjects by pseudonym only, consent times shifted (healthtwin --as researcher-rita research patients --study demo-htn):"
ht --as researcher-rita research patients --study demo-htn | tee "$WORK/research-patients.txt"
SUBJECT=$(head -n 1 "$WORK/research-patients.txt" | cut -d' ' -f1)
# The 31 days of history, wherever the subject's shift (within +-182 days) has moved them.
say "a subject's daily vitals, de-identified: dates shifted by the subject's own whole days (healthtwin research vitals --study demo-htn --subject $SUBJECT --bucket-s 86400 ..., first rows):"
ht --as researcher-rita research vitals --study demo-htn --subject "$SUBJECT" --bucket-s 86400 \
  --start "$(date -u -d '-215 days' +%Y-%m-%dT00:00:00Z)" --end "$(date -u -d '+184 days' +%Y-%m-%dT00:00:00Z)" \
  >"$WORK/research-vitals.txt"
head -n 6 "$WORK/research-vitals.txt"
say "and runs the clinicians' what-if on that subject's twin, de-identified (healthtwin research whatif --study demo-htn --subject $SUBJECT --options docs/examples/whatif-options.json):"
ht --as researcher-rita research whatif --study demo-htn --subject "$SUBJECT" \
  --options "$ROOT/docs/examples/whatif-options.json" --days 14 --ensemble 10 | tee "$WORK/research-whatif.txt"
grep -qE "^subject sp-[a-z2-7]{16}, 14 days, 10 ensemble members" "$WORK/research-whatif.txt" &&
  grep -q "^ 1\. " "$WORK/research-whatif.txt" ||
  { echo "demo: the de-identified what-if did not rank the options under a pseudonym" >&2; exit 1; }
[[ $(wc -l <"$WORK/research-patients.txt") -eq 2 ]] && grep -qi heart_rate "$WORK/research-vitals.txt" ||
  { echo "demo: the study's two subjects or their de-identified vitals are missing" >&2; exit 1; }
if grep -l "pat-000" "$WORK"/research-*.txt; then
  echo "demo: a patient id reached the researcher" >&2
  exit 1
fi

AUDIT=("$BUILD/clinician_api/cli/healthtwin" audit)
say "pat-0002's accounting of disclosures: every message the hospital feeds delivered is an audited export (healthtwin audit export --db ... --patient pat-0002 --format fhir, the AuditEvents of type DICOM 110106):"
"${AUDIT[@]}" export --db "$DB" --patient pat-0002 --format fhir >"$WORK/pat-0002-audit.json"
/usr/bin/python3 - "$WORK/pat-0002-audit.json" <<'PY' | tee "$WORK/disclosures.txt"
import json, sys
events = [e["resource"] for e in json.load(open(sys.argv[1])).get("entry", [])]
exports = [e for e in events if e["type"]["code"] == "110106"]
print(f"{len(events)} audit events for pat-0002, {len(exports)} of them disclosures to hospital systems; the last three:")
for e in exports[-3:]:
    to = e["agent"][1]["network"]["address"]
    print(f"  {e['recorded']}  to {to}  outcome {e['outcome']}  {e['entity'][1]['what']['identifier']['value']}")
PY

say "the audit trail of all of the above, read straight from the database: the checkpoints the services signed, exported for an auditor, then healthtwin audit verify:"
"${AUDIT[@]}" checkpoints export --db "$DB" --out "$WORK/audit-checkpoints.jsonl"
"${AUDIT[@]}" verify --db "$DB" --checkpoints "$WORK/audit-checkpoints.jsonl" \
  --public-key "$WORK/pki/audit-signing.pub" | tee "$WORK/audit-verify.txt"

if ((HEADLESS)); then
  # --- demo history and FHIR feed checks (issues 14 item 4, 12 item 6) ---
  grep -q "^calibrated on data " "$WORK/twin-show.txt" ||
    { echo "demo: healthtwin twin show --patient pat-0002 did not show a calibrated twin" >&2; exit 1; }
  grep -qE "^[0-9TZ:.-]+ +systolic_bp +[0-9.]+ mm\[Hg\] +\[[0-9.]+, [0-9.]+\]; \[[0-9.]+, [0-9.]+\]$" "$WORK/twin-predict.txt" ||
    { echo "demo: healthtwin twin predict --patient pat-0002 printed no systolic forecast with intervals" >&2; exit 1; }
  grep -qE "^patient pat-0002, 14 days, 10 ensemble members, twin version [1-9][0-9]* " "$WORK/whatif.txt" ||
    { echo "demo: the what-if did not run on a calibrated twin posterior: $(head -n 1 "$WORK/whatif.txt")" >&2; exit 1; }
  grep -qE "^demo-hospital-fhir \(enabled\): .* 0 dead, [1-9][0-9]* delivered" "$WORK/feed-status.txt" ||
    { echo "demo: healthtwin admin feed status shows no delivered Bundle for demo-hospital-fhir" >&2; exit 1; }
  say "checked: every twin calibrated from its 30-day history (pat-0001..3), pat-0002's twin shown calibrated and its forecast printed, the what-if on twin version $(grep -oE 'twin version [0-9]+' "$WORK/whatif.txt" | head -n 1 | cut -d' ' -f3), the CommunicationRequest of $HR_ALERT at the demo hospital's FHIR endpoint"
  # --- end demo history and FHIR feed checks ---
  grep -qE "^[0-9]+ audit events for pat-0002, [1-9][0-9]* of them disclosures" "$WORK/disclosures.txt" ||
    { echo "demo: pat-0002's accounting of disclosures lists no feed delivery" >&2; exit 1; }
  grep -q "^audit chain good: " "$WORK/audit-verify.txt" ||
    { echo "demo: healthtwin audit verify did not find the audit chain good" >&2; exit 1; }
  grep -qE " [1-9][0-9]* stored checkpoints with good signatures" "$WORK/audit-verify.txt" ||
    { echo "demo: the services signed no audit checkpoint" >&2; exit 1; }
  grep -q "Synthetic-Two" "$WORK/patient-show.txt" ||
    { echo "demo: healthtwin patient show did not show pat-0002's name to dr-alice" >&2; exit 1; }
  grep -q "PERMISSION_DENIED\|permission denied\|not on the care team" "$WORK/bob-refused.txt" ||
    { echo "demo: dr-bob's refusal did not say why: $(cat "$WORK/bob-refused.txt")" >&2; exit 1; }
  grep -q "Synthetic-One" "$WORK/bob-glass-read.txt" ||
    { echo "demo: dr-bob could not read pat-0001 under his break-glass grant" >&2; exit 1; }
  grep -qi "justified" "$WORK/break-glass-review.txt" ||
    { echo "demo: the break-glass review did not record the verdict" >&2; exit 1; }
  grep -q "user/Communication.rs" "$WORK/token-refused.txt" ||
    { echo "demo: the narrow token's refusal did not name the missing scope: $(cat "$WORK/token-refused.txt")" >&2; exit 1; }
  grep -q "^twin of pat-0002: version" "$WORK/twin-show.txt" && grep -q "^log_blood_volume" "$WORK/twin-show.txt" ||
    { echo "demo: healthtwin twin show --patient pat-0002 did not show the twin" >&2; exit 1; }
  PSQL=$(ls /usr/lib/postgresql/*/bin/psql | sort -V | tail -n 1)
  # The strap sends one heart rate a second from the bridge's connection on: expect a row for
  # every second since the bridge started, less 20 s for pairing and subscribing, and at least
  # 30 (the scenes, the what-if and the trial take about a minute); allow a few more seconds for
  # the rows still in flight through the bridge.
  want=$((SECONDS - BRIDGE_STARTED - 20))
  ((want >= 30)) || want=30
  for _ in $(seq 20); do
    rows=$(runuser -u postgres -- "$PSQL" "$DB" -Atc \
      "SELECT count(*) FROM vitals WHERE patient_id = 'pat-0002' AND vital_type = 1")
    ((rows >= want)) && break
    sleep 0.5
  done
  ((rows >= want)) || { echo "demo: expected >= $want heart-rate rows for pat-0002 ($((SECONDS - BRIDGE_STARTED)) s after the bridge started), found $rows" >&2; exit 1; }
  # Least privilege: every service is connected, and as its own role, none as the superuser.
  users=$(runuser -u postgres -- "$PSQL" "$DB" -Atc "SELECT string_agg(DISTINCT usename::text, ',' ORDER BY usename::text)
    FROM pg_stat_activity WHERE datname = 'healthtwin' AND pid <> pg_backend_pid()")
  [[ $users == healthtwin_alerts,healthtwin_clinician_api,healthtwin_feeds,healthtwin_ingest,healthtwin_simulation,healthtwin_twin ]] ||
    { echo "demo: expected each service connected as its own role, found: $users" >&2; exit 1; }
  grep -q "^ 1\. " "$WORK/whatif.txt" || { echo "demo: the what-if did not rank the options" >&2; exit 1; }
  grep -q "^amlodipine 5 mg " "$WORK/cohort.txt" || { echo "demo: the cohort job gave no results" >&2; exit 1; }
  grep -qE "^demo-hospital \(enabled\): .* 0 dead, [1-9][0-9]* delivered; last acknowledged: ht-" "$WORK/feed-status.txt" ||
    { echo "demo: healthtwin admin feed status shows no delivered message for demo-hospital" >&2; exit 1; }
  say "checked: HIGH hr_high, partial NEWS2 and battery_low on dr-alice's stream, the escalation on dr-bob's, the acknowledgement and event log of $HR_ALERT, $rows heart-rate rows for pat-0002 in PostgreSQL, pat-0002's identity shown to dr-alice, dr-bob refused then admitted by break-glass and the grant reviewed, a narrow bearer token refused alerts, pat-0002's twin shown, what-if ranked, cohort job done, the ORU^R40 of $HR_ALERT at the demo hospital, services connected as $users"
  exit 0
fi

say "watching for more alerts. Press Ctrl-C to stop everything."
ht --as dr-alice alerts watch || true
