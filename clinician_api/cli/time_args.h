// Time arguments of the command line, shared by its commands so that every --since and --for
// reads the same way and fails with the same one-line message naming the flag.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace healthtwin::cli {

// "90s", "30m", "2h" (absl::ParseDuration) or "7d"; positive. INVALID_ARGUMENT naming `flag`.
absl::StatusOr<absl::Duration> ParseSpanArg(std::string_view flag, std::string_view text);

// A point in time: a span ago (as ParseSpanArg, relative to `now`) or an RFC 3339 time such as
// 2026-01-31T12:00:00Z. INVALID_ARGUMENT naming `flag`.
absl::StatusOr<absl::Time> ParseInstantArg(std::string_view flag, std::string_view text, absl::Time now);

}  // namespace healthtwin::cli
