#include "ble_bridge/parsers/temperature.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

// Source [Nordic] TemperatureMeasurementDataCallbackTest: 37.60 C, 2012-12-05 11:50:27, finger.
TEST(TemperatureTest, NordicVector) {
  auto m = ParseTemperatureMeasurement(V("06 B0 0E 00 FE DC 07 0C 05 0B 32 1B 04"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->unit, TemperatureUnit::kCelsius);
  EXPECT_DOUBLE_EQ(m->temperature.value(), 37.60);
  EXPECT_EQ(m->timestamp->ToIso8601(), "2012-12-05T11:50:27");
  EXPECT_EQ(m->temperature_type, 4);
  EXPECT_EQ(TemperatureTypeName(4), "finger");
}

// Source [Nordic] onInvalidDataReceived: the same vector without the temperature type byte.
TEST(TemperatureTest, NordicInvalidVector) {
  EXPECT_FALSE(ParseTemperatureMeasurement(V("06 B0 0E 00 FE DC 07 0C 05 0B 32 1B")).ok());
}

// GSS 3.216 with FLOAT 0xFF0003DA = 986e-1 = 98.6 F.
TEST(TemperatureTest, FahrenheitMinimal) {
  auto m = ParseTemperatureMeasurement(V("01 DA 03 00 FF"));
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->unit, TemperatureUnit::kFahrenheit);
  EXPECT_DOUBLE_EQ(m->temperature.value(), 98.6);
}

TEST(TemperatureTest, NaNTemperatureIsSpecial) {
  auto m = ParseTemperatureMeasurement(V("00 FF FF 7F 00"));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->temperature.special, MderSpecial::kNaN);
}

TEST(TemperatureTest, ReservedTypeKeepsItsNumber) {
  EXPECT_EQ(TemperatureTypeName(0), "reserved_0");
  EXPECT_EQ(TemperatureTypeName(10), "reserved_10");
  EXPECT_EQ(TemperatureTypeName(9), "tympanum");
}

TEST(TemperatureTest, RejectsShortAndLong) {
  EXPECT_FALSE(ParseTemperatureMeasurement(V("00 DA 03 00")).ok());
  EXPECT_FALSE(ParseTemperatureMeasurement(V("00 DA 03 00 FF 02")).ok());
}

}  // namespace
}  // namespace healthtwin::ble
