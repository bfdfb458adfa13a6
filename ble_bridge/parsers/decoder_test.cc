#include "ble_bridge/parsers/decoder.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

TEST(CharacteristicUuidTest, AcceptsShortHexAndFullForms) {
  for (const char* s :
       {"2A35", "2a35", "0x2A35", "00002a35-0000-1000-8000-00805f9b34fb", "00002A35-0000-1000-8000-00805F9B34FB"}) {
    auto c = ParseCharacteristicUuid(s);
    ASSERT_TRUE(c.ok()) << s;
    EXPECT_EQ(*c, Characteristic::kBloodPressureMeasurement);
  }
}

TEST(CharacteristicUuidTest, UnknownAndMalformed) {
  EXPECT_EQ(ParseCharacteristicUuid("2A00").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ParseCharacteristicUuid("2A3").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseCharacteristicUuid("hello").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseCharacteristicUuid("12345678-0000-1000-8000-00805f9b34fb").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CharacteristicUuidTest, EveryCharacteristicRoundTripsItsShortUuid) {
  for (Characteristic c : kAllCharacteristics) {
    EXPECT_EQ(*ParseCharacteristicUuid(CharacteristicShortUuid(c)), c);
    EXPECT_NE(CharacteristicName(c), "unknown");
  }
}

TEST(DecodeTest, ReasonNamesTheCharacteristic) {
  auto d = Decode(Characteristic::kBatteryLevel, V("65"));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "2A19 battery_level: battery level 101 is above 100 %");
}

TEST(DecodeTest, NoCharacteristicAcceptsAnEmptyValueExceptStrings) {
  for (Characteristic c : kAllCharacteristics) {
    const bool is_string = c == Characteristic::kManufacturerNameString || c == Characteristic::kModelNumberString ||
                           c == Characteristic::kSerialNumberString || c == Characteristic::kFirmwareRevisionString;
    EXPECT_EQ(Decode(c, {}).ok(), is_string) << CharacteristicName(c);
  }
}

TEST(GattDecoderTest, CountsRejectsPerCharacteristic) {
  GattDecoder decoder;
  EXPECT_TRUE(decoder.Decode(Characteristic::kBatteryLevel, V("64")).ok());
  EXPECT_FALSE(decoder.Decode(Characteristic::kBatteryLevel, V("65")).ok());
  EXPECT_FALSE(decoder.Decode(Characteristic::kBatteryLevel, V("")).ok());
  EXPECT_FALSE(decoder.Decode(Characteristic::kHeartRateMeasurement, V("17 01 01")).ok());
  EXPECT_EQ(decoder.accepted(Characteristic::kBatteryLevel), 1u);
  EXPECT_EQ(decoder.rejected(Characteristic::kBatteryLevel), 2u);
  EXPECT_EQ(decoder.rejected(Characteristic::kHeartRateMeasurement), 1u);
  EXPECT_EQ(decoder.rejected(Characteristic::kWeightMeasurement), 0u);
}

// A Characteristic outside the enum used to abort in the counter lookup, taking the bridge down.
TEST(GattDecoderTest, CharacteristicOutsideTheEnumIsRejectedNotFatal) {
  GattDecoder decoder;
  const auto bogus = static_cast<Characteristic>(0x1234);
  auto d = decoder.Decode(bogus, V("00"));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decoder.rejected(bogus), 1u);
  EXPECT_EQ(decoder.accepted(bogus), 0u);
  for (Characteristic c : kAllCharacteristics) EXPECT_EQ(decoder.rejected(c), 0u) << CharacteristicName(c);
}

}  // namespace
}  // namespace healthtwin::ble
