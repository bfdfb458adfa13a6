// healthtwin-clinician-api: the clinician-facing gateway.
#include "services/common/access.h"
#include "clinician_api/clinician_service.h"
#include "services/common/config.h"
#include "services/common/grpc_util.h"
#include "services/common/run_service.h"
#include "services/common/service_host.h"

using namespace healthtwin;

int main(int argc, char** argv) {
  common::BlockShutdownSignals();
  auto cfg = common::ParseServiceConfigOrExit(argc, argv, "clinician_api", {"ingest", "alerts", "twin"});
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
  return common::RunService(cfg, {&service});
}
