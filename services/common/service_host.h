// Runs one gRPC server the way every healthtwin service needs it: mutual TLS only,
// grpc.health.v1 health checking (open to any certificate from the CA, for probes), server
// reflection (admin and service certificates only), a port file for tests and the demo,
// and a graceful drain on SIGTERM/SIGINT.
//
// Usage in main():
//   BlockShutdownSignals();                 // before any thread exists
//   auto host = ServiceHost::Start(cfg, {&svc_a, &svc_b});
//   host->SetServing(true);                 // once dependencies are up
//   host->WaitForShutdownSignal();          // drains and returns
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "services/common/config.h"

namespace healthtwin::common {

// Blocks SIGTERM and SIGINT in the calling thread, and so in every thread it creates later,
// so that WaitForShutdownSignal() receives them synchronously.
void BlockShutdownSignals();

class ServiceHost {
 public:
  // Builds the server, binds cfg.listen_address with mutual TLS and starts serving. Health
  // starts as NOT_SERVING. Services are not owned and must outlive the host. Fails with
  // NotFound/InvalidArgument for bad TLS files and Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<ServiceHost>> Start(const ServiceConfig& cfg,
                                                            const std::vector<grpc::Service*>& services);
  ~ServiceHost();

  int port() const { return port_; }
  grpc::Server* server() { return server_.get(); }

  // Sets grpc.health.v1 status for the whole server and each registered service.
  void SetServing(bool serving);

  // Called at the start of a drain, before in-flight calls are cancelled: long-lived streams
  // should finish here so clients see a clean end.
  void OnDrain(std::function<void()> fn) { on_drain_ = std::move(fn); }

  // Blocks until SIGTERM or SIGINT, then Shutdown().
  void WaitForShutdownSignal();

  // Stops accepting calls, reports NOT_SERVING, gives in-flight calls up to
  // drain_timeout_s to finish, then cancels the rest. Idempotent.
  void Shutdown();

 private:
  ServiceHost() = default;

  ServiceConfig cfg_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::string> service_names_;
  std::function<void()> on_drain_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace healthtwin::common
