// Certificate revocation for our servers: the CA's CRL (deploy/pki/revoke.sh writes it), loaded
// at start-up and again on SIGHUP, and checked against every client certificate during the
// handshake, by the gRPC servers (ServerCertificates) and the HTTPS listener alike.
//
// Mechanism: an in-process revoked set (issuer + serial) that Reload() swaps atomically, checked
// by a gRPC ExternalCertificateVerifier and by an OpenSSL verify callback. Not gRPC 1.51's
// TlsCredentialsOptions::set_crl_directory: it hands a directory to OpenSSL's hash_dir lookup,
// which caches the first CRL it reads for a hash name and only picks up a file with a higher
// suffix (.r1, .r2, ...), not a replaced one, so "reload now on SIGHUP" would depend on OpenSSL
// cache rules and file renaming; it checks nothing at start-up (a CRL from another CA, or an
// expired one, would show up only as every handshake failing); and the HTTPS listener would need
// a second mechanism anyway. Here one loader checks the file once, names it in every error, and
// both edges read the same list.
//
// Rules:
//   - No CRL path configured: no revocation checking (the service logs that at start-up).
//   - At start-up (Create/ForFiles) and at Reload the CRL must parse (PEM), be signed by a CA of
//     the CA bundle, and be current (lastUpdate <= now < nextUpdate); otherwise an error naming
//     the file. At Reload a bad CRL never replaces the one in use.
//   - A CRL that expires while the process runs stays enforced (its revocations are still true);
//     Stale() reports it, so the host can warn until an operator reissues it.
//   - Only the client certificate (the leaf) is checked: our CA issues leaves directly (pathlen:0).
//   - Our clients do not check servers' certificates against the CRL (out of scope for now).
//
// Thread-safe: every member may be called from any thread, handshakes included.
#pragma once

#include <openssl/types.h>  // X509

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/tls/tls.h"

namespace healthtwin::common {

// One loaded, checked CRL. Immutable.
class RevocationList {
 public:
  // Reads `crl_path` (PEM) and checks it against the CA bundle `ca_cert_path` at `now_unix_s`.
  // Errors: NotFound (missing/unreadable file), InvalidArgument (not a PEM CRL, no nextUpdate,
  // issuer not in the bundle, bad signature), FailedPrecondition (expired or not yet valid; the
  // message gives lastUpdate and nextUpdate). Every message names the CRL file.
  static absl::StatusOr<std::shared_ptr<const RevocationList>> Load(const std::string& crl_path,
                                                                    const std::string& ca_cert_path,
                                                                    int64_t now_unix_s);

  // True when `cert` was issued by this CRL's issuer and its serial is listed.
  bool IsRevoked(const X509* cert) const;

  const std::string& path() const { return path_; }
  const std::string& issuer() const { return issuer_; }  // One-line issuer name.
  int64_t last_update_unix_s() const { return last_update_unix_s_; }
  int64_t next_update_unix_s() const { return next_update_unix_s_; }
  size_t revoked_count() const { return revoked_serials_hex_.size(); }

 private:
  RevocationList() = default;

  std::string path_;
  std::string issuer_;
  std::string issuer_der_;  // The issuer name in DER, compared byte for byte with certificates'.
  int64_t last_update_unix_s_ = 0;
  int64_t next_update_unix_s_ = 0;
  absl::flat_hash_set<std::string> revoked_serials_hex_;  // Upper-case hex, no leading zeros.
};

class RevocationChecker {
 public:
  // The process-wide checker for files.crl_path under files.ca_cert_path: the gRPC server and
  // the HTTPS listener of one process share it, so one Reload() (SIGHUP) serves both. Loads the
  // CRL on first use (errors of RevocationList::Load); later callers get the same object while
  // anyone holds it. nullptr when files.crl_path is empty (revocation checking off).
  static absl::StatusOr<std::shared_ptr<RevocationChecker>> ForFiles(const TlsFiles& files);

  // A checker of its own (not shared), for tests. Errors of RevocationList::Load.
  static absl::StatusOr<std::shared_ptr<RevocationChecker>> Create(const TlsFiles& files);

  // Re-reads the CRL file. On error (those of RevocationList::Load) the list in use stays.
  absl::Status Reload();

  // OK, or Unauthenticated naming the certificate's subject and serial when it is revoked.
  // Calls the OnRefused observer (if any) with that status.
  absl::Status Check(const X509* cert) const;

  // The list in use.
  std::shared_ptr<const RevocationList> current() const;

  // True when the list in use is past its nextUpdate.
  bool Stale(int64_t now_unix_s) const { return current()->next_update_unix_s() <= now_unix_s; }

  // Called (from handshake threads) with the reason whenever Check refuses; for logging.
  void OnRefused(std::function<void(const absl::Status&)> observer);

 private:
  RevocationChecker() = default;

  TlsFiles files_;
  mutable std::mutex mu_;
  std::shared_ptr<const RevocationList> list_;
  std::shared_ptr<const std::function<void(const absl::Status&)>> on_refused_;
};

}  // namespace healthtwin::common
