// Health Thermometer Service: Temperature Measurement (0x2A1C) and Intermediate Temperature
// (0x2A1E) (GSS 3.216 and 3.129), one layout:
//
//   flags u8 | temperature FLOAT | [time stamp 7] | [temperature type u8]
//
// Flags: bit 0 unit (0 = Celsius, 1 = Fahrenheit); bit 1 time stamp; bit 2 temperature type;
// bits 3-7 reserved (ignored). Temperature type: 1 armpit, 2 body (general), 3 ear, 4 finger,
// 5 gastro-intestinal tract, 6 mouth, 7 rectum, 8 toe, 9 tympanum; others are reserved and kept
// as their number.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "ble_bridge/parsers/date_time.h"
#include "ble_bridge/parsers/ieee11073.h"

namespace healthtwin::ble {

enum class TemperatureUnit : uint8_t { kCelsius, kFahrenheit };

struct TemperatureMeasurement {
  MderFloat temperature;
  TemperatureUnit unit = TemperatureUnit::kCelsius;
  std::optional<DateTime> timestamp;
  std::optional<uint8_t> temperature_type;

  friend bool operator==(const TemperatureMeasurement&, const TemperatureMeasurement&) = default;
};

// "armpit", "body", "ear", "finger", "gastrointestinal_tract", "mouth", "rectum", "toe",
// "tympanum", or "reserved_<n>".
std::string TemperatureTypeName(uint8_t type);

// Serves both 2A1C and 2A1E.
absl::StatusOr<TemperatureMeasurement> ParseTemperatureMeasurement(std::span<const uint8_t> value);

}  // namespace healthtwin::ble
