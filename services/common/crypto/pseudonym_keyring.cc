#include "services/common/crypto/pseudonym_keyring.h"

#include <openssl/crypto.h>

#include <filesystem>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/common/crypto/file_keyring.h"
#include "services/common/crypto/hmac.h"

namespace healthtwin::common::crypto {

absl::StatusOr<std::unique_ptr<PseudonymKeyring>> PseudonymKeyring::Load(const std::string& dir) {
  absl::StatusOr<std::optional<std::string>> key = ReadOptionalKeyringKey(dir, kPseudonymKeyFile);
  if (!key.ok()) return key.status();
  if (!key->has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("keyring file '", (std::filesystem::path(dir) / kPseudonymKeyFile).string(),
                     "' does not exist; it is the research pseudonym key (64 hex digits, mode 0600)"));
  }
  std::unique_ptr<PseudonymKeyring> ring(new PseudonymKeyring());
  ring->dir_ = dir;
  ring->key_ = **std::move(key);
  OPENSSL_cleanse((*key)->data(), (*key)->size());
  return ring;
}

PseudonymKeyring::~PseudonymKeyring() { OPENSSL_cleanse(key_.data(), key_.size()); }

absl::Status PseudonymKeyring::NoDataKeys(const char* what) const {
  return absl::FailedPreconditionError(
      absl::StrCat("the pseudonym keyring '", dir_, "' holds no ", what, " (only pseudonym.key is read from it)"));
}

absl::StatusOr<std::string> PseudonymKeyring::WrapKey(uint32_t, std::string_view, std::string_view) const {
  return NoDataKeys("KEK");
}

absl::StatusOr<std::string> PseudonymKeyring::UnwrapKey(uint32_t, std::string_view, std::string_view) const {
  return NoDataKeys("KEK");
}

absl::StatusOr<std::string> PseudonymKeyring::BlindIndexMac(std::string_view) const {
  return NoDataKeys("blind-index key");
}

absl::StatusOr<std::string> PseudonymKeyring::PseudonymMac(std::string_view message) const {
  return HmacSha256(key_, message);
}

}  // namespace healthtwin::common::crypto
