// Blood Pressure Measurement (0x2A35) and Intermediate Cuff Pressure (0x2A36), Blood Pressure
// Service (GSS 3.31 and 3.128). Both share one layout:
//
//   flags u8 | systolic SFLOAT | diastolic SFLOAT | mean arterial SFLOAT | [time stamp 7]
//   | [pulse rate SFLOAT] | [user id u8] | [measurement status u16]
//
// Flags: bit 0 unit (0 = mmHg, 1 = kPa); bit 1 time stamp; bit 2 pulse rate; bit 3 user id;
// bit 4 measurement status; bits 5-7 reserved (ignored).
// In 2A36 the first SFLOAT is the current cuff pressure and the other two are unused; their
// content is ignored (see README: some cuffs send 0 there instead of NaN).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "absl/status/statusor.h"
#include "ble_bridge/parsers/date_time.h"
#include "ble_bridge/parsers/ieee11073.h"

namespace healthtwin::ble {

enum class PressureUnit : uint8_t { kMmHg, kKPa };

enum class PulseRateRange : uint8_t { kWithin, kExceedsUpper, kBelowLower, kReserved };

struct BloodPressureStatus {
  uint16_t raw = 0;
  bool body_movement_detected = false;
  bool cuff_too_loose = false;
  bool irregular_pulse_detected = false;
  PulseRateRange pulse_rate_range = PulseRateRange::kWithin;
  bool improper_measurement_position = false;

  friend bool operator==(const BloodPressureStatus&, const BloodPressureStatus&) = default;
};

// The optional trailer both characteristics carry.
struct BloodPressureExtras {
  std::optional<DateTime> timestamp;
  std::optional<MderFloat> pulse_rate_bpm;
  std::optional<uint8_t> user_id;  // 0xFF means "unknown user"
  std::optional<BloodPressureStatus> status;

  friend bool operator==(const BloodPressureExtras&, const BloodPressureExtras&) = default;
};

struct BloodPressureMeasurement {
  PressureUnit unit = PressureUnit::kMmHg;
  MderFloat systolic;
  MderFloat diastolic;
  MderFloat mean_arterial;
  BloodPressureExtras extras;

  friend bool operator==(const BloodPressureMeasurement&, const BloodPressureMeasurement&) = default;
};

struct IntermediateCuffPressure {
  PressureUnit unit = PressureUnit::kMmHg;
  MderFloat cuff_pressure;
  BloodPressureExtras extras;

  friend bool operator==(const IntermediateCuffPressure&, const IntermediateCuffPressure&) = default;
};

inline constexpr uint8_t kUnknownUserId = 0xFF;
// 1 kPa in mmHg: 1000 Pa / (101325 Pa / 760 mmHg).
inline constexpr double kMmHgPerKPa = 760.0 / 101.325;

absl::StatusOr<BloodPressureMeasurement> ParseBloodPressureMeasurement(std::span<const uint8_t> value);
absl::StatusOr<IntermediateCuffPressure> ParseIntermediateCuffPressure(std::span<const uint8_t> value);

}  // namespace healthtwin::ble
