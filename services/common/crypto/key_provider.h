// Where keys live, behind one small interface, so that a KMS, an HSM or a PKCS#11 token can
// replace the file keyring (file_keyring.h) without touching the envelope code.
//
// The interface never hands out a key-encryption key (KEK) or the blind-index key: callers ask
// the provider to wrap or unwrap a data key (DEK) and to compute a MAC, which is what a KMS
// (Encrypt/Decrypt with an encryption context, GenerateMac) or a PKCS#11 token (C_WrapKey,
// C_UnwrapKey, C_Sign with CKM_SHA256_HMAC) offers. Only unwrapped DEKs reach process memory.
//
// Implementations must be safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace healthtwin::common::crypto {

class KeyProvider {
 public:
  virtual ~KeyProvider() = default;

  // The KEK version new DEKs are wrapped under. Explicit in the provider's configuration, never
  // inferred from which versions exist.
  virtual uint32_t ActiveKekVersion() const = 0;

  // Encrypts the DEK `dek` under KEK `kek_version`, authenticating `context` (which the
  // caller must present again to unwrap). NOT_FOUND for a version the provider lacks.
  virtual absl::StatusOr<std::string> WrapKey(uint32_t kek_version, std::string_view dek,
                                              std::string_view context) const = 0;

  // The inverse of WrapKey. NOT_FOUND for a missing version; DATA_LOSS when `wrapped` or
  // `context` is not what was wrapped (tampered, or a wrapped key moved to another row).
  virtual absl::StatusOr<std::string> UnwrapKey(uint32_t kek_version, std::string_view wrapped,
                                                std::string_view context) const = 0;

  // HMAC-SHA-256 of `message` under the blind-index key (32 bytes).
  virtual absl::StatusOr<std::string> BlindIndexMac(std::string_view message) const = 0;

  // HMAC-SHA-256 of `message` under the research pseudonym key (32 bytes), a key of its own,
  // never the blind-index key (clinician_api/deid.h). FAILED_PRECONDITION when the provider
  // has none.
  virtual absl::StatusOr<std::string> PseudonymMac(std::string_view message) const {
    (void)message;
    return absl::FailedPreconditionError("this key provider holds no research pseudonym key");
  }
};

}  // namespace healthtwin::common::crypto
