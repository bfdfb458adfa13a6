// Small helpers the parsers share for their error messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace healthtwin::ble::internal {

inline std::string Hex8(uint8_t v) { return absl::StrFormat("0x%02X", v); }

// InvalidArgument naming the length, what the flags asked for, and the flags themselves.
inline absl::Status ExpectLength(std::size_t actual, std::size_t expected, uint8_t flags) {
  if (actual == expected) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("length is ", actual, " bytes but flags ", Hex8(flags), " need ",
                                                 expected, actual > expected ? " (unexpected trailing bytes)" : ""));
}

inline absl::Status TooShort(std::size_t actual, std::size_t minimum) {
  return absl::InvalidArgumentError(absl::StrCat("length is ", actual, " bytes, need at least ", minimum));
}

}  // namespace healthtwin::ble::internal
