#include "ble_bridge/parsers/glucose.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

// Source [Nordic] GlucoseMeasurementDataCallbackTest.onGlucoseMeasurementReceived: seq 1,
// 2019-02-27 11:10:30, offset -5 min, 30 kg/L, capillary plasma at finger, status 0x0105, context
// follows.
TEST(GlucoseTest, NordicVector) {
  auto m = ParseGlucoseMeasurement(V("1B 01 00 E3 07 02 1B 0B 0A 1E FB FF 1E 00 12 05 01"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->sequence_number, 1);
  EXPECT_EQ(m->base_time.ToIso8601(), "2019-02-27T11:10:30");
  EXPECT_EQ(m->time_offset_min, -5);
  EXPECT_EQ(m->concentration->value(), 30);
  EXPECT_EQ(m->unit, GlucoseUnit::kKgPerL);
  EXPECT_EQ(m->type, 2);
  EXPECT_EQ(m->sample_location, 1);
  EXPECT_EQ(GlucoseTypeName(*m->type), "capillary_plasma");
  EXPECT_EQ(GlucoseSampleLocationName(*m->sample_location), "finger");
  EXPECT_EQ(m->sensor_status_annunciation, 0x0105);
  EXPECT_TRUE(m->context_information_follows);
}

// Source [Nordic] onInvalidDataReceived: the time offset the flags announce is missing.
TEST(GlucoseTest, NordicInvalidVector) {
  EXPECT_FALSE(ParseGlucoseMeasurement(V("1B 00 00 E2 07 04 1A 0B 09 1E 1E 00 12 05 01")).ok());
}

// GSS 3.106 with 95 mg/dL = 95e-5 kg/L (SFLOAT 0xB05F) and 5.5 mmol/L = 55e-4 mol/L (0xC037).
TEST(GlucoseTest, TypicalReadingsInBothUnits) {
  auto a = ParseGlucoseMeasurement(V("02 07 00 E8 07 03 0F 07 1E 00 5F B0 11"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->concentration->Scaled(5), 95.0);
  EXPECT_EQ(a->time_offset_min, std::nullopt);
  auto b = ParseGlucoseMeasurement(V("06 08 00 E8 07 03 0F 07 1E 00 37 C0 11"));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->unit, GlucoseUnit::kMolPerL);
  EXPECT_DOUBLE_EQ(b->concentration->Scaled(3), 5.5);
}

TEST(GlucoseTest, MinimalWithoutConcentration) {
  auto m = ParseGlucoseMeasurement(V("00 2A 00 E8 07 03 0F 07 1E 00"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->sequence_number, 42);
  EXPECT_FALSE(m->concentration);
  EXPECT_FALSE(m->type);
}

TEST(GlucoseTest, RejectsTruncatedBaseTime) { EXPECT_FALSE(ParseGlucoseMeasurement(V("00 2A 00 E8 07 03")).ok()); }

// Source [Nordic] GlucoseMeasurementContextDataCallbackTest.onGlucoseMeasurementContextReceived_full:
// flags 0xFF, extended flags 0xB3, dinner, 100 (carbohydrate), casual, 0x12 (tester health care
// professional, health minor issues), 60 s at 50 %, long-acting insulin, HbA1c 34.5 %. The two
// SFLOATs Nordic builds from Java floats are re-encoded here: 100 = 0x0064, 123.4 = 0xF4D2,
// 34.5 = 0xF159.
TEST(GlucoseContextTest, NordicFullVector) {
  auto c = ParseGlucoseMeasurementContext(V("FF 00 00 B3 03 64 00 04 12 3C 00 32 04 D2 F4 59 F1"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sequence_number, 0);
  EXPECT_EQ(c->extended_flags, 0xB3);
  EXPECT_EQ(CarbohydrateName(*c->carbohydrate_id), "dinner");
  EXPECT_EQ(c->carbohydrate_kg->value(), 100);
  EXPECT_EQ(MealName(*c->meal), "casual");
  EXPECT_EQ(TesterName(*c->tester), "health_care_professional");
  EXPECT_EQ(HealthName(*c->health), "minor_health_issues");
  EXPECT_EQ(c->exercise_duration_s, 60);
  EXPECT_EQ(c->exercise_intensity_percent, 50);
  EXPECT_EQ(MedicationName(*c->medication_id), "long_acting_insulin");
  EXPECT_EQ(c->medication_unit, MedicationUnit::kLiters);
  EXPECT_DOUBLE_EQ(c->medication->value(), 123.4);
  EXPECT_DOUBLE_EQ(c->hba1c_percent->value(), 34.5);
}

// Source [Nordic] ..._empty: flags 0, seq 1.
TEST(GlucoseContextTest, NordicEmptyVector) {
  auto c = ParseGlucoseMeasurementContext(V("00 01 00"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sequence_number, 1);
  EXPECT_FALSE(c->meal);
}

// Source [Nordic] ..._invalid: flags 0xFF with the HbA1c field missing.
TEST(GlucoseContextTest, NordicInvalidVector) {
  EXPECT_FALSE(ParseGlucoseMeasurementContext(V("FF 00 00 B3 03 64 00 04 12 3C 00 32 04 D2 F4")).ok());
}

TEST(GlucoseContextTest, RejectsIntensityAbove100) {
  EXPECT_FALSE(ParseGlucoseMeasurementContext(V("08 01 00 3C 00 65")).ok());
}

}  // namespace
}  // namespace healthtwin::ble
