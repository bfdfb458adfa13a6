// The whole life of a service process after its objects are built: serve over mutual TLS,
// keep PostgreSQL supervised (health follows it; a schema other than this build's exits 2),
// run `on_first_healthy` once the schema is in place, and drain on SIGTERM/SIGINT.
#pragma once

#include <functional>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "services/common/config.h"

namespace healthtwin::common {

struct RunHooks {
  std::function<void()> on_first_healthy;
  std::function<void()> on_drain;
};

// Returns the process exit code: 0 after a signal-driven drain, 2 when the server cannot start.
int RunService(const ServiceConfig& cfg, const std::vector<grpc::Service*>& services, RunHooks hooks = {});

}  // namespace healthtwin::common
