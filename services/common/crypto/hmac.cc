#include "services/common/crypto/hmac.h"

#include <openssl/evp.h>

#include "absl/status/status.h"

namespace healthtwin::common::crypto {

absl::StatusOr<std::string> HmacSha256(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t mac_len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, sizeof mac,
                &mac_len) == nullptr) {
    return absl::InternalError("HMAC-SHA-256 failed");
  }
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

}  // namespace healthtwin::common::crypto
