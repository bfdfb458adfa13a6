#include "clinician_api/deid.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace healthtwin::clinician::deid {
namespace {

constexpr std::string_view kBase32 = "abcdefghijklmnopqrstuvwxyz234567";  // RFC 4648 section 6, lower case

absl::Status CheckIds(std::string_view study_id, std::string_view patient_id) {
  for (auto [field, id] : {std::pair{"study_id", study_id}, std::pair{"patient_id", patient_id}}) {
    if (id.empty()) return absl::InvalidArgumentError(std::string(field) + ": required");
    if (id.find('\0') != std::string_view::npos) {
      return absl::InvalidArgumentError(std::string(field) + ": contains a NUL byte");
    }
  }
  return absl::OkStatus();
}

// The first 80 bits of `mac` as 16 base32 characters.
std::string Base32Of80Bits(std::string_view mac) {
  std::string out;
  uint64_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    buffer = (buffer << 8) | static_cast<unsigned char>(mac[i]);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kBase32[(buffer >> bits) & 0x1f];
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> Pseudonym(const common::crypto::KeyProvider& keys, std::string_view study_id,
                                      std::string_view patient_id) {
  if (auto s = CheckIds(study_id, patient_id); !s.ok()) return s;
  std::string message(study_id);
  message += '\0';
  message += patient_id;
  auto mac = keys.PseudonymMac(message);
  if (!mac.ok()) return mac.status();
  return std::string(kPseudonymPrefix) + Base32Of80Bits(*mac);
}

bool IsPseudonym(std::string_view s) {
  if (s.size() != kPseudonymLength || !s.starts_with(kPseudonymPrefix)) return false;
  return std::all_of(s.begin() + kPseudonymPrefix.size(), s.end(),
                     [](char c) { return kBase32.find(c) != std::string_view::npos; });
}

absl::StatusOr<int> DateShiftDays(const common::crypto::KeyProvider& keys, std::string_view study_id,
                                  std::string_view patient_id) {
  if (auto s = CheckIds(study_id, patient_id); !s.ok()) return s;
  std::string message("date-shift");
  message += '\0';
  message += study_id;
  message += '\0';
  message += patient_id;
  auto mac = keys.PseudonymMac(message);
  if (!mac.ok()) return mac.status();
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>((*mac)[i]);
  // 364 non-zero shifts; the modulo bias over 2^32 is below 1e-7.
  const int k = static_cast<int>(v % (2 * kMaxShiftDays));
  return k < kMaxShiftDays ? k - kMaxShiftDays : k - kMaxShiftDays + 1;
}

absl::StatusOr<int> CappedAgeYears(std::string_view birth_date, int64_t as_of_unix_us) {
  absl::CivilDay birth;
  if (birth_date.size() != 10 || !absl::ParseCivilTime(std::string(birth_date), &birth)) {
    return absl::InvalidArgumentError("birth_date: not a YYYY-MM-DD date");
  }
  const absl::CivilDay today = absl::ToCivilDay(absl::FromUnixMicros(as_of_unix_us), absl::UTCTimeZone());
  if (birth > today) return absl::InvalidArgumentError("birth_date: after the date the age is computed at");
  int64_t years = today.year() - birth.year();
  if (today.month() < birth.month() || (today.month() == birth.month() && today.day() < birth.day())) --years;
  return static_cast<int>(std::min<int64_t>(years, kAgeCap));
}

}  // namespace healthtwin::clinician::deid
