#include "ble_bridge/parsers/glucose.h"

#include <initializer_list>
#include <utility>

#include "ble_bridge/parsers/byte_reader.h"
#include "ble_bridge/parsers/parse_util.h"

namespace healthtwin::ble {
namespace {

std::string Lookup(uint8_t v, std::initializer_list<std::pair<uint8_t, const char*>> names) {
  for (const auto& [code, name] : names) {
    if (code == v) return name;
  }
  return absl::StrCat("reserved_", v);
}

}  // namespace

std::string GlucoseTypeName(uint8_t type) {
  return Lookup(type, {{1, "capillary_whole_blood"},
                       {2, "capillary_plasma"},
                       {3, "venous_whole_blood"},
                       {4, "venous_plasma"},
                       {5, "arterial_whole_blood"},
                       {6, "arterial_plasma"},
                       {7, "undetermined_whole_blood"},
                       {8, "undetermined_plasma"},
                       {9, "interstitial_fluid"},
                       {10, "control_solution"}});
}

std::string GlucoseSampleLocationName(uint8_t location) {
  return Lookup(
      location,
      {{1, "finger"}, {2, "alternate_site_test"}, {3, "earlobe"}, {4, "control_solution"}, {15, "not_available"}});
}

std::string CarbohydrateName(uint8_t id) {
  return Lookup(
      id, {{1, "breakfast"}, {2, "lunch"}, {3, "dinner"}, {4, "snack"}, {5, "drink"}, {6, "supper"}, {7, "brunch"}});
}

std::string MealName(uint8_t meal) {
  return Lookup(meal, {{1, "preprandial"}, {2, "postprandial"}, {3, "fasting"}, {4, "casual"}, {5, "bedtime"}});
}

std::string TesterName(uint8_t tester) {
  return Lookup(tester, {{1, "self"}, {2, "health_care_professional"}, {3, "lab_test"}, {15, "not_available"}});
}

std::string HealthName(uint8_t health) {
  return Lookup(health, {{1, "minor_health_issues"},
                         {2, "major_health_issues"},
                         {3, "during_menses"},
                         {4, "under_stress"},
                         {5, "no_health_issues"},
                         {15, "not_available"}});
}

std::string MedicationName(uint8_t id) {
  return Lookup(id, {{1, "rapid_acting_insulin"},
                     {2, "short_acting_insulin"},
                     {3, "intermediate_acting_insulin"},
                     {4, "long_acting_insulin"},
                     {5, "pre_mixed_insulin"}});
}

absl::StatusOr<GlucoseMeasurement> ParseGlucoseMeasurement(std::span<const uint8_t> value) {
  if (value.empty()) return internal::TooShort(0, 10);
  const uint8_t flags = value[0];
  const std::size_t expected =
      1 + 2 + kDateTimeSize + (flags & 0x01 ? 2 : 0) + (flags & 0x02 ? 3 : 0) + (flags & 0x08 ? 2 : 0);
  if (absl::Status s = internal::ExpectLength(value.size(), expected, flags); !s.ok()) return s;

  ByteReader r(value);
  r.U8();
  GlucoseMeasurement m;
  m.sequence_number = r.U16();
  auto base = ReadDateTime(r);
  if (!base.ok()) return base.status();
  m.base_time = *base;
  if (flags & 0x01) m.time_offset_min = r.S16();
  if (flags & 0x02) {
    m.concentration = DecodeSfloat(r.U16());
    m.unit = flags & 0x04 ? GlucoseUnit::kMolPerL : GlucoseUnit::kKgPerL;
    const uint8_t type_location = r.U8();
    m.type = type_location & 0x0F;
    m.sample_location = type_location >> 4;
  }
  if (flags & 0x08) m.sensor_status_annunciation = r.U16();
  m.context_information_follows = flags & 0x10;
  return r.Finish(std::move(m));
}

absl::StatusOr<GlucoseMeasurementContext> ParseGlucoseMeasurementContext(std::span<const uint8_t> value) {
  if (value.empty()) return internal::TooShort(0, 3);
  const uint8_t flags = value[0];
  const std::size_t expected = 1 + 2 + (flags & 0x80 ? 1 : 0) + (flags & 0x01 ? 3 : 0) + (flags & 0x02 ? 1 : 0) +
                               (flags & 0x04 ? 1 : 0) + (flags & 0x08 ? 3 : 0) + (flags & 0x10 ? 3 : 0) +
                               (flags & 0x40 ? 2 : 0);
  if (absl::Status s = internal::ExpectLength(value.size(), expected, flags); !s.ok()) return s;

  ByteReader r(value);
  r.U8();
  GlucoseMeasurementContext c;
  c.sequence_number = r.U16();
  if (flags & 0x80) c.extended_flags = r.U8();
  if (flags & 0x01) {
    c.carbohydrate_id = r.U8();
    c.carbohydrate_kg = DecodeSfloat(r.U16());
  }
  if (flags & 0x02) c.meal = r.U8();
  if (flags & 0x04) {
    const uint8_t tester_health = r.U8();
    c.tester = tester_health & 0x0F;
    c.health = tester_health >> 4;
  }
  if (flags & 0x08) {
    c.exercise_duration_s = r.U16();
    c.exercise_intensity_percent = r.U8();
    if (*c.exercise_intensity_percent > 100) {
      return absl::InvalidArgumentError(
          absl::StrCat("exercise intensity ", *c.exercise_intensity_percent, " is above 100 %"));
    }
  }
  if (flags & 0x10) {
    c.medication_id = r.U8();
    c.medication = DecodeSfloat(r.U16());
    c.medication_unit = flags & 0x20 ? MedicationUnit::kLiters : MedicationUnit::kKilograms;
  }
  if (flags & 0x40) c.hba1c_percent = DecodeSfloat(r.U16());
  return r.Finish(std::move(c));
}

}  // namespace healthtwin::ble
