// A KeyProvider over a directory of key files: the development and single-host keyring.
//
//   <dir>/                 mode 0700 (no group or other access)
//     active-kek           the KEK version new DEKs are wrapped under, as a decimal number
//     kek-<N>.key          KEK version N (N >= 1): 64 hex digits (256 bits), mode 0600
//     blind-index.key      the HMAC-SHA-256 key of the MRN blind index: 64 hex digits, mode 0600
//     pseudonym.key        optional: the HMAC-SHA-256 key of research pseudonyms and date shifts
//                          (clinician_api/deid.h): 64 hex digits, mode 0600. clinician_api reads
//                          only this file and audit-signing.key (pseudonym_keyring.h), so its
//                          keyring need hold no KEK.
//     audit-signing.key    optional: the Ed25519 key that signs audit checkpoints, a PEM private
//                          key (PKCS#8), mode 0600; absent: this keyring cannot sign checkpoints.
//                          Not read by Create(): services/common/audit/keyring_key.h loads it
//                          through ReadOptionalKeyringFile below, so services that only sign
//                          checkpoints need no KEKs.
//
// The active version is the explicit `active-kek` marker, never "the highest number present":
// an operator can stage kek-3.key before switching to it, and a stray file cannot silently
// become the key everything is wrapped under. Rotation (README.md): add kek-<N+1>.key, write
// N+1 to active-kek, restart or reload, then `healthtwin admin keys rotate` rewraps the DEKs.
//
// Every file is read once, in Create(). Refused, with the file and what is wrong named: a key
// file whose mode is not 0600, a directory open to group or others, a key that is not exactly
// 64 hex digits (a trailing newline is allowed), a missing active-kek or a missing key file for
// the active version. Key bytes are never put in a message or a log.
//
// Immutable after creation; safe to share between threads. Key material is wiped on
// destruction.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/common/crypto/key_provider.h"

namespace healthtwin::common::crypto {

// The file `name` in keyring directory `dir`, under the checks Create() applies: the directory
// gives group and others no access, the file is a regular file of mode 0600. nullopt when the
// file does not exist. The error names the path and what is wrong, never the contents.
absl::StatusOr<std::optional<std::string>> ReadOptionalKeyringFile(const std::string& dir, const std::string& name);

// The 256-bit key file `name` of keyring `dir` as its 32 key bytes, under the checks Create()
// applies to every key file (the directory and mode checks above, exactly 64 hex digits and an
// optional newline); nullopt when the file does not exist. For loaders that read one key
// without the KEKs (pseudonym_keyring.h).
absl::StatusOr<std::optional<std::string>> ReadOptionalKeyringKey(const std::string& dir, const std::string& name);

class FileKeyring final : public KeyProvider {
 public:
  static absl::StatusOr<std::unique_ptr<FileKeyring>> Create(const std::string& dir);
  ~FileKeyring() override;

  uint32_t ActiveKekVersion() const override { return active_kek_version_; }
  absl::StatusOr<std::string> WrapKey(uint32_t kek_version, std::string_view dek,
                                      std::string_view context) const override;
  absl::StatusOr<std::string> UnwrapKey(uint32_t kek_version, std::string_view wrapped,
                                        std::string_view context) const override;
  absl::StatusOr<std::string> BlindIndexMac(std::string_view message) const override;
  // FAILED_PRECONDITION naming the file when the keyring has no pseudonym.key.
  absl::StatusOr<std::string> PseudonymMac(std::string_view message) const override;

  // The KEK versions present, ascending ("1, 2").
  std::string KekVersions() const;

 private:
  FileKeyring() = default;
  absl::StatusOr<std::string_view> Kek(uint32_t version) const;

  std::string dir_;
  uint32_t active_kek_version_ = 0;
  std::map<uint32_t, std::string> keks_;
  std::string blind_index_key_;
  std::string pseudonym_key_;  // empty: no pseudonym.key
};

}  // namespace healthtwin::common::crypto
