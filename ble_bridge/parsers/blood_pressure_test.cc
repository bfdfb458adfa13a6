#include "ble_bridge/parsers/blood_pressure.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

// Source [Nordic] BloodPressureMeasurementDataCallbackTest.onBloodPressureMeasurementReceived_full:
// 138/88 mmHg, MAP 120, year unknown, 04-17 20:41:59, pulse 60, user 1, status 0b100111.
TEST(BloodPressureTest, NordicFullVector) {
  auto m = ParseBloodPressureMeasurement(V("1E 8A 00 58 00 78 00 00 00 04 11 14 29 3B 3C 00 01 27 00"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->unit, PressureUnit::kMmHg);
  EXPECT_EQ(m->systolic.value(), 138);
  EXPECT_EQ(m->diastolic.value(), 88);
  EXPECT_EQ(m->mean_arterial.value(), 120);
  ASSERT_TRUE(m->extras.timestamp);
  EXPECT_FALSE(m->extras.timestamp->date_known());  // year 0 = unknown
  EXPECT_EQ(m->extras.timestamp->month, 4);
  EXPECT_EQ(m->extras.pulse_rate_bpm->value(), 60);
  EXPECT_EQ(m->extras.user_id, 1);
  ASSERT_TRUE(m->extras.status);
  EXPECT_TRUE(m->extras.status->body_movement_detected);
  EXPECT_TRUE(m->extras.status->cuff_too_loose);
  EXPECT_TRUE(m->extras.status->irregular_pulse_detected);
  EXPECT_EQ(m->extras.status->pulse_rate_range, PulseRateRange::kWithin);
  EXPECT_TRUE(m->extras.status->improper_measurement_position);
}

// Source [Nordic] ..._some: kPa 18.9/11.0/15.9, pulse 60, status 0b010010 (cuff loose, PR below).
TEST(BloodPressureTest, NordicKpaVector) {
  auto m = ParseBloodPressureMeasurement(V("15 BD F0 0B 00 9F F0 3C 00 12 00"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->unit, PressureUnit::kKPa);
  EXPECT_DOUBLE_EQ(m->systolic.value(), 18.9);
  EXPECT_DOUBLE_EQ(m->diastolic.value(), 11.0);
  EXPECT_DOUBLE_EQ(m->mean_arterial.value(), 15.9);
  EXPECT_EQ(m->extras.user_id, std::nullopt);
  EXPECT_EQ(m->extras.timestamp, std::nullopt);
  EXPECT_TRUE(m->extras.status->cuff_too_loose);
  EXPECT_EQ(m->extras.status->pulse_rate_range, PulseRateRange::kBelowLower);
}

// Source [Nordic] ..._minimal: {0x00, 0xBD, 0xF0, 0x0B, 0x00, 0x9F, 0xF0}.
TEST(BloodPressureTest, NordicMinimalVector) {
  auto m = ParseBloodPressureMeasurement(V("00 BD F0 0B 00 9F F0"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->extras, BloodPressureExtras{});
}

// Source [Nordic] onInvalidDataReceived_toShort {1..6} and ..._noTimestamp {3, 2..7}: flags ask for
// a time stamp that is not there.
TEST(BloodPressureTest, NordicInvalidVectors) {
  EXPECT_FALSE(ParseBloodPressureMeasurement(V("01 02 03 04 05 06")).ok());
  auto m = ParseBloodPressureMeasurement(V("03 02 03 04 05 06 07"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("need 14"), std::string::npos) << m.status();
}

// The cuff error frame: systolic, diastolic and MAP are NaN (0x07FF). A naive parser reads
// 0x07FF as 2047 mmHg. GSS 3.31 / BLS: fields that cannot be measured are NaN.
TEST(BloodPressureTest, CuffErrorFrameStaysNaN) {
  auto m = ParseBloodPressureMeasurement(V("00 FF 07 FF 07 FF 07"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->systolic.special, MderSpecial::kNaN);
  EXPECT_EQ(m->diastolic.special, MderSpecial::kNaN);
  EXPECT_EQ(m->mean_arterial.special, MderSpecial::kNaN);
}

TEST(BloodPressureTest, RejectsTrailingByteAndBadTimestamp) {
  EXPECT_FALSE(ParseBloodPressureMeasurement(V("00 78 00 50 00 5A 00 00")).ok());
  EXPECT_FALSE(ParseBloodPressureMeasurement(V("")).ok());
  // Time stamp with month 13.
  EXPECT_FALSE(ParseBloodPressureMeasurement(V("02 78 00 50 00 5A 00 E8 07 0D 0F 0E 1E 2D")).ok());
}

// Source [Nordic] IntermediateCuffPressureDataCallbackTest.onIntermediateCuffPressureReceived_full:
// cuff 4 mmHg; the unused diastolic and MAP fields are 0x0000, not NaN (accepted quirk).
TEST(IntermediateCuffPressureTest, NordicFullVectorWithZeroUnusedFields) {
  auto m = ParseIntermediateCuffPressure(V("1E 04 00 00 00 00 00 00 00 04 11 14 29 3B 3C 00 01 27 00"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->cuff_pressure.value(), 4);
  EXPECT_EQ(m->extras.pulse_rate_bpm->value(), 60);
  EXPECT_EQ(m->extras.user_id, 1);
}

// Source [Nordic] ..._some (11.1 kPa) and ..._minimal (21.5 mmHg).
TEST(IntermediateCuffPressureTest, NordicKpaAndMinimalVectors) {
  auto a = ParseIntermediateCuffPressure(V("15 6F F0 00 00 00 00 3C 00 12 00"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->unit, PressureUnit::kKPa);
  EXPECT_DOUBLE_EQ(a->cuff_pressure.value(), 11.1);
  auto b = ParseIntermediateCuffPressure(V("00 D7 F0 00 00 00 00"));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_DOUBLE_EQ(b->cuff_pressure.value(), 21.5);
}

// GSS 3.128: the unused fields "shall be NaN"; a conforming cuff sends 0x07FF there.
TEST(IntermediateCuffPressureTest, ConformingNaNUnusedFields) {
  auto m = ParseIntermediateCuffPressure(V("00 A0 00 FF 07 FF 07"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->cuff_pressure.value(), 160);
}

}  // namespace
}  // namespace healthtwin::ble
