// De-identification of research data (issue 13, item 5): pure functions, no database, no gRPC.
//
// - Pseudonyms. A patient's id in a study is "sp-" followed by 16 base32 characters (RFC 4648
//   alphabet, lower case): the first 80 bits of HMAC-SHA-256(pseudonym key, study_id || 0x00 ||
//   patient_id). Keyed, so nobody without the key can compute or reverse one; stable within a
//   study; different across studies, so two studies cannot be joined on it. The key is the
//   keyring's pseudonym.key (KeyProvider::PseudonymMac), never the MRN blind-index key.
// - Dates. Every time a researcher sees is shifted by a whole number of days, the same for
//   every record of that patient in that study and different between patients, derived from
//   HMAC-SHA-256(pseudonym key, "date-shift" || 0x00 || study_id || 0x00 || patient_id) (two
//   0x00 bytes: no pseudonym input has two, as ids never contain 0x00). The shift is within
//   +-182 days and never 0. Intervals between a patient's records are kept.
// - Ages. Ages of 90 and over become 90: HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(C), lets
//   ages over 89 be reported only as one category "90 or older".
// - No identifiers: the research edge (research_service.cc) copies only values, units, types
//   and shifted times; never a patient id, device id, ingest sequence number, name or MRN.
//
// Safe Harbor (164.514(b)(2)(i)(C)) asks that all elements of dates except the year be removed;
// a shifted date keeps intervals, which research needs, and is the usual Expert Determination
// (164.514(b)(1)) technique instead. docs/security.md, "De-identified research", says so.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/common/crypto/key_provider.h"

namespace healthtwin::clinician::deid {

inline constexpr int kMaxShiftDays = 182;
inline constexpr int kAgeCap = 90;
inline constexpr std::string_view kPseudonymPrefix = "sp-";
inline constexpr std::size_t kPseudonymLength = 3 + 16;

// The patient's pseudonym in the study. INVALID_ARGUMENT for an empty id or one holding 0x00;
// the key provider's error when it has no pseudonym key.
absl::StatusOr<std::string> Pseudonym(const common::crypto::KeyProvider& keys, std::string_view study_id,
                                      std::string_view patient_id);

// True when `s` has the shape of a pseudonym ("sp-" and 16 base32 characters).
bool IsPseudonym(std::string_view s);

// The patient's date shift in the study, in whole days: in [-182, -1] or [1, 182].
absl::StatusOr<int> DateShiftDays(const common::crypto::KeyProvider& keys, std::string_view study_id,
                                  std::string_view patient_id);

// `unix_us` moved by `days` whole days.
inline int64_t ShiftMicros(int64_t unix_us, int days) { return unix_us + int64_t{days} * 86'400'000'000; }

// Completed years from `birth_date` (YYYY-MM-DD) to the UTC day of `as_of_unix_us`, capped at
// 90. INVALID_ARGUMENT for a malformed date or one after `as_of`.
absl::StatusOr<int> CappedAgeYears(std::string_view birth_date, int64_t as_of_unix_us);

}  // namespace healthtwin::clinician::deid
