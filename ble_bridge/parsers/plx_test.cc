#include "ble_bridge/parsers/plx.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

// Vectors built from the GSS v5 layouts (3.172 PLX Spot-check, 3.171 PLX Continuous) with SFLOAT
// encodings per [HL7-PHD]: 0x0062 = 98, 0x0048 = 72, 0xF3D4 = 98.0 (980e-1).
TEST(PlxSpotCheckTest, Minimal) {
  auto m = ParsePlxSpotCheckMeasurement(V("00 62 00 48 00"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->spo2_percent.value(), 98);
  EXPECT_EQ(m->pulse_rate_bpm.value(), 72);
  EXPECT_FALSE(m->timestamp);
  EXPECT_FALSE(m->device_clock_not_set);
}

TEST(PlxSpotCheckTest, AllFieldsAndClockNotSet) {
  // flags 0x1F: time stamp, measurement status, device+sensor status, PAI, clock not set.
  auto m = ParsePlxSpotCheckMeasurement(V("1F D4 F3 48 00 E8 07 03 0F 0E 1E 2D 20 00 01 02 03 2C F0"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_DOUBLE_EQ(m->spo2_percent.value(), 98.0);
  EXPECT_EQ(m->timestamp->ToIso8601(), "2024-03-15T14:30:45");
  EXPECT_EQ(m->measurement_status, 0x0020);  // measurement ongoing
  EXPECT_EQ(m->device_and_sensor_status, 0x030201u);
  EXPECT_DOUBLE_EQ(m->pulse_amplitude_index_percent->value(), 4.4);
  EXPECT_TRUE(m->device_clock_not_set);
}

// A finger-off reading: the oximeter reports SpO2 and PR as NaN.
TEST(PlxSpotCheckTest, NaNReadingStaysSpecial) {
  auto m = ParsePlxSpotCheckMeasurement(V("00 FF 07 FF 07"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->spo2_percent.special, MderSpecial::kNaN);
  EXPECT_EQ(m->pulse_rate_bpm.special, MderSpecial::kNaN);
}

TEST(PlxSpotCheckTest, RejectsWrongLengths) {
  EXPECT_FALSE(ParsePlxSpotCheckMeasurement(V("00 62 00 48")).ok());
  EXPECT_FALSE(ParsePlxSpotCheckMeasurement(V("01 62 00 48 00")).ok());        // time stamp missing
  EXPECT_FALSE(ParsePlxSpotCheckMeasurement(V("00 62 00 48 00 00")).ok());     // trailing byte
  EXPECT_FALSE(ParsePlxSpotCheckMeasurement(V("04 62 00 48 00 01 02")).ok());  // status is 3 bytes
}

// Source [bluetooth-sig-python] test_plx_continuous_measurement.py uses the same flag layouts
// (0x01 fast, 0x02 slow); its SFLOAT bytes use exponent 0x8, so ours are re-encoded per [HL7-PHD].
TEST(PlxContinuousTest, NormalFastAndSlow) {
  auto m = ParsePlxContinuousMeasurement(V("03 62 00 48 00 61 00 4B 00 63 00 46 00"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->spo2_percent.value(), 98);
  EXPECT_EQ(m->spo2_fast_percent->value(), 97);
  EXPECT_EQ(m->pulse_rate_fast_bpm->value(), 75);
  EXPECT_EQ(m->spo2_slow_percent->value(), 99);
  EXPECT_EQ(m->pulse_rate_slow_bpm->value(), 70);
}

TEST(PlxContinuousTest, StatusAndPai) {
  auto m = ParsePlxContinuousMeasurement(V("1C 62 00 48 00 00 01 00 00 00 2C F0"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->measurement_status, 0x0100);
  EXPECT_EQ(m->device_and_sensor_status, 0u);
  EXPECT_FALSE(m->spo2_fast_percent);
}

TEST(PlxContinuousTest, RejectsMissingFastPair) {
  EXPECT_FALSE(ParsePlxContinuousMeasurement(V("01 62 00 48 00 61 00")).ok());
}

}  // namespace
}  // namespace healthtwin::ble
