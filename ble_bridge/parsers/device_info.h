// Device Information Service strings: Manufacturer Name (0x2A29), Model Number (0x2A24), Serial
// Number (0x2A25) and Firmware Revision (0x2A26) (GSS 3.146, 3.154, 3.200, 3.96). Each is a
// UTF-8 string with no terminator, at most 512 bytes (the ATT attribute limit).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/statusor.h"

namespace healthtwin::ble {

inline constexpr std::size_t kMaxAttributeValueSize = 512;

struct DeviceInfoString {
  std::string value;
  // True when trailing NUL padding was removed (the one accepted quirk, see README).
  bool had_nul_padding = false;
  friend bool operator==(const DeviceInfoString&, const DeviceInfoString&) = default;
};

// InvalidArgument for invalid UTF-8 (overlong forms, surrogates, code points above U+10FFFF), a
// NUL followed by anything other than more NULs, or more than 512 bytes.
absl::StatusOr<DeviceInfoString> ParseDeviceInfoString(std::span<const uint8_t> value);

}  // namespace healthtwin::ble
