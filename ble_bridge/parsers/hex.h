// Hex text to bytes, for the CLI and tests: "16 7C 00", "16:7c:00", "167C00" and "0x16 0x7C".
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthtwin::ble {

// Pairs of hex digits, optionally separated by spaces, tabs, ':' or '-', each byte optionally
// prefixed by 0x. InvalidArgument naming the offending character or the odd digit count.
absl::StatusOr<std::vector<uint8_t>> ParseHex(absl::string_view text);

}  // namespace healthtwin::ble
