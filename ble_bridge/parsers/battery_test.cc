#include "ble_bridge/parsers/battery.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

// Source [Nordic] BatteryLevelDataCallbackTest: {0x64} = 100, {0x0F} = 15, {0x64, 0x00} too long,
// {0x65} out of range.
TEST(BatteryTest, NordicVectors) {
  EXPECT_EQ(ParseBatteryLevel(V("64"))->battery_percent, 100);
  EXPECT_EQ(ParseBatteryLevel(V("0F"))->battery_percent, 15);
  EXPECT_FALSE(ParseBatteryLevel(V("64 00")).ok());
  EXPECT_FALSE(ParseBatteryLevel(V("65")).ok());
}

TEST(BatteryTest, RejectsEmpty) { EXPECT_FALSE(ParseBatteryLevel(V("")).ok()); }

}  // namespace
}  // namespace healthtwin::ble
