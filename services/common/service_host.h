// Runs one gRPC server the way every healthtwin service needs it: mutual TLS only,
// grpc.health.v1 health checking (open to any certificate from the CA, for probes), server
// reflection (admin and service certificates only), a port file for tests and the demo, a
// graceful drain on SIGTERM/SIGINT, and certificate reload on SIGHUP.
//
// Certificate lifetime: at start, on every reload and hourly while waiting for signals the
// host compares the served certificate's notAfter with cfg.tls_expiry_warning_days. Inside
// that window it logs the warning `tls.certificate_expiring` (days_left, not_after, subject)
// and reports the health service name "healthtwin.tls" as NOT_SERVING; outside it,
// "healthtwin.tls" is SERVING. The server's own status ("" and each service) never depends
// on it: an expiring certificate still works, and load balancers must not drop the replica.
//
// Revocation: with cfg.tls.crl_path set, client certificates the CRL lists are refused at the
// handshake (logged as tls.revoked_client_refused); SIGHUP reloads the CRL with the certificate
// (a bad CRL keeps the old one; tls.reload_failed); a CRL past its nextUpdate keeps being
// enforced and is logged as tls.crl_stale at each expiry check. Without a CRL the host logs
// tls.revocation_off at start.
//
// Usage in main():
//   BlockShutdownSignals();                 // before any thread exists
//   auto host = ServiceHost::Start(cfg, {&svc_a, &svc_b});
//   host->SetServing(true);                 // once dependencies are up
//   host->WaitForShutdownSignal();          // drains and returns
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "services/common/config.h"
#include "services/common/tls/server_certificates.h"

namespace healthtwin::common {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread, and so in every thread it creates
// later, so that WaitForShutdownSignal() receives them synchronously.
void BlockShutdownSignals();

// Writes `port` and a newline to `path` through a rename, so a reader never sees half a file
// (the port files of tests and the demo).
absl::Status WritePortFile(const std::string& path, int port);

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

  // Sets grpc.health.v1 status for the whole server and each registered service (not
  // "healthtwin.tls", which follows the certificate).
  void SetServing(bool serving);

  // Sets the grpc.health.v1 status of `name`, a part of the service with a health of its own
  // (ReadReplica::kHealthService). SetServing() leaves it as last set here: the server keeps
  // serving while such a part is degraded.
  void SetComponentServing(const std::string& name, bool serving);

  // Re-reads cfg.tls (what SIGHUP does). On success new connections get the new certificate
  // within about a second; on error the old one stays in use and the error is returned and
  // logged as tls.reload_failed. Either way the expiry check runs again.
  absl::Status ReloadTls();

  // The grpc.health.v1 service name that reports certificate expiry.
  static constexpr char kTlsHealthService[] = "healthtwin.tls";

  // Called at the start of a drain, before in-flight calls are cancelled: long-lived streams
  // should finish here so clients see a clean end.
  void OnDrain(std::function<void()> fn) { on_drain_ = std::move(fn); }

  // Blocks until SIGTERM or SIGINT, then Shutdown(). SIGHUP meanwhile calls ReloadTls().
  void WaitForShutdownSignal();

  // Stops accepting calls, reports NOT_SERVING, gives in-flight calls up to
  // drain_timeout_s to finish, then cancels the rest. Idempotent.
  void Shutdown();

 private:
  ServiceHost() = default;
  // Logs and publishes (healthtwin.tls) how long the served certificate has left.
  void CheckCertificateExpiry();

  ServiceConfig cfg_;
  std::unique_ptr<ServerCertificates> certificates_;
  std::mutex health_mu_;  // Orders SetServing against the healthtwin.tls update.
  bool tls_ok_ = true;
  std::map<std::string, bool> components_;  // SetComponentServing's, under health_mu_
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::string> service_names_;
  std::function<void()> on_drain_;
  int port_ = 0;
  bool shut_down_ = false;
};

}  // namespace healthtwin::common
