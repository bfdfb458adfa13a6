// Heart Rate Measurement (0x2A37, Heart Rate Service, GSS 3.113).
//
//   flags u8 | heart rate u8 or u16 | [energy expended u16 kJ] | [RR-interval u16 1/1024 s]...
//
// Flags: bit 0 heart-rate format (0 = u8, 1 = u16); bits 1-2 sensor contact (bit 2 = feature
// supported, bit 1 = contact detected); bit 3 energy expended present; bit 4 RR-intervals
// present; bits 5-7 reserved (ignored, as the Core specification asks of receivers).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace healthtwin::ble {

struct HeartRateMeasurement {
  uint16_t heart_rate_bpm = 0;
  std::optional<bool> sensor_contact;  // nullopt: the sensor-contact feature is not supported
  std::optional<uint16_t> energy_expended_kj;
  // Present (possibly several) when flag bit 4 is set; each in units of 1/1024 s.
  std::optional<std::vector<uint16_t>> rr_intervals_1024ths;

  friend bool operator==(const HeartRateMeasurement&, const HeartRateMeasurement&) = default;
};

// InvalidArgument with the reason when the value is malformed: too short for its flags, an odd
// number of RR bytes, or the RR flag set with no RR-interval at all.
absl::StatusOr<HeartRateMeasurement> ParseHeartRateMeasurement(std::span<const uint8_t> value);

}  // namespace healthtwin::ble
