// The research pseudonym key alone, read from a keyring directory (file_keyring.h): what
// clinician_api needs for de-identified research (clinician_api/research.h), without the KEKs
// and the blind-index key that FileKeyring::Create reads. A compromised clinician_api process
// then holds no key that unwraps a patient's data key or finds a patient by MRN.
//
// Load(dir) reads <dir>/pseudonym.key, and only that file, under the checks FileKeyring applies
// to every key file: the directory gives group and others no access, the file is a regular file
// of mode 0600 holding exactly 64 hex digits (a trailing newline allowed). So a directory with
// only pseudonym.key and audit-signing.key (audit/keyring_key.h) is a complete clinician_api
// keyring. Refused, the error naming the file: a missing pseudonym.key (FAILED_PRECONDITION),
// a wrong mode (PERMISSION_DENIED), a wrong length or non-hex text (INVALID_ARGUMENT, the length
// only, never the key).
//
// As a KeyProvider it computes PseudonymMac only. WrapKey, UnwrapKey and BlindIndexMac are
// FAILED_PRECONDITION (it holds no KEK and no blind-index key) and ActiveKekVersion is 0.
// Immutable after Load; safe to share between threads. The key is wiped on destruction.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/common/crypto/key_provider.h"

namespace healthtwin::common::crypto {

inline constexpr char kPseudonymKeyFile[] = "pseudonym.key";

class PseudonymKeyring final : public KeyProvider {
 public:
  static absl::StatusOr<std::unique_ptr<PseudonymKeyring>> Load(const std::string& dir);
  ~PseudonymKeyring() override;

  uint32_t ActiveKekVersion() const override { return 0; }
  absl::StatusOr<std::string> WrapKey(uint32_t kek_version, std::string_view dek,
                                      std::string_view context) const override;
  absl::StatusOr<std::string> UnwrapKey(uint32_t kek_version, std::string_view wrapped,
                                        std::string_view context) const override;
  absl::StatusOr<std::string> BlindIndexMac(std::string_view message) const override;
  absl::StatusOr<std::string> PseudonymMac(std::string_view message) const override;

 private:
  PseudonymKeyring() = default;
  absl::Status NoDataKeys(const char* what) const;

  std::string dir_;
  std::string key_;
};

}  // namespace healthtwin::common::crypto
