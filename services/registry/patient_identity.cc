#include "services/registry/patient_identity.h"

#include <algorithm>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "services/common/crypto/blind_index.h"

namespace healthtwin::registry {
namespace {

bool HasControl(std::string_view s, bool allow_newline) {
  return std::any_of(s.begin(), s.end(), [&](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && !(allow_newline && c == '\n')) || u == 0x7f;
  });
}

absl::Status CheckText(const std::string& field, std::string_view value, size_t max_bytes, bool required,
                       bool allow_newline = false) {
  if (required && value.find_first_not_of(" \t") == std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  }
  if (value.size() > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": longer than ", max_bytes, " bytes"));
  }
  if (HasControl(value, allow_newline)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": contains a control character"));
  }
  return absl::OkStatus();
}

absl::Status CheckBirthDate(const std::string& date) {
  int year = 0, month = 0, day = 0;
  const bool shaped = date.size() == 10 && date[4] == '-' && date[7] == '-' &&
                      absl::SimpleAtoi(absl::string_view(date.data(), 4), &year) &&
                      absl::SimpleAtoi(absl::string_view(date.data() + 5, 2), &month) &&
                      absl::SimpleAtoi(absl::string_view(date.data() + 8, 2), &day);
  if (!shaped) return absl::InvalidArgumentError("birth_date: must be YYYY-MM-DD");
  const absl::CivilDay civil(year, month, day);
  if (civil.year() != year || civil.month() != month || civil.day() != day) {
    return absl::InvalidArgumentError("birth_date: not a calendar date");
  }
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  if (year < 1850 || civil > today) return absl::InvalidArgumentError("birth_date: must be from 1850 to today");
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateIdentity(const PatientIdentity& id) {
  if (auto s = CheckText("given", id.given, 200, true); !s.ok()) return s;
  if (auto s = CheckText("family", id.family, 200, true); !s.ok()) return s;
  if (auto s = CheckBirthDate(id.birth_date); !s.ok()) return s;
  if (auto s = common::crypto::NormalizeMrn(id.mrn_system, id.mrn).status(); !s.ok()) return s;
  if (id.phone.size() > 32 || id.phone.find_first_not_of("0123456789 +-().") != std::string::npos) {
    return absl::InvalidArgumentError("phone: up to 32 digits, spaces and + - ( ) .");
  }
  if (auto s = CheckText("email", id.email, 254, false); !s.ok()) return s;
  if (!id.email.empty()) {
    const size_t at = id.email.find('@');
    if (at == std::string::npos || at == 0 || at + 1 == id.email.size() ||
        id.email.find('@', at + 1) != std::string::npos || id.email.find(' ') != std::string::npos) {
      return absl::InvalidArgumentError("email: must be one local part, '@' and a domain");
    }
  }
  return CheckText("address", id.address, 500, false, /*allow_newline=*/true);
}

}  // namespace healthtwin::registry
