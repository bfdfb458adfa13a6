// One entry point over every parser: which characteristic a UUID names, the parsed value as a
// variant, and per-characteristic reject counters.
//
// Decode() is a pure function. GattDecoder adds the counting; it is thread-safe (the counters are
// atomics), so one instance can serve every device connection of a bridge.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ble_bridge/parsers/battery.h"
#include "ble_bridge/parsers/blood_pressure.h"
#include "ble_bridge/parsers/current_time.h"
#include "ble_bridge/parsers/device_info.h"
#include "ble_bridge/parsers/glucose.h"
#include "ble_bridge/parsers/heart_rate.h"
#include "ble_bridge/parsers/plx.h"
#include "ble_bridge/parsers/racp.h"
#include "ble_bridge/parsers/temperature.h"
#include "ble_bridge/parsers/weight.h"

namespace healthtwin::ble {

// The 16-bit assigned numbers.
enum class Characteristic : uint16_t {
  kTemperatureMeasurement = 0x2A1C,
  kIntermediateTemperature = 0x2A1E,
  kGlucoseMeasurement = 0x2A18,
  kBatteryLevel = 0x2A19,
  kModelNumberString = 0x2A24,
  kSerialNumberString = 0x2A25,
  kFirmwareRevisionString = 0x2A26,
  kManufacturerNameString = 0x2A29,
  kCurrentTime = 0x2A2B,
  kGlucoseMeasurementContext = 0x2A34,
  kBloodPressureMeasurement = 0x2A35,
  kIntermediateCuffPressure = 0x2A36,
  kHeartRateMeasurement = 0x2A37,
  kRecordAccessControlPoint = 0x2A52,
  kPlxSpotCheckMeasurement = 0x2A5E,
  kPlxContinuousMeasurement = 0x2A5F,
  kWeightMeasurement = 0x2A9D,
};

inline constexpr std::array<Characteristic, 17> kAllCharacteristics = {
    Characteristic::kHeartRateMeasurement,
    Characteristic::kBloodPressureMeasurement,
    Characteristic::kIntermediateCuffPressure,
    Characteristic::kPlxSpotCheckMeasurement,
    Characteristic::kPlxContinuousMeasurement,
    Characteristic::kTemperatureMeasurement,
    Characteristic::kIntermediateTemperature,
    Characteristic::kWeightMeasurement,
    Characteristic::kGlucoseMeasurement,
    Characteristic::kGlucoseMeasurementContext,
    Characteristic::kBatteryLevel,
    Characteristic::kRecordAccessControlPoint,
    Characteristic::kCurrentTime,
    Characteristic::kManufacturerNameString,
    Characteristic::kModelNumberString,
    Characteristic::kSerialNumberString,
    Characteristic::kFirmwareRevisionString,
};

// "heart_rate_measurement", ...
absl::string_view CharacteristicName(Characteristic c);
// "2A37"
std::string CharacteristicShortUuid(Characteristic c);
// Accepts "2A37", "2a37", "0x2A37" and the full "00002a37-0000-1000-8000-00805f9b34fb".
// NotFound for a well-formed UUID this library has no parser for; InvalidArgument otherwise.
absl::StatusOr<Characteristic> ParseCharacteristicUuid(absl::string_view uuid);

using GattValue =
    std::variant<HeartRateMeasurement, BloodPressureMeasurement, IntermediateCuffPressure, PlxSpotCheckMeasurement,
                 PlxContinuousMeasurement, TemperatureMeasurement, WeightMeasurement, GlucoseMeasurement,
                 GlucoseMeasurementContext, BatteryLevel, RacpMessage, CurrentTime, DeviceInfoString>;

struct Decoded {
  Characteristic characteristic;
  GattValue value;
};

// InvalidArgument with a one-line reason (prefixed by the characteristic) for a malformed value.
absl::StatusOr<Decoded> Decode(Characteristic c, std::span<const uint8_t> value);

class GattDecoder {
 public:
  // Decode(), counting accepted and rejected values per characteristic. A value outside
  // kAllCharacteristics (a caller's bug) is rejected, not fatal, and counted under its own slot.
  absl::StatusOr<Decoded> Decode(Characteristic c, std::span<const uint8_t> value);

  uint64_t rejected(Characteristic c) const { return counters_[Index(c)].rejected.load(std::memory_order_relaxed); }
  uint64_t accepted(Characteristic c) const { return counters_[Index(c)].accepted.load(std::memory_order_relaxed); }

 private:
  struct Counters {
    std::atomic<uint64_t> accepted{0};
    std::atomic<uint64_t> rejected{0};
  };
  // The slot of `c`; kAllCharacteristics.size() for a value outside the enum.
  static std::size_t Index(Characteristic c);

  std::array<Counters, kAllCharacteristics.size() + 1> counters_;
};

}  // namespace healthtwin::ble
