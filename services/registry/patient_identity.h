// A patient's identifying data (issue 13, item 1) and its validation. Plain values; they are
// stored only encrypted (patient_identity_store.h) and never logged. Validation errors name
// the field and never quote the value.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace healthtwin::registry {

struct PatientIdentity {
  std::string given;
  std::string family;
  std::string birth_date;  // YYYY-MM-DD
  std::string mrn;
  std::string mrn_system;  // the MRN's assigning authority (a URI); empty: urn:healthtwin:mrn
  std::string phone;       // optional
  std::string email;       // optional
  std::string address;     // optional, may span lines

  bool operator==(const PatientIdentity&) const = default;
};

// INVALID_ARGUMENT naming the first bad field: given and family required (1..200 bytes),
// birth_date a real calendar date YYYY-MM-DD from 1850 to today, the MRN as in
// crypto::NormalizeMrn, phone up to 32 of "0-9 +-(). ", email up to 254 bytes (RFC 5321
// section 4.5.3.1.3) with one '@' between non-empty parts, address up to 500 bytes; no
// control characters (address may hold newlines).
absl::Status ValidateIdentity(const PatientIdentity& identity);

}  // namespace healthtwin::registry
