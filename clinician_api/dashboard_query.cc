#include "clinician_api/dashboard_query.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace healthtwin::clinician {
namespace {

// The names the dashboard uses for healthtwin.vitals.v1.VitalType (protos/healthtwin/vitals/v1).
int VitalTypeNumber(std::string_view name) {
  static const std::pair<std::string_view, int> kTypes[] = {
      {"heart_rate", 1},  {"systolic_bp", 2}, {"diastolic_bp", 3}, {"mean_arterial_bp", 4}, {"spo2", 5},
      {"temperature", 6}, {"weight", 7},      {"glucose", 8},      {"respiratory_rate", 9}, {"pulse_rate", 10},
  };
  for (const auto& [n, v] : kTypes) {
    if (n == name) return v;
  }
  return 0;
}

absl::StatusOr<int64_t> TimeParam(const std::multimap<std::string, std::string>& params, const std::string& name,
                                  int64_t fallback) {
  const auto range = params.equal_range(name);
  if (range.first == range.second) return fallback;
  if (std::next(range.first) != range.second) return absl::InvalidArgumentError(name + ": given more than once");
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, range.first->second, &t, &err)) {
    return absl::InvalidArgumentError(name + ": not an RFC 3339 time (e.g. 2026-12-01T00:00:00Z)");
  }
  return absl::ToUnixMicros(t);
}

}  // namespace

bool IsPatientId(const std::string& id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

absl::StatusOr<VitalsQuery> ParseVitalsQuery(const std::multimap<std::string, std::string>& params, int64_t now_us) {
  for (const auto& [k, v] : params) {
    if (k != "type" && k != "from" && k != "to" && k != "bucket_s") {
      return absl::InvalidArgumentError(k + ": unknown parameter (type, from, to, bucket_s)");
    }
  }
  VitalsQuery q;
  std::string types = "heart_rate";
  if (auto it = params.find("type"); it != params.end()) {
    if (params.count("type") > 1) return absl::InvalidArgumentError("type: given more than once");
    types = it->second;
  }
  for (const std::string& name : std::vector<std::string>(absl::StrSplit(types, ','))) {
    const int t = VitalTypeNumber(name);
    if (t == 0) return absl::InvalidArgumentError("type: unknown vital type '" + name.substr(0, 40) + "'");
    if (std::find(q.types.begin(), q.types.end(), t) == q.types.end()) q.types.push_back(t);
  }
  auto to = TimeParam(params, "to", now_us);
  if (!to.ok()) return to.status();
  auto from = TimeParam(params, "from", *to - kDefaultRangeUs);
  if (!from.ok()) return from.status();
  if (*from >= *to) return absl::InvalidArgumentError("from: must be before to");
  if (*to - *from > kMaxRangeUs) return absl::InvalidArgumentError("from: range longer than 400 days");
  q.from_us = *from;
  q.to_us = *to;
  const auto bucket = params.find("bucket_s");
  if (bucket == params.end() || bucket->second == "auto") {
    const int64_t range_s = (q.to_us - q.from_us) / 1'000'000;
    if (q.to_us - q.from_us > kRawRangeLimitUs) {
      const int64_t width = (range_s + kTargetBuckets - 1) / kTargetBuckets;
      q.bucket_s = static_cast<uint32_t>((width + 59) / 60 * 60);  // whole minutes
    }
    return q;
  }
  uint32_t b = 0;
  if (!absl::SimpleAtoi(bucket->second, &b) || b > 86400) {
    return absl::InvalidArgumentError("bucket_s: not 'auto' or a whole number of seconds from 0 to 86400");
  }
  q.bucket_s = b;
  return q;
}

}  // namespace healthtwin::clinician
