// The server side of mutual TLS with certificates that can be replaced while the server runs.
//
// An operator renews a certificate by replacing the files named in TlsFiles and sending the
// process SIGHUP (ServiceHost calls Reload()). Reload() checks the new files exactly as start-up
// does (LoadTlsMaterial); only files that pass are published, so a half-copied or expired
// certificate never replaces a working one.
//
// Mechanism (gRPC 1.51 has no "reload now" call): the server credentials are gRPC's
// TlsServerCredentials over a FileWatcherCertificateProvider that watches a private staged
// copy of the three files: memory files (memfd) this process holds open, watched through
// /proc/self/fd/N, so the key is not copied to disk and nothing outlives the process, even a
// killed one. Reload() swaps new content in; gRPC re-reads it once a second, so handshakes
// that start about a second after Reload() returns use the new certificate. Connections
// already open keep the certificate they were made with. Watching the operator's files
// directly would pick up a renewal half-copied and without the checks, and on a timer rather
// than when the operator says so.
//
// Revocation: when TlsFiles::crl_path is set, a client certificate the CRL lists is refused
// during the handshake (gRPC ExternalCertificateVerifier over the process-wide
// RevocationChecker; see revocation.h for why not set_crl_directory), and Reload() re-reads
// the CRL too. The client sees UNAVAILABLE; the checker's OnRefused observer gets the reason.
//
// Thread-safe: Reload() and the accessors may be called from any thread.
#pragma once

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "services/common/tls/revocation.h"
#include "services/common/tls/tls.h"

namespace healthtwin::common {

// What the served certificate says about itself, for logs and expiry warnings.
struct CertificateInfo {
  std::string subject;     // One-line subject, e.g. "/O=healthtwin/OU=service/CN=ingest".
  std::string serial_hex;  // Upper-case hex, as `openssl x509 -serial` prints it.
  int64_t not_after_unix_s = 0;
};

// The leaf (first) certificate of a PEM chain. InvalidArgument if it does not parse.
absl::StatusOr<CertificateInfo> DescribeCertificate(const std::string& cert_pem);

// Whole days from `now_unix_s` until the certificate expires, rounded down (negative once
// expired).
int64_t DaysLeft(const CertificateInfo& cert, int64_t now_unix_s);

class ServerCertificates {
 public:
  // Loads and checks `files` (errors as LoadTlsMaterial), stages them and builds the
  // credentials. Internal when the memory files cannot be made.
  static absl::StatusOr<std::unique_ptr<ServerCertificates>> Create(const TlsFiles& files);
  ~ServerCertificates();
  ServerCertificates(const ServerCertificates&) = delete;
  ServerCertificates& operator=(const ServerCertificates&) = delete;

  // Demands a client certificate and verifies it against the CA bundle during the handshake.
  // Valid for the lifetime of this object.
  std::shared_ptr<grpc::ServerCredentials> credentials() const { return credentials_; }

  // Re-reads the files given to Create(): the certificate, key and CA bundle, and the CRL when
  // one is configured. Each applies on its own when it passes its checks: new handshakes use a
  // good certificate within about a second and a good CRL at once; a bad one (errors of
  // LoadTlsMaterial, RevocationList::Load) leaves its predecessor in use. Returns the first
  // error, or OK when everything was replaced.
  absl::Status Reload();

  // The CRL checker in use, shared with the process's HTTPS listener; null when
  // TlsFiles::crl_path is empty.
  const std::shared_ptr<RevocationChecker>& revocation() const { return revocation_; }

  // The certificate most recently published.
  CertificateInfo current() const;

 private:
  ServerCertificates() = default;
  absl::Status Publish(const TlsMaterial& material);

  // Indexes into fds_, in the order Publish() writes them.
  enum : int { kCa = 0, kKey = 1, kCert = 2, kFiles = 3 };

  TlsFiles files_;
  int fds_[kFiles] = {-1, -1, -1};  // The watched memory files; numbers fixed after Create().
  std::shared_ptr<RevocationChecker> revocation_;
  std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> provider_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;
  mutable std::mutex mu_;
  CertificateInfo current_;
  int64_t published_mtime_s_ = 0;
};

}  // namespace healthtwin::common
