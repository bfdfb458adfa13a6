// Pulse Oximeter Service: PLX Spot-check Measurement (0x2A5E) and PLX Continuous Measurement
// (0x2A5F) (GSS 3.172 and 3.171).
//
// 2A5E: flags u8 | SpO2 SFLOAT | PR SFLOAT | [time stamp 7] | [measurement status u16]
//       | [device and sensor status u24] | [pulse amplitude index SFLOAT]
//   flags: bit 0 time stamp, bit 1 measurement status, bit 2 device and sensor status,
//   bit 3 pulse amplitude index, bit 4 device clock is not set, bits 5-7 reserved (ignored).
// 2A5F: flags u8 | SpO2 SFLOAT | PR SFLOAT (normal) | [SpO2, PR fast] | [SpO2, PR slow]
//       | [measurement status u16] | [device and sensor status u24] | [pulse amplitude index SFLOAT]
//   flags: bit 0 fast, bit 1 slow, bit 2 measurement status, bit 3 device and sensor status,
//   bit 4 pulse amplitude index, bits 5-7 reserved (ignored).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "absl/status/statusor.h"
#include "ble_bridge/parsers/date_time.h"
#include "ble_bridge/parsers/ieee11073.h"

namespace healthtwin::ble {

struct PlxSpotCheckMeasurement {
  MderFloat spo2_percent;
  MderFloat pulse_rate_bpm;
  std::optional<DateTime> timestamp;
  std::optional<uint16_t> measurement_status;
  std::optional<uint32_t> device_and_sensor_status;  // 24 bits
  std::optional<MderFloat> pulse_amplitude_index_percent;
  bool device_clock_not_set = false;

  friend bool operator==(const PlxSpotCheckMeasurement&, const PlxSpotCheckMeasurement&) = default;
};

struct PlxContinuousMeasurement {
  MderFloat spo2_percent;
  MderFloat pulse_rate_bpm;
  std::optional<MderFloat> spo2_fast_percent;
  std::optional<MderFloat> pulse_rate_fast_bpm;
  std::optional<MderFloat> spo2_slow_percent;
  std::optional<MderFloat> pulse_rate_slow_bpm;
  std::optional<uint16_t> measurement_status;
  std::optional<uint32_t> device_and_sensor_status;
  std::optional<MderFloat> pulse_amplitude_index_percent;

  friend bool operator==(const PlxContinuousMeasurement&, const PlxContinuousMeasurement&) = default;
};

absl::StatusOr<PlxSpotCheckMeasurement> ParsePlxSpotCheckMeasurement(std::span<const uint8_t> value);
absl::StatusOr<PlxContinuousMeasurement> ParsePlxContinuousMeasurement(std::span<const uint8_t> value);

}  // namespace healthtwin::ble
