#include "services/common/time_util.h"

#include <cstdio>
#include <ctime>

namespace healthtwin::common {

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
