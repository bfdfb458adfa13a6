#include "clinician_api/cli/time_args.h"

#include <string>

#include "absl/strings/numbers.h"

namespace healthtwin::cli {

absl::StatusOr<absl::Duration> ParseSpanArg(std::string_view flag, std::string_view text) {
  absl::Duration d;
  int64_t days = 0;
  if (!text.empty() && text.back() == 'd' && absl::SimpleAtoi(std::string(text.substr(0, text.size() - 1)), &days)) {
    d = absl::Hours(24 * days);
  } else if (!absl::ParseDuration(std::string(text), &d)) {
    return absl::InvalidArgumentError(std::string(flag) + ": expected a duration like 90s, 30m, 2h or 7d, got '" +
                                      std::string(text) + "'");
  }
  if (d <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(std::string(flag) + ": must be positive, got '" + std::string(text) + "'");
  }
  return d;
}

absl::StatusOr<absl::Time> ParseInstantArg(std::string_view flag, std::string_view text, absl::Time now) {
  absl::Time t;
  std::string unused;
  if (absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &unused)) return t;
  auto span = ParseSpanArg(flag, text);
  if (!span.ok()) {
    return absl::InvalidArgumentError(
        std::string(flag) +
        ": expected a duration ago like 2h or 7d, or an RFC 3339 time like 2026-01-31T12:00:00Z, got '" +
        std::string(text) + "'");
  }
  return now - *span;
}

}  // namespace healthtwin::cli
