// The audit checkpoint signing key, read from a keyring directory (services/common/crypto,
// file_keyring.h): `<dir>/audit-signing.key`, a PEM Ed25519 private key, mode 0600, in a
// directory that gives group and others no access. The key is optional: a keyring without it
// cannot sign checkpoints, and the caller decides whether that is an error.
//
// A KMS or HSM deployment would sign inside the device instead; CheckpointKey is the one place
// that signs (signing.h), so such a provider replaces this loader and that class only.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/common/audit/signing.h"

namespace healthtwin::common::audit {

inline constexpr char kKeyringCheckpointKeyFile[] = "audit-signing.key";

// The signing key of keyring `dir`; nullptr when the keyring holds no audit-signing.key. Errors
// name the directory or file and what is wrong: a missing or open directory, a file whose mode
// is not 0600, a file that is not a PEM Ed25519 private key.
absl::StatusOr<std::shared_ptr<const CheckpointKey>> CheckpointKeyFromKeyring(const std::string& dir);

}  // namespace healthtwin::common::audit
