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
  // on_first_healthy runs at most once and never once the drain has begun (PostgreSQL may first
  // become reachable during the drain: consumers started then would outlive it), and the drain
  // waits for a start in progress. Shared state, so it outlives whichever hook runs last.
  struct Phase {
    std::mutex mu;
    bool started = false;
    bool draining = false;
  };
  auto phase = std::make_shared<Phase>();
  if (hooks.on_started) hooks.on_started(**host);
  (*host)->OnDrain([phase, on_drain = hooks.on_drain] {
    {
      std::lock_guard lock(phase->mu);
      phase->draining = true;
    }
    if (on_drain) on_drain();
  });
  PgSupervisor supervisor(
      cfg.db_conninfo,
      [&, phase](bool healthy) {
        if (healthy && hooks.on_first_healthy) {
          std::lock_guard lock(phase->mu);
          if (!phase->started && !phase->draining) {
            phase->started = true;
            hooks.on_first_healthy();
          }
        }
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
