// Envelope encryption of a patient's identifying fields: one data key (DEK, 256 bits from
// RAND_bytes) per patient, wrapped by a versioned KEK through a KeyProvider, and each field
// sealed with AES-256-GCM under the DEK. README.md beside this file documents the formats.
//
// Field ciphertext, format 1:
//   0x01 || dek_version (uint32, big-endian) || IV (12) || AES-256-GCM ciphertext || tag (16)
// authenticated with
//   "healthtwin-field" 0x00 || 0x01 || dek_version || lp(table) || lp(column) || lp(patient_id)
// where lp(x) is a 4-byte big-endian length and x. A ciphertext moved to another patient's row,
// another column or table, or relabelled with another version fails to decrypt (DATA_LOSS,
// naming the table, column and patient but never the value).
//
// The DEK is wrapped with context
//   "healthtwin-dek" 0x00 || 0x01 || kek_version || dek_version || lp(patient_id)
// so a wrapped DEK copied to another patient's row does not unwrap either.
//
// A DataKey is immutable and may be shared between threads; its bytes are wiped when it dies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/common/crypto/key_provider.h"

namespace healthtwin::common::crypto {

inline constexpr uint8_t kFieldFormatV1 = 0x01;

// A patient's DEK as stored: wrapped under KEK `kek_version`.
struct WrappedDataKey {
  std::string patient_id;
  uint32_t dek_version = 0;
  uint32_t kek_version = 0;
  std::string wrapped;
};

class DataKey {
 public:
  // A fresh random DEK for `patient_id`.
  static absl::StatusOr<DataKey> Generate(std::string patient_id, uint32_t dek_version);
  // Unwraps through `keys`; DATA_LOSS if `wrapped` was tampered with or belongs to another
  // patient or version, NOT_FOUND if its KEK version is not in the provider.
  static absl::StatusOr<DataKey> Unwrap(const KeyProvider& keys, const WrappedDataKey& wrapped);
  // For tests and providers: a DEK from its 32 raw bytes.
  static absl::StatusOr<DataKey> FromRaw(std::string patient_id, uint32_t dek_version, std::string raw);

  DataKey(DataKey&&) noexcept;
  DataKey& operator=(DataKey&&) noexcept;
  DataKey(const DataKey&) = delete;
  DataKey& operator=(const DataKey&) = delete;
  ~DataKey();

  absl::StatusOr<WrappedDataKey> Wrap(const KeyProvider& keys, uint32_t kek_version) const;

  absl::StatusOr<std::string> Encrypt(std::string_view table, std::string_view column,
                                      std::string_view plaintext) const;
  // INVALID_ARGUMENT for an unknown format or a truncated ciphertext, FAILED_PRECONDITION when
  // the ciphertext is under another DEK version, DATA_LOSS when it does not authenticate.
  absl::StatusOr<std::string> Decrypt(std::string_view table, std::string_view column,
                                      std::string_view ciphertext) const;

  const std::string& patient_id() const { return patient_id_; }
  uint32_t dek_version() const { return dek_version_; }

 private:
  DataKey(std::string patient_id, uint32_t dek_version, std::string raw);

  std::string patient_id_;
  uint32_t dek_version_;
  std::string raw_;
};

// The DEK version a field ciphertext names (its bytes 1..4); INVALID_ARGUMENT if it is not a
// format-1 ciphertext.
absl::StatusOr<uint32_t> FieldDekVersion(std::string_view ciphertext);

}  // namespace healthtwin::common::crypto
