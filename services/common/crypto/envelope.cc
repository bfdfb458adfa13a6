#include "services/common/crypto/envelope.h"

#include <openssl/crypto.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "services/common/crypto/aes_gcm.h"

namespace healthtwin::common::crypto {
namespace {

constexpr size_t kFieldHeaderBytes = 1 + 4;

// label 0x00 || format || u32(version): how every context and AAD begins, so a wrap context can
// never be read as a field AAD or the reverse.
std::string ContextStart(std::string_view label, uint32_t version) {
  std::string out(label);
  out.push_back('\0');
  out.push_back(static_cast<char>(kFieldFormatV1));
  AppendU32(out, version);
  return out;
}

std::string WrapContext(std::string_view patient_id, uint32_t kek_version, uint32_t dek_version) {
  std::string context = ContextStart("healthtwin-dek", kek_version);
  AppendU32(context, dek_version);
  AppendLengthPrefixed(context, patient_id);
  return context;
}

std::string FieldAad(std::string_view table, std::string_view column, std::string_view patient_id,
                     uint32_t dek_version) {
  std::string aad = ContextStart("healthtwin-field", dek_version);
  for (std::string_view part : {table, column, patient_id}) AppendLengthPrefixed(aad, part);
  return aad;
}

}  // namespace

DataKey::DataKey(std::string patient_id, uint32_t dek_version, std::string raw)
    : patient_id_(std::move(patient_id)), dek_version_(dek_version), raw_(std::move(raw)) {}

DataKey::DataKey(DataKey&& other) noexcept
    : patient_id_(std::move(other.patient_id_)), dek_version_(other.dek_version_), raw_(std::move(other.raw_)) {
  OPENSSL_cleanse(other.raw_.data(), other.raw_.size());
  other.raw_.clear();
}

DataKey& DataKey::operator=(DataKey&& other) noexcept {
  if (this != &other) {
    OPENSSL_cleanse(raw_.data(), raw_.size());
    patient_id_ = std::move(other.patient_id_);
    dek_version_ = other.dek_version_;
    raw_ = std::move(other.raw_);
    OPENSSL_cleanse(other.raw_.data(), other.raw_.size());
    other.raw_.clear();
  }
  return *this;
}

DataKey::~DataKey() { OPENSSL_cleanse(raw_.data(), raw_.size()); }

absl::StatusOr<DataKey> DataKey::Generate(std::string patient_id, uint32_t dek_version) {
  absl::StatusOr<std::string> raw = RandomKey();
  if (!raw.ok()) return raw.status();
  return FromRaw(std::move(patient_id), dek_version, *std::move(raw));
}

absl::StatusOr<DataKey> DataKey::FromRaw(std::string patient_id, uint32_t dek_version, std::string raw) {
  if (raw.size() != kKeyBytes) return absl::InvalidArgumentError("a data key is 32 bytes");
  if (dek_version == 0) return absl::InvalidArgumentError("dek_version: must be 1 or more");
  if (patient_id.empty()) return absl::InvalidArgumentError("patient_id: must not be empty");
  return DataKey(std::move(patient_id), dek_version, std::move(raw));
}

absl::StatusOr<DataKey> DataKey::Unwrap(const KeyProvider& keys, const WrappedDataKey& wrapped) {
  absl::StatusOr<std::string> raw = keys.UnwrapKey(
      wrapped.kek_version, wrapped.wrapped, WrapContext(wrapped.patient_id, wrapped.kek_version, wrapped.dek_version));
  if (!raw.ok()) {
    return absl::Status(raw.status().code(), absl::StrCat("data key version ", wrapped.dek_version, " of patient ",
                                                          wrapped.patient_id, ": ", raw.status().message()));
  }
  return FromRaw(wrapped.patient_id, wrapped.dek_version, *std::move(raw));
}

absl::StatusOr<WrappedDataKey> DataKey::Wrap(const KeyProvider& keys, uint32_t kek_version) const {
  absl::StatusOr<std::string> wrapped =
      keys.WrapKey(kek_version, raw_, WrapContext(patient_id_, kek_version, dek_version_));
  if (!wrapped.ok()) return wrapped.status();
  return WrappedDataKey{patient_id_, dek_version_, kek_version, *std::move(wrapped)};
}

absl::StatusOr<std::string> DataKey::Encrypt(std::string_view table, std::string_view column,
                                             std::string_view plaintext) const {
  absl::StatusOr<std::string> sealed = AesGcmSeal(raw_, plaintext, FieldAad(table, column, patient_id_, dek_version_));
  if (!sealed.ok()) return sealed.status();
  std::string out(1, static_cast<char>(kFieldFormatV1));
  AppendU32(out, dek_version_);
  out += *sealed;
  return out;
}

absl::StatusOr<uint32_t> FieldDekVersion(std::string_view ciphertext) {
  if (ciphertext.empty() || static_cast<uint8_t>(ciphertext[0]) != kFieldFormatV1) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown field ciphertext format ",
                     ciphertext.empty() ? std::string("(empty)")
                                        : absl::StrCat("0x", absl::Hex(static_cast<uint8_t>(ciphertext[0]))),
                     "; this build reads format 0x01"));
  }
  if (ciphertext.size() < kFieldHeaderBytes + kGcmIvBytes + kGcmTagBytes) {
    return absl::InvalidArgumentError(absl::StrCat("field ciphertext of ", ciphertext.size(), " bytes is truncated"));
  }
  uint32_t v = 0;
  for (size_t i = 1; i < kFieldHeaderBytes; ++i) v = v << 8 | static_cast<uint8_t>(ciphertext[i]);
  return v;
}

absl::StatusOr<std::string> DataKey::Decrypt(std::string_view table, std::string_view column,
                                             std::string_view ciphertext) const {
  const std::string where = std::string(table) + "." + std::string(column) + " of patient " + patient_id_;
  absl::StatusOr<uint32_t> version = FieldDekVersion(ciphertext);
  if (!version.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", version.status().message()));
  if (*version != dek_version_) {
    return absl::FailedPreconditionError(absl::StrCat(where, " is under data key version ", *version,
                                                      ", not the version ", dek_version_, " given to decrypt it"));
  }
  absl::StatusOr<std::string> plain =
      AesGcmOpen(raw_, ciphertext.substr(kFieldHeaderBytes), FieldAad(table, column, patient_id_, dek_version_));
  if (!plain.ok()) {
    return absl::DataLossError(absl::StrCat(where,
                                            " does not authenticate: the ciphertext was altered, or it was copied "
                                            "from another patient, table, column or key version"));
  }
  return plain;
}

}  // namespace healthtwin::common::crypto
