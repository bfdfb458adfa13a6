#include "services/common/audit/keyring_key.h"

#include <openssl/crypto.h>

#include <filesystem>
#include <optional>

#include "services/common/crypto/file_keyring.h"

namespace healthtwin::common::audit {

absl::StatusOr<std::shared_ptr<const CheckpointKey>> CheckpointKeyFromKeyring(const std::string& dir) {
  absl::StatusOr<std::optional<std::string>> pem = crypto::ReadOptionalKeyringFile(dir, kKeyringCheckpointKeyFile);
  if (!pem.ok()) return pem.status();
  if (!pem->has_value()) return std::shared_ptr<const CheckpointKey>();
  const std::string source = "keyring file '" + (std::filesystem::path(dir) / kKeyringCheckpointKeyFile).string() + "'";
  absl::StatusOr<CheckpointKey> key = CheckpointKey::FromPrivateKeyPem(**pem, source);
  OPENSSL_cleanse((*pem)->data(), (*pem)->size());
  if (!key.ok()) return key.status();
  return std::make_shared<const CheckpointKey>(*std::move(key));
}

}  // namespace healthtwin::common::audit
