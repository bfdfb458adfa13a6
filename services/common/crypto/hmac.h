// HMAC-SHA-256 through OpenSSL EVP (EVP_Q_mac): the MAC of the blind index and of research
// pseudonyms, shared by the key providers that hold those keys.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace healthtwin::common::crypto {

// HMAC-SHA-256 of `message` under `key`: 32 bytes. INTERNAL only if OpenSSL fails.
absl::StatusOr<std::string> HmacSha256(std::string_view key, std::string_view message);

}  // namespace healthtwin::common::crypto
