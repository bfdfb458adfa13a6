#include "clinician_api/fhir_search.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "services/feeds/fhir/codes.h"

namespace healthtwin::clinician {
namespace {

using common::VitalType;

// The codes a search may name: exactly the codes the served Observations carry
// (services/feeds/fhir/codes.h, after the FHIR R4 vital-signs profiles): each single-valued type's
// LOINC code and SpO2's second coding, and the blood pressure panel for both halves. Heart rate
// and pulse rate share 8867-4, as the R4 heartrate profile has one code for both.
struct Loinc {
  std::string code;
  std::vector<VitalType> types;
};
const std::vector<Loinc>& LoincTable() {
  static const std::vector<Loinc> kTable = [] {
    std::vector<Loinc> table;
    auto add = [&table](std::string_view code, VitalType type) {
      auto it = std::find_if(table.begin(), table.end(), [&](const Loinc& l) { return l.code == code; });
      if (it == table.end()) {
        table.push_back({std::string(code), {type}});
      } else {
        it->types.push_back(type);
      }
    };
    for (int v = 1; v <= common::kMaxVitalType; ++v) {
      const auto type = static_cast<VitalType>(v);
      if (auto coding = feeds::fhir::SingleVitalCoding(type)) {
        add(coding->loinc, type);
        if (!coding->extra_loinc.empty()) add(coding->extra_loinc, type);
      }
    }
    add(feeds::fhir::kBpPanelLoinc, VitalType::kSystolicBp);
    add(feeds::fhir::kBpPanelLoinc, VitalType::kDiastolicBp);
    return table;
  }();
  return kTable;
}

// Why a LOINC code is not searchable here, for the 400's text.
std::string NotServed(std::string_view code) {
  if (code == feeds::fhir::kSystolicLoinc || code == feeds::fhir::kDiastolicLoinc) {
    return "'" + std::string(code) +
           "' is a component of the blood pressure panel; search code=" + std::string(feeds::fhir::kBpPanelLoinc);
  }
  std::string served;
  for (const auto& l : LoincTable()) served += (served.empty() ? "" : ", ") + l.code;
  return "'" + std::string(code) + "' is not a vital-signs LOINC code served here (served: " + served + ")";
}

absl::Status Bad(std::string_view param, std::string_view why) {
  return absl::InvalidArgumentError(std::string(param) + ": " + std::string(why));
}

absl::StatusOr<uint32_t> ParseCount(const QueryParams& params) {
  auto it = params.find("_count");
  if (it == params.end()) return kDefaultCount;
  if (params.count("_count") > 1) return Bad("_count", "given more than once");
  uint32_t n = 0;
  const std::string& v = it->second;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > kMaxCount) {
    return Bad("_count", "expected a whole number from 1 to " + std::to_string(kMaxCount) + ", got '" + v + "'");
  }
  return n;
}

absl::StatusOr<std::string> Single(const QueryParams& params, std::string_view name) {
  if (params.count(std::string(name)) > 1) return Bad(name, "given more than once");
  auto it = params.find(std::string(name));
  return it == params.end() ? std::string() : it->second;
}

absl::Status OnlyKnown(const QueryParams& params, std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : params) {
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      return Bad(k, "unknown search parameter (this server supports: see /fhir/r4/metadata)");
    }
  }
  return absl::OkStatus();
}

// "Patient/p1" or "p1".
absl::StatusOr<std::string> PatientRef(std::string v) {
  if (v.rfind("Patient/", 0) == 0) v = v.substr(8);
  if (v.empty() || v.size() > 64 || v.find('/') != std::string::npos) {
    return Bad("patient", "expected a patient id or Patient/<id>");
  }
  return v;
}

// The patient of a search, from `patient` or its synonym `subject`; empty when neither is given
// and the search may go without one.
absl::StatusOr<std::string> PatientParam(const QueryParams& params, bool required) {
  auto patient = Single(params, "patient");
  if (!patient.ok()) return patient.status();
  auto subject = Single(params, "subject");
  if (!subject.ok()) return subject.status();
  if (!patient->empty() && !subject->empty()) return Bad("patient", "give patient or subject, not both");
  if (patient->empty() && subject->empty()) {
    if (required) return Bad("patient", "required (or subject)");
    return std::string();
  }
  return PatientRef(patient->empty() ? *subject : *patient);
}

}  // namespace

std::vector<std::string> PatientsNamed(const QueryParams& params) {
  std::vector<std::string> out;
  for (const auto& [k, v] : params) {
    if (k != "patient" && k != "subject") continue;
    if (auto id = PatientRef(v); id.ok()) out.push_back(*id);
  }
  return out;
}

namespace {

// _count and _cursor.
absl::Status ParsePage(const QueryParams& params, uint32_t& count, std::string& cursor) {
  auto n = ParseCount(params);
  if (!n.ok()) return n.status();
  auto c = Single(params, "_cursor");
  if (!c.ok()) return c.status();
  count = *n;
  cursor = *c;
  return absl::OkStatus();
}

// A FHIR date or dateTime: YYYY-MM-DD (UTC midnight) or YYYY-MM-DDThh:mm:ss[.f](Z|+hh:mm).
absl::StatusOr<int64_t> ParseDateTime(const std::string& v) {
  absl::Time t;
  std::string err;
  if (v.size() == 10 ? absl::ParseTime("%Y-%m-%d", v, absl::UTCTimeZone(), &t, &err)
                     : absl::ParseTime("%Y-%m-%d%ET%H:%M:%E*S%Ez", v, absl::UTCTimeZone(), &t, &err)) {
    return absl::ToUnixMicros(t);
  }
  return Bad("date", "'" + v + "' is not a FHIR date or dateTime with time zone");
}

}  // namespace

std::vector<common::VitalType> ServedVitalTypes() {
  std::vector<VitalType> out;
  for (const auto& l : LoincTable()) {
    for (auto t : l.types) {
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string FhirInstant(int64_t unix_us) {
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", absl::FromUnixMicros(unix_us), absl::UTCTimeZone());
}

absl::StatusOr<ObservationSearch> ParseObservationSearch(const QueryParams& params, int64_t now_us) {
  if (auto s = OnlyKnown(params, {"patient", "subject", "code", "date", "_count", "_cursor"}); !s.ok()) return s;
  ObservationSearch q;
  auto id = PatientParam(params, /*required=*/true);
  if (!id.ok()) return id.status();
  q.patient_id = *id;

  auto code = Single(params, "code");
  if (!code.ok()) return code.status();
  q.code = *code;
  if (code->empty()) {
    q.types = ServedVitalTypes();
  } else {
    const std::vector<std::string> tokens = absl::StrSplit(*code, ',');
    for (const std::string& token_text : tokens) {
      const std::string_view token = token_text;
      std::string_view c = token;
      if (auto bar = token.find('|'); bar != std::string_view::npos) {
        if (token.substr(0, bar) != "http://loinc.org")
          return Bad("code", "only the system http://loinc.org is served");
        c = token.substr(bar + 1);
      }
      const auto& table = LoincTable();
      auto it = std::find_if(table.begin(), table.end(), [&](const Loinc& l) { return l.code == c; });
      if (it == table.end()) return Bad("code", NotServed(c));
      for (auto t : it->types) {
        if (std::find(q.types.begin(), q.types.end(), t) == q.types.end()) q.types.push_back(t);
      }
    }
  }

  bool have_start = false, have_end = false;
  q.start_us = 0;
  q.end_us = now_us + int64_t{86'400} * 1'000'000;
  for (auto [it, end] = params.equal_range("date"); it != end; ++it) {
    const std::string& v = it->second;
    if (v.size() < 3) return Bad("date", "expected a prefix ge, gt, le or lt and a date");
    const std::string prefix = v.substr(0, 2);
    auto t = ParseDateTime(v.substr(2));
    if (!t.ok()) return t.status();
    if (prefix == "ge" || prefix == "gt") {
      if (have_start) return Bad("date", "more than one lower bound");
      have_start = true;
      q.start_us = *t + (prefix == "gt" ? 1 : 0);
    } else if (prefix == "lt" || prefix == "le") {
      if (have_end) return Bad("date", "more than one upper bound");
      have_end = true;
      q.end_us = *t + (prefix == "le" ? 1 : 0);
    } else {
      return Bad("date", "prefix '" + prefix + "' not supported (ge, gt, le, lt)");
    }
  }
  if (q.end_us <= q.start_us) return Bad("date", "the upper bound must be after the lower bound");
  if (auto s = ParsePage(params, q.count, q.cursor); !s.ok()) return s;
  return q;
}

absl::StatusOr<CommunicationRequestSearch> ParseCommunicationRequestSearch(const QueryParams& params) {
  if (auto s = OnlyKnown(params, {"patient", "subject", "status", "_count", "_cursor"}); !s.ok()) return s;
  CommunicationRequestSearch q;
  auto id = PatientParam(params, /*required=*/false);
  if (!id.ok()) return id.status();
  q.patient_id = *id;
  auto status = Single(params, "status");
  if (!status.ok()) return status.status();
  if (!status->empty() && *status != "active" && *status != "completed") {
    return Bad("status", "expected active or completed, got '" + *status + "'");
  }
  q.status = *status;
  if (auto s = ParsePage(params, q.count, q.cursor); !s.ok()) return s;
  return q;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace healthtwin::clinician
