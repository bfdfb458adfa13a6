#include "ble_bridge/parsers/weight.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

// Source [bluetooth-sig-python] test_weight_measurement.py, tests 1-6 (no SFLOAT in 2A9D).
TEST(WeightTest, BluetoothSigPythonMetric) {
  auto a = ParseWeightMeasurement(V("00 B0 36"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_DOUBLE_EQ(a->weight(), 70.0);
  EXPECT_FALSE(a->imperial);
  auto b = ParseWeightMeasurement(V("02 B0 36 E7 07 0C 19 0E 1E 2D"));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->timestamp->ToIso8601(), "2023-12-25T14:30:45");
  auto c = ParseWeightMeasurement(V("0C B0 36 05 F5 00 D6 06"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->user_id, 5);
  EXPECT_EQ(c->bmi_raw, 245);
  EXPECT_EQ(c->height_raw, 1750);
  auto d = ParseWeightMeasurement(V("08 B0 36 F5 00 D6 06"));
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->user_id, std::nullopt);
}

TEST(WeightTest, BluetoothSigPythonImperial) {
  auto a = ParseWeightMeasurement(V("01 54 3D"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_DOUBLE_EQ(a->weight(), 157.0);
  EXPECT_NEAR(a->weight_kg(), 71.214, 0.001);
  auto b = ParseWeightMeasurement(V("0F 54 3D E7 07 0C 19 0E 1E 2D 03 F5 00 A8 02"));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->user_id, 3);
  EXPECT_EQ(b->height_raw, 680);  // 68.0 in
}

// Source [bluetooth-sig-python] invalid: [0x00, 0x01] and [0x00] are too short.
TEST(WeightTest, RejectsShort) {
  EXPECT_FALSE(ParseWeightMeasurement(V("00 01")).ok());
  EXPECT_FALSE(ParseWeightMeasurement(V("00")).ok());
  EXPECT_FALSE(ParseWeightMeasurement(V("08 B0 36 F5 00")).ok());
}

// GSS 3.251: weight 0xFFFF is "Measurement Unsuccessful".
TEST(WeightTest, UnsuccessfulMeasurement) {
  auto m = ParseWeightMeasurement(V("00 FF FF"));
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->measurement_unsuccessful());
}

}  // namespace
}  // namespace healthtwin::ble
