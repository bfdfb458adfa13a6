// Conversions between google.protobuf.Timestamp, std::chrono and PostgreSQL timestamptz text.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"

namespace healthtwin::common {

using SysTime = std::chrono::system_clock::time_point;

// Microseconds since the epoch of a Timestamp from a request (or any peer). InvalidArgument
// naming `field` when its seconds lie outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z or its
// nanos outside [0, 1e9), the range google.protobuf.Timestamp defines; within it the
// conversion cannot overflow, so a far-future value can never wrap into a plausible one.
absl::StatusOr<int64_t> ToUnixMicros(const google::protobuf::Timestamp& ts, std::string_view field);
inline google::protobuf::Timestamp FromUnixMicros(int64_t us) {
  google::protobuf::Timestamp ts;
  int64_t secs = us / 1'000'000;
  int64_t rem = us % 1'000'000;
  if (rem < 0) {
    rem += 1'000'000;
    --secs;
  }
  ts.set_seconds(secs);
  ts.set_nanos(static_cast<int32_t>(rem * 1000));
  return ts;
}
inline int64_t NowUnixMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ISO 8601 UTC with microseconds, e.g. "2026-11-21T10:00:00.000000Z".
std::string FormatUnixMicros(int64_t us);
// The same for a Timestamp, or "invalid timestamp (seconds=S, nanos=N)" outside its range.
std::string FormatTimestamp(const google::protobuf::Timestamp& ts);

}  // namespace healthtwin::common
