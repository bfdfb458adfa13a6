// Revocation for servers built on a plain OpenSSL SSL_CTX (the HTTPS listener's cpp-httplib):
// a client certificate the RevocationChecker lists fails the handshake, and cannot slip back in
// by resuming a session it made before it was revoked, because OpenSSL does not verify the
// certificate again on resumption:
//   - full handshakes: a verify callback (after OpenSSL's own chain check) checks the leaf;
//   - session tickets (TLS 1.3, and TLS 1.2 clients that offer them): the ticket decryption
//     callback declines a ticket whose certificate is revoked, forcing a full handshake;
//   - the server's session-id cache (TLS 1.2 without tickets): flushed at the first ClientHello
//     after the checker's list changed (Reload).
//
// Attach() before the context accepts connections. The object must outlive the context's last
// handshake (declare it before the server that owns the SSL_CTX). Thread-safe.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <mutex>

#include "absl/status/statusor.h"
#include "services/common/tls/revocation.h"

namespace healthtwin::common {

class SslContextRevocation {
 public:
  // Installs the callbacks on `ctx`, which must already require client certificates (its
  // verify mode is kept). Internal when OpenSSL refuses the ex_data slot.
  static absl::StatusOr<std::unique_ptr<SslContextRevocation>> Attach(SSL_CTX* ctx,
                                                                      std::shared_ptr<RevocationChecker> checker);

  const RevocationChecker& checker() const { return *checker_; }

  // The callbacks' view of this object (public for them; not for callers).
  static SslContextRevocation* Of(const SSL* ssl);
  // Flushes `ctx`'s session cache when the checker's list is not the one last seen.
  void FlushSessionsIfReloaded(SSL_CTX* ctx);

 private:
  explicit SslContextRevocation(std::shared_ptr<RevocationChecker> checker) : checker_(std::move(checker)) {}

  std::shared_ptr<RevocationChecker> checker_;
  std::mutex mu_;
  std::shared_ptr<const RevocationList> seen_;  // Held, so a new list never reuses its address.
};

}  // namespace healthtwin::common
