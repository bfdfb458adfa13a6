// Conversions between google.protobuf.Timestamp, std::chrono and PostgreSQL timestamptz text.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <google/protobuf/timestamp.pb.h>

namespace healthtwin::common {

using SysTime = std::chrono::system_clock::time_point;

inline int64_t ToUnixMicros(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1'000'000 + ts.nanos() / 1000;
}
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

}  // namespace healthtwin::common
