#include "services/common/run_service.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>

#include "services/common/logging.h"
#include "services/common/pg.h"
#include "services/common/service_host.h"

namespace healthtwin::common {

int RunService(const ServiceConfig& cfg, const std::vector<grpc::Service*>& services, RunHooks hooks) {
  auto host = ServiceHost::Start(cfg, services);
  if (!host.ok()) {
    // Same shape as a config error: one line naming the problem, exit 2.
    std::cerr << "healthtwin-" << cfg.service_name << ": " << host.status().message() << "\n";
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
      [&cfg](const absl::Status& fatal) {
        LogError("fatal", {{"error", fatal.message()}});
        std::cerr << "healthtwin-" << cfg.service_name << ": " << fatal.message() << "\n";
        if (!cfg.port_file.empty()) std::remove(cfg.port_file.c_str());
        std::_Exit(2);
      });
  (*host)->WaitForShutdownSignal();
  return 0;
}

}  // namespace healthtwin::common
