#include "models/calibration/vitals_csv.h"

#include <charconv>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace healthtwin::models::calibration::cli {
namespace {

absl::StatusOr<std::int64_t> ParseTime(absl::string_view s) {
  std::int64_t epoch = 0;
  if (absl::SimpleAtoi(s, &epoch)) return epoch;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, s, &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", s, "' is neither ISO-8601 with a zone (e.g. 2026-01-01T07:00:00Z) nor Unix seconds"));
  }
  return absl::ToUnixSeconds(t);
}

absl::StatusOr<Vital> ParseVital(absl::string_view s) {
  for (Vital v : kAllVitals) {
    if (s == absl::string_view(VitalName(v).data(), VitalName(v).size())) return v;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown '", s, "' (expected heart_rate, systolic, diastolic, weight, spo2 or temperature)"));
}

}  // namespace

absl::StatusOr<std::vector<Sample>> ParseVitalsCsv(std::istream& in, const std::string& name) {
  std::vector<Sample> out;
  std::string line;
  int line_no = 0;
  bool header = false, with_flag = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const absl::string_view stripped = absl::StripAsciiWhitespace(line);
    if (stripped.empty() || stripped.front() == '#') continue;
    std::vector<absl::string_view> f = absl::StrSplit(stripped, ',');
    for (absl::string_view& x : f) x = absl::StripAsciiWhitespace(x);
    const std::string where = absl::StrCat(name, ":", line_no, ": ");
    if (!header) {
      if ((f.size() == 3 || f.size() == 4) && f[0] == "measured_at" && f[1] == "vital" && f[2] == "value" &&
          (f.size() == 3 || f[3] == "flagged")) {
        header = true;
        with_flag = f.size() == 4;
        continue;
      }
      return absl::InvalidArgumentError(
          absl::StrCat(where, "header must be 'measured_at,vital,value' or 'measured_at,vital,value,flagged'"));
    }
    const std::size_t want = with_flag ? 4 : 3;
    if (f.size() != want && !(with_flag && f.size() == 3)) {
      return absl::InvalidArgumentError(absl::StrCat(where, "expected ", want, " fields, got ", f.size()));
    }
    Sample s;
    absl::StatusOr<std::int64_t> t = ParseTime(f[0]);
    if (!t.ok()) return absl::InvalidArgumentError(absl::StrCat(where, "field measured_at: ", t.status().message()));
    s.measured_at_unix_s = *t;
    absl::StatusOr<Vital> v = ParseVital(f[1]);
    if (!v.ok()) return absl::InvalidArgumentError(absl::StrCat(where, "field vital: ", v.status().message()));
    s.vital = *v;
    if (!absl::SimpleAtod(f[2], &s.value) || !std::isfinite(s.value)) {
      return absl::InvalidArgumentError(absl::StrCat(where, "field value: '", f[2], "' is not a finite number"));
    }
    if (f.size() == 4) {
      if (f[3] == "1" || f[3] == "true") {
        s.flagged = true;
      } else if (f[3] == "0" || f[3] == "false" || f[3].empty()) {
        s.flagged = false;
      } else {
        return absl::InvalidArgumentError(absl::StrCat(where, "field flagged: '", f[3], "' (expected 0, 1, true or false)"));
      }
    }
    out.push_back(s);
  }
  if (!header) return absl::InvalidArgumentError(absl::StrCat(name, ": empty file (no header)"));
  return out;
}

}  // namespace healthtwin::models::calibration::cli
