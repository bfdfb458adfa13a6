// Glucose Service: Glucose Measurement (0x2A18, GSS 3.106) and Glucose Measurement Context
// (0x2A34, GSS 3.107).
//
// 2A18: flags u8 | sequence number u16 | base time 7 | [time offset s16 min]
//       | [concentration SFLOAT, type-sample location u8] | [sensor status annunciation u16]
//   flags: bit 0 time offset; bit 1 concentration + type/location; bit 2 concentration unit
//   (0 = kg/L, 1 = mol/L); bit 3 sensor status annunciation; bit 4 context information follows;
//   bits 5-7 reserved (ignored). Type is the low nibble, sample location the high nibble.
// 2A34: flags u8 | sequence number u16 | [extended flags u8] | [carbohydrate id u8, carbohydrate
//       SFLOAT kg] | [meal u8] | [tester-health u8] | [exercise duration u16 s, intensity u8 %]
//       | [medication id u8, medication SFLOAT kg or L] | [HbA1c SFLOAT %]
//   flags: bit 0 carbohydrate; bit 1 meal; bit 2 tester-health; bit 3 exercise; bit 4
//   medication; bit 5 medication unit (0 = kg, 1 = L); bit 6 HbA1c; bit 7 extended flags.
//   Tester is the low nibble, health the high nibble. Extended flags are all reserved.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "ble_bridge/parsers/date_time.h"
#include "ble_bridge/parsers/ieee11073.h"

namespace healthtwin::ble {

enum class GlucoseUnit : uint8_t { kKgPerL, kMolPerL };

struct GlucoseMeasurement {
  uint16_t sequence_number = 0;
  DateTime base_time;
  std::optional<int16_t> time_offset_min;
  // The three below are present together (flag bit 1).
  std::optional<MderFloat> concentration;
  GlucoseUnit unit = GlucoseUnit::kKgPerL;
  std::optional<uint8_t> type;             // low nibble
  std::optional<uint8_t> sample_location;  // high nibble
  std::optional<uint16_t> sensor_status_annunciation;
  bool context_information_follows = false;

  friend bool operator==(const GlucoseMeasurement&, const GlucoseMeasurement&) = default;
};

inline constexpr uint16_t kExerciseDurationOverrun = 0xFFFF;

enum class MedicationUnit : uint8_t { kKilograms, kLiters };

struct GlucoseMeasurementContext {
  uint16_t sequence_number = 0;
  std::optional<uint8_t> extended_flags;
  std::optional<uint8_t> carbohydrate_id;
  std::optional<MderFloat> carbohydrate_kg;
  std::optional<uint8_t> meal;
  std::optional<uint8_t> tester;                // low nibble
  std::optional<uint8_t> health;                // high nibble
  std::optional<uint16_t> exercise_duration_s;  // kExerciseDurationOverrun = overrun
  std::optional<uint8_t> exercise_intensity_percent;
  std::optional<uint8_t> medication_id;
  std::optional<MderFloat> medication;  // in medication_unit
  MedicationUnit medication_unit = MedicationUnit::kKilograms;
  std::optional<MderFloat> hba1c_percent;

  friend bool operator==(const GlucoseMeasurementContext&, const GlucoseMeasurementContext&) = default;
};

// Names for the enumerations; a reserved value becomes "reserved_<n>".
std::string GlucoseTypeName(uint8_t type);
std::string GlucoseSampleLocationName(uint8_t location);
std::string CarbohydrateName(uint8_t id);
std::string MealName(uint8_t meal);
std::string TesterName(uint8_t tester);
std::string HealthName(uint8_t health);
std::string MedicationName(uint8_t id);

absl::StatusOr<GlucoseMeasurement> ParseGlucoseMeasurement(std::span<const uint8_t> value);
absl::StatusOr<GlucoseMeasurementContext> ParseGlucoseMeasurementContext(std::span<const uint8_t> value);

}  // namespace healthtwin::ble
