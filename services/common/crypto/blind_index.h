// The blind index for MRN lookup: HMAC-SHA-256, under the keyring's blind-index key, of the
// normalised (assigning authority, MRN) pair. Equal pairs give equal indexes, so a patient is
// found by an indexed equality match on patients.mrn_index without decrypting any row; without
// the key the index reveals nothing but equality.
//
// Normalisation (the HMAC input is "healthtwin-mrn-v1" 0x00 || lp(system) || lp(value)):
//   - surrounding ASCII whitespace is removed from both;
//   - case is kept: FHIR R4 Identifier.value is case-sensitive unless the system says
//     otherwise (http://hl7.org/fhir/R4/datatypes.html#Identifier), and so is a URI's path;
//   - an empty system becomes kDefaultMrnSystem;
//   - refused (INVALID_ARGUMENT naming the field, never quoting it): an empty value, a value
//     over 64 bytes, a system over 255 bytes, control characters, whitespace inside the system.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/common/crypto/key_provider.h"

namespace healthtwin::common::crypto {

// The assigning authority when none is given: this deployment's own MRNs.
inline constexpr std::string_view kDefaultMrnSystem = "urn:healthtwin:mrn";

struct NormalizedMrn {
  std::string system;
  std::string value;
};

absl::StatusOr<NormalizedMrn> NormalizeMrn(std::string_view system, std::string_view value);

// The 32-byte blind index of an MRN (normalised first).
absl::StatusOr<std::string> MrnBlindIndex(const KeyProvider& keys, std::string_view system, std::string_view value);

}  // namespace healthtwin::common::crypto
