// The whole life of a service process after its objects are built: serve over mutual TLS,
// keep PostgreSQL supervised (health follows it; a schema other than this build's exits 2),
// run `on_first_healthy` once the schema is in place, and drain on SIGTERM/SIGINT.
#pragma once

#include <functional>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "services/common/config.h"

namespace healthtwin::common {

class ServiceHost;

struct RunHooks {
  std::function<void()> on_first_healthy;
  std::function<void()> on_drain;
  // Once the server listens, before PostgreSQL is supervised: e.g. to start a monitor that
  // reports a health of its own (ServiceHost::SetComponentServing). It must stop reporting by
  // the end of on_drain, since the host goes away after the drain.
  std::function<void(ServiceHost&)> on_started = {};
};

// Returns the process exit code: 0 after a signal-driven drain, 2 when the server cannot start.
int RunService(const ServiceConfig& cfg, const std::vector<grpc::Service*>& services, RunHooks hooks = {});

}  // namespace healthtwin::common
