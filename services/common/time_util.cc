#include "services/common/time_util.h"

#include <google/protobuf/util/time_util.h>

#include <cstdio>
#include <ctime>

namespace healthtwin::common {

absl::StatusOr<int64_t> ToUnixMicros(const google::protobuf::Timestamp& ts, std::string_view field) {
  using google::protobuf::util::TimeUtil;
  const std::string name(field);
  if (ts.seconds() < TimeUtil::kTimestampMinSeconds || ts.seconds() > TimeUtil::kTimestampMaxSeconds) {
    return absl::InvalidArgumentError(
        name + ": seconds " + std::to_string(ts.seconds()) + " is outside years 0001..9999 (" +
        std::to_string(TimeUtil::kTimestampMinSeconds) + ".." + std::to_string(TimeUtil::kTimestampMaxSeconds) + ")");
  }
  if (ts.nanos() < 0 || ts.nanos() >= 1'000'000'000) {
    return absl::InvalidArgumentError(name + ": nanos " + std::to_string(ts.nanos()) + " is outside 0..999999999");
  }
  return ts.seconds() * 1'000'000 + ts.nanos() / 1000;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  absl::StatusOr<int64_t> us = ToUnixMicros(ts, "timestamp");
  if (!us.ok()) {
    return "invalid timestamp (seconds=" + std::to_string(ts.seconds()) + ", nanos=" + std::to_string(ts.nanos()) + ")";
  }
  return FormatUnixMicros(*us);
}

std::string FormatUnixMicros(int64_t us) {
  auto ts = FromUnixMicros(us);
  std::time_t secs = static_cast<std::time_t>(ts.seconds());
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06dZ", ts.nanos() / 1000);
  return buf;
}

}  // namespace healthtwin::common
