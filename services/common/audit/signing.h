// Ed25519 keys for audit checkpoints, through OpenSSL EVP (pure Ed25519, RFC 8032).
//
// The signing key lives in the keyring as audit-signing.key (keyring_key.h loads it;
// deploy/pki/make-dev-pki.sh writes it there and the public key audit-signing.pub beside the
// PKI, for auditors). The key id is the first 16 hex digits of the
// SHA-256 of the 32-byte raw public key, so an auditor can tell which key signed what.
//
// Immutable after creation; safe to share between threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace healthtwin::common::audit {

class CheckpointKey {
 public:
  // A PEM Ed25519 private key (PKCS#8) -> a key that signs and verifies.
  static absl::StatusOr<CheckpointKey> FromPrivateKeyFile(const std::string& path);
  // The same from PEM text already read; `source` names it in errors (never the key bytes).
  static absl::StatusOr<CheckpointKey> FromPrivateKeyPem(std::string_view pem, const std::string& source);
  // A PEM Ed25519 public key (SubjectPublicKeyInfo) -> a key that only verifies.
  static absl::StatusOr<CheckpointKey> FromPublicKeyFile(const std::string& path);

  const std::string& key_id() const { return key_id_; }
  bool can_sign() const { return can_sign_; }

  // The 64-byte signature of `message`; FAILED_PRECONDITION for a public-only key.
  absl::StatusOr<std::string> Sign(std::string_view message) const;
  bool Verify(std::string_view message, std::string_view signature) const;

 private:
  static absl::StatusOr<CheckpointKey> FromFile(const std::string& path, bool is_private);
  // Takes ownership of `raw` (nullptr: the PEM did not parse).
  static absl::StatusOr<CheckpointKey> FromPem(EVP_PKEY* raw, const std::string& path, bool is_private);

  std::shared_ptr<EVP_PKEY> key_;
  std::string key_id_;
  bool can_sign_ = false;
};

}  // namespace healthtwin::common::audit
