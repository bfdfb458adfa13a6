// Parsing and checking the dashboard's query parameters (dashboard_api.h), apart from HTTP so
// it is unit-tested alone (dashboard_query_test.cc). Errors are InvalidArgument whose message
// starts with the parameter's name and a colon ("from: not an RFC 3339 time").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace healthtwin::clinician {

// Raw samples up to this range; longer ranges are bucketed (min/max/mean) unless bucket_s is given.
inline constexpr int64_t kRawRangeLimitUs = int64_t{48} * 3600 * 1'000'000;
// Automatic buckets aim at no more points than this per type (uPlot draws 50k points in
// under 80 ms, ../shared/notes/dashboard-stack.md; 2000 is more than a plot is wide).
inline constexpr int64_t kTargetBuckets = 2000;
inline constexpr int64_t kMaxRangeUs = int64_t{400} * 24 * 3600 * 1'000'000;
inline constexpr int64_t kDefaultRangeUs = int64_t{24} * 3600 * 1'000'000;

struct VitalsQuery {
  std::vector<int> types;  // healthtwin.vitals.v1.VitalType numbers
  int64_t from_us = 0;     // inclusive
  int64_t to_us = 0;       // exclusive
  uint32_t bucket_s = 0;   // 0: raw samples
};

// `params`: type (comma-separated: heart_rate, systolic_bp, diastolic_bp, spo2, temperature,
// weight, respiratory_rate, glucose, pulse_rate; default heart_rate), from and to (RFC 3339;
// default the 24 h before `now_us`), bucket_s ("auto" or absent: raw up to 48 h, else about
// 2000 buckets of whole minutes; 0: raw; 1..86400: that width).
absl::StatusOr<VitalsQuery> ParseVitalsQuery(const std::multimap<std::string, std::string>& params, int64_t now_us);

// [A-Za-z0-9._-]{1,64}, the registry's patient id alphabet.
bool IsPatientId(const std::string& id);

}  // namespace healthtwin::clinician
