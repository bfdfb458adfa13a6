// AES-256-GCM (NIST SP 800-38D) through OpenSSL EVP, with a fresh random 96-bit IV per call
// (RAND_bytes). Sealed form: IV (12 bytes) || ciphertext || tag (16 bytes).
//
// Random 96-bit IVs are safe up to 2^32 encryptions under one key (SP 800-38D section 8.3);
// a DEK encrypts a handful of fields per patient and a KEK wraps one DEK per patient, far
// below that.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace healthtwin::common::crypto {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kGcmIvBytes = 12;
inline constexpr size_t kGcmTagBytes = 16;

// `key` must be kKeyBytes long (INVALID_ARGUMENT otherwise).
absl::StatusOr<std::string> AesGcmSeal(std::string_view key, std::string_view plaintext, std::string_view aad);

// DATA_LOSS when the tag does not verify (any flipped bit of IV, ciphertext or tag, or other
// AAD); INVALID_ARGUMENT when `sealed` is shorter than an IV and a tag.
absl::StatusOr<std::string> AesGcmOpen(std::string_view key, std::string_view sealed, std::string_view aad);

// 32 bytes from RAND_bytes; INTERNAL if the generator fails.
absl::StatusOr<std::string> RandomKey();

// Big-endian 4-byte integer, and a 4-byte big-endian length followed by the bytes: the pieces
// of every AAD and context string, so that no two different field lists serialise alike.
void AppendU32(std::string& out, uint32_t v);
void AppendLengthPrefixed(std::string& out, std::string_view s);

}  // namespace healthtwin::common::crypto
