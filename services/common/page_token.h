// Page tokens this code base issues: a decimal number (an offset or the last key returned).
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace healthtwin::common {

// The number in `token` (empty: 0). InvalidArgument naming page_token unless it is plain
// decimal digits with a value in 0..max, so no token can turn into a negative SQL OFFSET or key.
inline absl::StatusOr<int64_t> ParsePageToken(std::string_view token, int64_t max) {
  if (token.empty()) return 0;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc() || end != token.data() + token.size() || value > static_cast<uint64_t>(max)) {
    return absl::InvalidArgumentError("page_token: not a token this service issued");
  }
  return static_cast<int64_t>(value);
}

}  // namespace healthtwin::common
