// healthtwin-clinician-api: the clinician-facing gateway: gRPC (ClinicianService) and, with
// --https-port, the FHIR R4 read API over HTTPS (fhir_api.h), both mutual TLS with the same
// certificate, both draining on SIGTERM.
#include <cstdio>

#include "clinician_api/clinician_service.h"
#include "clinician_api/fhir_api.h"
#include "clinician_api/https_listener.h"
#include "services/common/access.h"
#include "services/common/config.h"
#include "services/common/grpc_util.h"
#include "services/common/run_service.h"
#include "services/common/service_host.h"

using namespace healthtwin;

int main(int argc, char** argv) {
  common::BlockShutdownSignals();
  int https_port = -1;  // no HTTPS listener
  std::string https_port_file;
  auto cfg =
      common::ParseServiceConfigOrExit(argc, argv, "clinician_api", {"ingest", "alerts", "twin"}, [&](CLI::App& app) {
        app.add_option("--https-port", https_port,
                       "serve the FHIR R4 read API over HTTPS (mutual TLS, same certificate) on this port of the "
                       "--listen host; 0 picks a free one; unset: no HTTPS listener")
            ->check(CLI::Range(0, 65535));
        app.add_option("--https-port-file", https_port_file,
                       "write the bound HTTPS port here (default: the --port-file path + '.https')");
      });
  if (https_port_file.empty() && !cfg.port_file.empty()) https_port_file = cfg.port_file + ".https";
  auto channel = [&](const std::string& peer) {
    auto ch = common::MakePeerChannel(cfg.peers.at(peer), cfg.tls, cfg.peer_identities.at(peer));
    if (!ch.ok()) {
      std::cerr << "healthtwin-clinician_api: " << ch.status().message() << "\n";
      std::exit(2);
    }
    return *ch;
  };
  clinician::Upstreams up;
  up.vitals = vitals::v1::VitalsQueryService::NewStub(channel("ingest"));
  up.alerts = alerts::v1::AlertService::NewStub(channel("alerts"));
  up.twin = twin::v1::TwinService::NewStub(channel("twin"));

  common::PgPool pool(cfg.db_conninfo, 8, {}, cfg.db_limits);
  common::Executor executor(8);
  common::Access access(pool);
  clinician::ClinicianServiceImpl service(
      access, std::move(up), executor,
      common::PolicyOrExit("clinician_api", clinician::ClinicianServiceImpl::DefaultPolicy(), cfg.access));

  // Observation bodies are still a temporary stand-in (fhir_resources.h).
  clinician::FeedsFhirResources fhir_resources;
  clinician::FhirApi fhir(service, fhir_resources);
  std::unique_ptr<clinician::HttpsListener> https;
  if (https_port >= 0) {
    clinician::HttpsOptions options;
    options.host = cfg.listen_address.substr(0, cfg.listen_address.rfind(':'));
    options.port = https_port;
    auto listener = clinician::HttpsListener::Start(cfg.tls, options, [&](httplib::Server& s) { fhir.Register(s); });
    if (!listener.ok()) {
      std::cerr << "healthtwin-clinician_api: " << listener.status().message() << "\n";
      return 2;
    }
    https = *std::move(listener);
    if (!https_port_file.empty()) {
      // Written before the gRPC port file, so whoever waits for that one finds this one too.
      if (auto s = common::WritePortFile(https_port_file, https->port()); !s.ok()) {
        std::cerr << "healthtwin-clinician_api: " << s.message() << "\n";
        return 2;
      }
    }
  }
  const auto stop_https = [&] {
    if (!https) return;
    https->Stop();
    if (!https_port_file.empty()) std::remove(https_port_file.c_str());
  };
  common::RunHooks hooks;
  hooks.on_drain = stop_https;  // with the gRPC drain: requests in flight finish
  const int rc = common::RunService(cfg, {&service}, hooks);
  stop_https();
  return rc;
}
