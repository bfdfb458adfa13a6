#include "services/common/tls/ssl_ctx_revocation.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <utility>

namespace healthtwin::common {
namespace {

int ExIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// OpenSSL's chain verification first, then the CRL for the client's own certificate (depth 0),
// so a revoked certificate fails the handshake like an unverified one.
int VerifyNotRevoked(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok != 1 || X509_STORE_CTX_get_error_depth(store) != 0) return preverify_ok;
  const auto* ssl = static_cast<const SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  SslContextRevocation* revocation = SslContextRevocation::Of(ssl);
  if (revocation == nullptr || revocation->checker().Check(X509_STORE_CTX_get_current_cert(store)).ok()) return 1;
  X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REVOKED);
  return 0;
}

int OnClientHello(SSL* ssl, int* /*alert*/, void* arg) {
  static_cast<SslContextRevocation*>(arg)->FlushSessionsIfReloaded(SSL_get_SSL_CTX(ssl));
  return SSL_CLIENT_HELLO_SUCCESS;
}

// The mapping SSL_CTX_set_session_ticket_cb(3) documents as OpenSSL's default, except that a
// ticket of a revoked certificate is ignored (full handshake, where VerifyNotRevoked refuses).
SSL_TICKET_RETURN OnTicket(SSL* /*ssl*/, SSL_SESSION* session, const unsigned char* /*key_name*/,
                           size_t /*key_name_len*/, SSL_TICKET_STATUS status, void* arg) {
  switch (status) {
    case SSL_TICKET_FATAL_ERR_MALLOC:
    case SSL_TICKET_FATAL_ERR_OTHER:
      return SSL_TICKET_RETURN_ABORT;
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW: {
      const auto* revocation = static_cast<const SslContextRevocation*>(arg);
      if (session != nullptr && !revocation->checker().Check(SSL_SESSION_get0_peer(session)).ok()) {
        return SSL_TICKET_RETURN_IGNORE;
      }
      return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
    }
    default:  // SSL_TICKET_NO_DECRYPT, SSL_TICKET_EMPTY, SSL_TICKET_NONE
      return SSL_TICKET_RETURN_IGNORE_RENEW;
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<SslContextRevocation>> SslContextRevocation::Attach(
    SSL_CTX* ctx, std::shared_ptr<RevocationChecker> checker) {
  std::unique_ptr<SslContextRevocation> revocation(new SslContextRevocation(std::move(checker)));
  revocation->seen_ = revocation->checker_->current();
  if (ExIndex() < 0 || SSL_CTX_set_ex_data(ctx, ExIndex(), revocation.get()) != 1 ||
      SSL_CTX_set_session_ticket_cb(ctx, nullptr, &OnTicket, revocation.get()) != 1) {
    return absl::InternalError("cannot attach the CRL checker to the TLS context");
  }
  SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), &VerifyNotRevoked);
  SSL_CTX_set_client_hello_cb(ctx, &OnClientHello, revocation.get());
  return revocation;
}

SslContextRevocation* SslContextRevocation::Of(const SSL* ssl) {
  if (ssl == nullptr || ExIndex() < 0) return nullptr;
  return static_cast<SslContextRevocation*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ExIndex()));
}

void SslContextRevocation::FlushSessionsIfReloaded(SSL_CTX* ctx) {
  std::shared_ptr<const RevocationList> current = checker_->current();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (current == seen_) return;
    seen_ = std::move(current);
  }
  SSL_CTX_flush_sessions(ctx, 0);  // 0: every cached session, expired or not.
}

}  // namespace healthtwin::common
