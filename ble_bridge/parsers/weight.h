// Weight Scale Service: Weight Measurement (0x2A9D, GSS 3.251).
//
//   flags u8 | weight u16 | [time stamp 7] | [user id u8] | [BMI u16, height u16]
//
// Flags: bit 0 units (0 = SI: weight 0.005 kg, height 0.001 m; 1 = imperial: weight 0.01 lb,
// height 0.1 in); bit 1 time stamp; bit 2 user id; bit 3 BMI and height; bits 4-7 reserved
// (ignored). BMI is in 0.1 kg/m2. Weight 0xFFFF means "measurement unsuccessful".
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "absl/status/statusor.h"
#include "ble_bridge/parsers/date_time.h"

namespace healthtwin::ble {

inline constexpr uint16_t kWeightMeasurementUnsuccessful = 0xFFFF;

struct WeightMeasurement {
  bool imperial = false;
  uint16_t weight_raw = 0;  // kWeightMeasurementUnsuccessful, or units of 0.005 kg / 0.01 lb
  std::optional<DateTime> timestamp;
  std::optional<uint8_t> user_id;      // 0xFF means "unknown user"
  std::optional<uint16_t> bmi_raw;     // 0.1 kg/m2
  std::optional<uint16_t> height_raw;  // 0.001 m or 0.1 in

  bool measurement_unsuccessful() const { return weight_raw == kWeightMeasurementUnsuccessful; }
  // In the unit the flags name (kg or lb). Precondition: !measurement_unsuccessful().
  double weight() const { return imperial ? weight_raw / 100.0 : weight_raw * 5 / 1000.0; }
  double weight_kg() const { return imperial ? weight_raw * 0.45359237 / 100.0 : weight(); }
  friend bool operator==(const WeightMeasurement&, const WeightMeasurement&) = default;
};

absl::StatusOr<WeightMeasurement> ParseWeightMeasurement(std::span<const uint8_t> value);

}  // namespace healthtwin::ble
