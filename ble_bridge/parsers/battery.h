// Battery Level (0x2A19, GSS 3.27): one uint8, a percentage 0..100.
#pragma once

#include <cstdint>
#include <span>

#include "absl/status/statusor.h"

namespace healthtwin::ble {

struct BatteryLevel {
  uint8_t battery_percent = 0;
  friend bool operator==(const BatteryLevel&, const BatteryLevel&) = default;
};

// InvalidArgument unless exactly one byte in 0..100.
absl::StatusOr<BatteryLevel> ParseBatteryLevel(std::span<const uint8_t> value);

}  // namespace healthtwin::ble
