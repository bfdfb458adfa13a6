#!/usr/bin/env bash
# Installs exactly the Debian 12 packages healthtwin needs to build, test and run its demo.
# Idempotent: when every package is already installed it returns in well under a second,
# without touching the network. Must run as root (or with sudo available) on Debian 12.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config
  # required libraries (sdbus-c++ joins with the BLE bridge)
  libgrpc++-dev libabsl-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libpqxx-dev libpq-dev libssl-dev openssl
  libgtest-dev libgmock-dev libbenchmark-dev
  # well-kept helpers: JSON, CLI parsing, logging, config files
  nlohmann-json3-dev libcli11-dev libspdlog-dev libtomlplusplus-dev
  # real components started by tests and the demo: PostgreSQL server binaries and psql
  postgresql
  # pgrep (demo), runuser (PostgreSQL harness as root)
  procps util-linux
  # SQLite for the BLE bridge's durable on-gateway outbox (ble_bridge/outbox)
  libsqlite3-dev
  # linear algebra for twin calibration (models/calibration): MAP fit, UKF, covariances
  libeigen3-dev
  # libFuzzer for the GATT parser fuzzers (ble_bridge/parsers/fuzz), which need clang
  clang libclang-rt-14-dev
  # BlueZ client (ble_bridge/bluez) and its radio-free tests: private dbus-daemon + dbusmock
  libsdbus-c++-dev dbus python3-dbusmock
  # sd_notify for the bridge under systemd (Type=notify, WatchdogSec=; deploy/systemd)
  libsystemd-dev
  # libfaketime: the bridge clock-jump test shifts the wall clock of a running bridge
  # (ble_bridge/cli/run_integration_test.cc)
  faketime
  # curl: the HTTPS client of clinician_api's FHIR read API tests (tests/integration/fhir_api_integration_test.cc)
  curl
  # sslscan: every port scanned from outside for TLS 1.2/1.3 and AEAD suites only (tests/process/tls_scan.h)
  sslscan
  # the hospital's HL7 v2 MLLP receiver in the feed tests and the demo (tests/peers/hl7_mllp_peer.py);
  # no C++ HL7 v2 library is packaged, so services/feeds/hl7 encodes and frames by itself
  python3-hl7
  # HTTPS client of the fhir-rest-hook feed (services/feeds/fhir_feed.cc) and clinician_api's HTTPS
  # listener (clinician_api/https_listener.h), both through cmake/Httplib.cmake
  libcpp-httplib-dev
  # the clinician dashboard's browser tests (tests/browser, label e2e): Debian's Chromium driven by
  # playwright-core (npm, pinned), and certutil/pk12util for the browser-native client-certificate
  # scenario (an NSS database in a private HOME)
  chromium libnss3-tools
  # a private single-node Slurm cluster for the HPC cohort route (deploy/slurm) and its tests
  # (tests/harness/slurm_cluster.h): controller, node daemon, sbatch/squeue/scancel, and munge for auth
  slurmctld slurmd slurm-client munge
)

# npm packages, each directory pinned by its package-lock.json and installed with npm ci only
# when the installed tree is not the locked one, so a second run does not touch the network:
#   tests/peers/fhir        @medplum/core 4.5.2: the FHIR receiver of the feed tests
#                           (tests/peers/fhir_receiver.mjs); needs Node >= 20.19
#   clinician_api/dashboard uPlot 1.6.32, embedded into healthtwin-clinician-api at build time
#                           (clinician_api/CMakeLists.txt); the build fails without it
#   tests/browser           playwright-core 1.65.2, driving /usr/bin/chromium in the dashboard's
#                           e2e tests (tests/browser/dashboard_e2e.mjs)
#   tests/k8s               kubernetes-models 4.5.1 and js-yaml 4.1.0: schema checks of the rendered
#                           Kubernetes manifests (tests/k8s/manifests_test.mjs)
# Debian 12's nodejs is 18: install Node 20 from NodeSource.
NPM_DIRS=(tests/peers/fhir clinician_api/dashboard tests/browser tests/k8s)
npm_peer_packages() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "bootstrap: WARNING: node/npm missing; the FHIR feed tests, the dashboard build and its browser tests" \
      "need Node 20 (NodeSource) and npm" >&2
    return 0
  fi
  local major
  major="$(node --version | sed 's/^v\([0-9]*\).*/\1/')"
  if ((major < 20)); then
    echo "bootstrap: WARNING: Node $(node --version) is too old for @medplum/core 4.5.2 (needs 20.19+)" >&2
    return 0
  fi
  local rel dir want
  for rel in "${NPM_DIRS[@]}"; do
    dir="${root}/${rel}"
    # The lockfile's hash, stamped after a successful npm ci.
    want="$(sha256sum "${dir}/package-lock.json" | cut -d' ' -f1)"
    if [[ "$(cat "${dir}/node_modules/.healthtwin-lock-sha256" 2>/dev/null)" == "${want}" ]]; then
      echo "bootstrap: npm packages of ${rel} present"
      continue
    fi
    echo "bootstrap: npm ci in ${dir}"
    (cd "${dir}" && npm ci --no-audit --no-fund)
    echo "${want}" >"${dir}/node_modules/.healthtwin-lock-sha256"
  done
}

# kubectl renders deploy/k8s (`kubectl kustomize`) in tests/k8s. Debian 12's kubernetes-client is
# 1.20.2 and conflicts with an upstream kubectl already in /usr/bin, so it is wanted only where
# no kubectl exists.
if ! command -v kubectl >/dev/null; then
  PACKAGES+=(kubernetes-client)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
  npm_peer_packages
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "bootstrap: must run as root to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian postgresql package starts a system cluster on port 5432. healthtwin never uses it
# (tests and the demo run private clusters on Unix sockets), so leave it as the admin set it.
npm_peer_packages
echo "bootstrap: done"
