// The HTTPS listener of healthtwin-clinician-api, next to its gRPC port: cpp-httplib's
// SSLServer with mutual TLS required (the same CA, certificate and key as the gRPC server), so
// an unauthenticated peer never reaches the HTTP parser (Debian's cpp-httplib 0.11.4 lacks
// later upstream parser fixes; ../shared/notes/dashboard-stack.md).
//
// Bounds: a fixed pool of worker threads behind a bounded accept queue (when it is full the
// accept loop waits, so further connections wait in the kernel backlog instead of in memory),
// a request body limit (413), read/write timeouts and a keep-alive limit, so a slow or idle
// client holds a worker for a bounded time only.
//
// Session resumption: with client-certificate verification OpenSSL refuses to resume a session
// unless the context has a session id context; browsers then fail every reconnect. Start()
// sets one (regression test: fhir_api_integration_test, two `Connection: close` requests).
//
// Revocation: with tls.crl_path set, a client certificate the CRL lists fails the handshake
// and cannot resume a session from before its revocation (common::SslContextRevocation over the
// process-wide common::RevocationChecker, which the gRPC server's SIGHUP reload refreshes).
// Start() refuses a bad CRL like a bad certificate.
//
// Thread safety: Start/Stop from one thread; handlers run on the worker threads.
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "services/common/access.h"
#include "services/common/tls/ssl_ctx_revocation.h"
#include "services/common/tls/tls.h"

namespace healthtwin::clinician {

struct HttpsOptions {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: the kernel picks one (tests, demo)
  // Each open connection (keep-alive included) holds a worker for its lifetime.
  std::size_t workers = 8;
  // Accepted connections waiting for a worker before the accept loop waits.
  std::size_t max_queued = 64;
  // FHIR reads carry no body; 64 KiB leaves room for the dashboard's small forms.
  std::size_t max_body_bytes = 64 * 1024;
  int read_timeout_s = 5;
  int write_timeout_s = 5;
  int keep_alive_timeout_s = 5;
  std::size_t keep_alive_max_requests = 100;
};

class HttpsListener {
 public:
  // Validates the TLS files (errors of common::LoadTlsMaterial, naming the file), binds and
  // starts serving on a thread of its own. `routes` registers handlers on the server before
  // it accepts anything. Unavailable when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpsListener>> Start(const common::TlsFiles& tls, const HttpsOptions& options,
                                                              const std::function<void(httplib::Server&)>& routes);
  ~HttpsListener();

  int port() const { return port_; }

  // Stops accepting, lets requests in flight finish (a keep-alive connection ends after its
  // current request), and joins every thread. Idempotent.
  void Stop();

  // The verified client of `req`, derived exactly as the gRPC edge derives it
  // (common::PeerIdentityFromCertificate).
  static absl::StatusOr<common::PeerIdentity> PeerOf(const httplib::Request& req);
  // PeerOf as the domain layer's Caller, its peer address "https:<ip>:<port>".
  static absl::StatusOr<common::Caller> CallerOf(const httplib::Request& req);
  // The message of an exception a handler threw (for the exception handlers of the APIs).
  static std::string ExceptionMessage(std::exception_ptr ep);

 private:
  HttpsListener() = default;

  // Declared before server_ so it outlives the TLS context that points at it.
  std::unique_ptr<common::SslContextRevocation> revocation_;  // Null when no CRL is configured.
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
  int port_ = 0;
};

}  // namespace healthtwin::clinician
