#include "ble_bridge/parsers/battery.h"

#include "absl/strings/str_cat.h"

namespace healthtwin::ble {

absl::StatusOr<BatteryLevel> ParseBatteryLevel(std::span<const uint8_t> value) {
  if (value.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("length is ", value.size(), " bytes, need exactly 1"));
  }
  if (value[0] > 100) {
    return absl::InvalidArgumentError(absl::StrCat("battery level ", value[0], " is above 100 %"));
  }
  return BatteryLevel{value[0]};
}

}  // namespace healthtwin::ble
