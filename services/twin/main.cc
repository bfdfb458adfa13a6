// healthtwin-twin: serves each patient's cardiovascular twin snapshots.
#include "services/common/config.h"
#include "services/common/run_service.h"
#include "services/common/service_host.h"
#include "services/twin/twin_service.h"

using namespace healthtwin;

int main(int argc, char** argv) {
  common::BlockShutdownSignals();
  auto cfg = common::ParseServiceConfigOrExit(argc, argv, "twin", {});
  common::PgPool pool(cfg.db_conninfo, 4);
  common::Executor executor(4);
  twin::TwinServiceImpl service(pool, executor);
  return common::RunService(cfg, {&service});
}
