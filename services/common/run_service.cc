#include "services/common/run_service.h"

#include <cstdlib>
#include <mutex>

#include "services/common/logging.h"
#include "services/common/pg.h"
#include "services/common/service_host.h"

namespace healthtwin::common {

int RunService(const ServiceConfig& cfg, const std::vector<grpc::Service*>& services, RunHooks hooks) {
  auto host = ServiceHost::Start(cfg, services);
  if (!host.ok()) {
    LogError("server.start_failed", {{"error", host.status().message()}});
    return 2;
  }
  if (hooks.on_drain) (*host)->OnDrain(hooks.on_drain);
  std::once_flag started;
  PgSupervisor supervisor(
      cfg.db_conninfo,
      [&](bool healthy) {
        if (healthy && hooks.on_first_healthy) std::call_once(started, hooks.on_first_healthy);
        (*host)->SetServing(healthy);
      },
      [](const absl::Status& fatal) {
        LogError("fatal", {{"error", fatal.message()}});
        std::_Exit(2);
      });
  (*host)->WaitForShutdownSignal();
  return 0;
}

}  // namespace healthtwin::common
