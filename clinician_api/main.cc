// healthtwin-clinician-api: the clinician-facing gateway: gRPC (ClinicianService) and, with
// --https-port, the FHIR R4 read API over HTTPS (fhir_api.h), and with --dashboard-port the
// clinician web dashboard (dashboard_api.h), all mutual TLS with the same certificate, all
// draining on SIGTERM.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "clinician_api/clinician_service.h"
#include "clinician_api/dashboard_api.h"
#include "clinician_api/fhir_api.h"
#include "clinician_api/https_listener.h"
#include "services/common/access.h"
#include "services/common/audit_checkpointing.h"
#include "services/common/config.h"
#include "services/common/crypto/pseudonym_keyring.h"
#include "services/common/grpc_util.h"
#include "services/common/run_service.h"
#include "services/common/service_host.h"
#include "services/common/time_util.h"

using namespace healthtwin;

int main(int argc, char** argv) {
  common::BlockShutdownSignals();
  int https_port = -1;  // no HTTPS listener
  std::string https_port_file;
  int dashboard_port = -1;  // no dashboard
  std::string dashboard_port_file;
  int break_glass_max_minutes = 120;
  int twin_shards = 1;
  std::string keyring_dir;  // research pseudonyms (clinician_api/research.h), audit checkpoints
  common::AuditCheckpointFlags checkpoints;
  auto cfg = common::ParseServiceConfigOrExit(
      argc, argv, "clinician_api", {"ingest", "alerts", "twin", "simulation"}, [&](CLI::App& app) {
        app.add_option("--https-port", https_port,
                       "serve the FHIR R4 read API over HTTPS (mutual TLS, same certificate) on this port of the "
                       "--listen host; 0 picks a free one; unset: no HTTPS listener")
            ->check(CLI::Range(0, 65535));
        app.add_option("--https-port-file", https_port_file,
                       "write the bound HTTPS port here (default: the --port-file path + '.https')");
        app.add_option("--dashboard-port", dashboard_port,
                       "serve the clinician web dashboard over HTTPS (mutual TLS, same certificate) on this port "
                       "of the --listen host; 0 picks a free one; unset: no dashboard")
            ->check(CLI::Range(0, 65535));
        app.add_option("--dashboard-port-file", dashboard_port_file,
                       "write the bound dashboard port here (default: the --port-file path + '.dashboard')");
        app.add_option("--break-glass-max-minutes", break_glass_max_minutes,
                       "longest break-glass grant a clinician may ask for (a grant lasts 60 min, or this when "
                       "shorter, unless the request asks for less)")
            ->capture_default_str()
            ->check(CLI::Range(1, 24 * 60));
        app.add_option("--twin-shards", twin_shards,
                       "number of twin shards (the twin service's --shard-count); with more than one, "
                       "--twin-addr must contain {shard}, which becomes 0 .. N-1, e.g. "
                       "dns:///twin-{shard}.twin:7443, and each call goes to its patient's shard")
            ->capture_default_str();
        app.add_option("--keyring", keyring_dir,
                       "keyring directory whose pseudonym.key keys researchers' pseudonyms and date shifts "
                       "(services/common/crypto/README.md); unset: the research RPCs refuse; its "
                       "audit-signing.key, if any, signs audit checkpoints. Nothing else is read from it: "
                       "it needs no KEK");
        checkpoints.AddTo(app);
      });
  if (https_port_file.empty() && !cfg.port_file.empty()) https_port_file = cfg.port_file + ".https";
  if (dashboard_port_file.empty() && !cfg.port_file.empty()) dashboard_port_file = cfg.port_file + ".dashboard";
  const auto exit_2 = [](const absl::Status& s) {
    std::cerr << "healthtwin-clinician_api: " << s.message() << "\n";
    std::exit(2);
  };
  auto channel = [&](const std::string& peer, const std::string& address) {
    auto ch = common::MakePeerChannel(address, cfg.tls, cfg.peer_identities.at(peer));
    if (!ch.ok()) exit_2(ch.status());
    return *ch;
  };
  clinician::Upstreams up;
  up.vitals = vitals::v1::VitalsQueryService::NewStub(channel("ingest", cfg.peers.at("ingest")));
  up.alerts = alerts::v1::AlertService::NewStub(channel("alerts", cfg.peers.at("alerts")));
  // ingest hosts the registry
  up.registry = registry::v1::RegistryService::NewStub(channel("ingest", cfg.peers.at("ingest")));
  // the dashboard's what-if
  up.simulation = simulation::v1::SimulationService::NewStub(channel("simulation", cfg.peers.at("simulation")));
  {
    auto addresses = clinician::TwinShardAddresses(cfg.peers.at("twin"), twin_shards);
    if (!addresses.ok()) exit_2(addresses.status());
    std::vector<std::unique_ptr<clinician::TwinRouter::Stub>> stubs;
    for (const std::string& address : *addresses)
      stubs.push_back(twin::v1::TwinService::NewStub(channel("twin", address)));
    auto router = clinician::TwinRouter::Create(std::move(stubs));
    if (!router.ok()) exit_2(router.status());
    up.twin = *std::move(router);
  }

  common::PgPool pool(cfg.db_conninfo, 8, {}, cfg.db_limits);
  common::Executor executor(8);
  common::Access access(pool);
  clinician::ClinicianServiceImpl service(
      access, std::move(up), executor,
      common::PolicyOrExit("clinician_api", clinician::ClinicianServiceImpl::DefaultPolicy(), cfg.access));
  // Bearer tokens on the gRPC calls ([auth], --token-*; clinician_api/token_gate.h). The HTTPS
  // edges (FHIR, dashboard) stay certificate-only.
  if (!cfg.auth.public_key_path.empty()) {
    auto verifier = common::auth::TokenVerifier::FromPublicKeyFile(
        cfg.auth.public_key_path, {.issuer = cfg.auth.issuer, .audience = cfg.auth.audience});
    auto gate = verifier.ok() ? clinician::TokenGate::Create(*std::move(verifier), cfg.auth.require_token,
                                                             [] { return common::NowUnixMicros() / 1'000'000; })
                              : absl::StatusOr<clinician::TokenGate>(verifier.status());
    if (!gate.ok()) {
      std::cerr << "healthtwin-clinician_api: auth.token_public_key: " << gate.status().message() << "\n";
      std::exit(2);
    }
    service.SetTokenGate(*std::move(gate));
  }
  clinician::BreakGlass break_glass(pool, access, {.max_duration = absl::Minutes(break_glass_max_minutes)});
  service.EnableBreakGlass(break_glass);
  // Only the pseudonym key (and, below, the signing key): never the KEKs, which stay with ingest.
  std::unique_ptr<common::crypto::PseudonymKeyring> keyring;
  std::optional<clinician::Research> research;
  if (!keyring_dir.empty()) {
    auto loaded = common::crypto::PseudonymKeyring::Load(keyring_dir);
    if (!loaded.ok())
      exit_2(absl::Status(loaded.status().code(), absl::StrCat("--keyring: ", loaded.status().message())));
    keyring = *std::move(loaded);
    research.emplace(pool, *keyring);
    service.EnableResearch(*research);
  }
  auto checkpoint_timer = common::EnableAuditCheckpoints(
      common::LoadAuditCheckpointKeyOrExit("clinician_api", keyring_dir), checkpoints, {&access});

  // Observation bodies are still a temporary stand-in (fhir_resources.h).
  clinician::FeedsFhirResources fhir_resources;
  clinician::FhirApi fhir(service, fhir_resources);
  clinician::DashboardApi dashboard(service, common::NowUnixMicros);
  const std::string host = cfg.listen_address.substr(0, cfg.listen_address.rfind(':'));
  // One HTTPS listener: started on `port` (< 0: none) with `routes`, its port written to `port_file`.
  const auto start =
      [&](int port, const std::string& port_file,
          const std::function<void(httplib::Server&)>& routes) -> std::unique_ptr<clinician::HttpsListener> {
    if (port < 0) return nullptr;
    clinician::HttpsOptions options;
    options.host = host;
    options.port = port;
    auto listener = clinician::HttpsListener::Start(cfg.tls, options, routes);
    if (!listener.ok()) exit_2(listener.status());
    // Written before the gRPC port file, so whoever waits for that one finds this one too.
    if (!port_file.empty()) {
      if (auto s = common::WritePortFile(port_file, (*listener)->port()); !s.ok()) exit_2(s);
    }
    return *std::move(listener);
  };
  std::unique_ptr<clinician::HttpsListener> https =
      start(https_port, https_port_file, [&](httplib::Server& s) { fhir.Register(s); });
  std::unique_ptr<clinician::HttpsListener> dashboard_https =
      start(dashboard_port, dashboard_port_file, [&](httplib::Server& s) { dashboard.Register(s); });
  const auto stop_https = [&] {
    dashboard.StopStreams();  // open event streams end, so the listener's Stop does not wait on them
    for (auto* l : {&https, &dashboard_https}) {
      if (*l) (*l)->Stop();
    }
    if (https && !https_port_file.empty()) std::remove(https_port_file.c_str());
    if (dashboard_https && !dashboard_port_file.empty()) std::remove(dashboard_port_file.c_str());
  };
  common::RunHooks hooks;
  hooks.on_drain = stop_https;  // with the gRPC drain: requests in flight finish
  const int rc = common::RunService(cfg, {&service}, hooks);
  stop_https();
  return rc;
}
