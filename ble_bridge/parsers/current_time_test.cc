#include "ble_bridge/parsers/current_time.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

// Source [bluetooth-sig-python] test_current_time.py: 2025-01-15 14:30:45, Wednesday, 33/256,
// manual update.
TEST(CurrentTimeTest, BluetoothSigPythonVector) {
  auto t = ParseCurrentTime(V("E9 07 01 0F 0E 1E 2D 03 21 01"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->date_time.ToIso8601(), "2025-01-15T14:30:45");
  EXPECT_EQ(t->day_of_week, 3);
  EXPECT_EQ(t->fractions256, 33);
  EXPECT_EQ(t->adjust_reason, kAdjustManual);
}

// Source [bluetooth-sig-python]: 2025-12-31 23:59:59, day 7, 255/256, reasons 0x06. Its day of
// week does not match the date (31 Dec 2025 is a Wednesday); we do not cross-check it.
TEST(CurrentTimeTest, EndOfDayAndInconsistentWeekday) {
  auto t = ParseCurrentTime(V("E9 07 0C 1F 17 3B 3B 07 FF 06"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->fractions256, 255);
  EXPECT_EQ(t->adjust_reason, kAdjustExternalReference | kAdjustTimeZoneChange);
}

// Source [bluetooth-sig-python] invalid cases: month 13, day 32, hour 24, minute 60, second 60,
// day of week 8; min year 1582 [2E 06] valid, 10000 [10 27] invalid.
TEST(CurrentTimeTest, BluetoothSigPythonInvalidVectors) {
  for (const char* v :
       {"E9 07 0D 01 00 00 00 01 00 00", "E9 07 01 20 00 00 00 01 00 00", "E9 07 01 01 18 00 00 01 00 00",
        "E9 07 01 01 00 3C 00 01 00 00", "E9 07 01 01 00 00 3C 01 00 00", "E9 07 01 01 00 00 00 08 00 00",
        "10 27 01 01 00 00 00 01 00 00", "E9 07 01 01 00 00 00 01 00", ""}) {
    EXPECT_FALSE(ParseCurrentTime(V(v)).ok()) << v;
  }
  EXPECT_TRUE(ParseCurrentTime(V("2E 06 01 01 00 00 00 01 00 00")).ok());
  EXPECT_TRUE(ParseCurrentTime(V("0F 27 0C 1F 17 3B 3B 07 FF 0F")).ok());
}

TEST(CurrentTimeTest, MakeAndEncodeForWritingToDevice) {
  auto t = MakeCurrentTime(DateTime{2025, 1, 15, 14, 30, 45}, 33, kAdjustExternalReference);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->day_of_week, 3);
  auto bytes = EncodeCurrentTime(*t);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, V("E9 07 01 0F 0E 1E 2D 03 21 02"));
  EXPECT_EQ(*ParseCurrentTime(*bytes), *t);
}

TEST(CurrentTimeTest, EncodeRefusesInvalidTime) {
  EXPECT_FALSE(EncodeCurrentTime(CurrentTime{DateTime{2025, 13, 1, 0, 0, 0}, 1, 0, 0}).ok());
  EXPECT_FALSE(EncodeCurrentTime(CurrentTime{DateTime{2025, 1, 1, 0, 0, 0}, 8, 0, 0}).ok());
  EXPECT_FALSE(EncodeCurrentTime(CurrentTime{DateTime{2025, 1, 1, 0, 0, 0}, 3, 0, 0x10}).ok());
  EXPECT_FALSE(MakeCurrentTime(DateTime{0, 0, 0, 1, 2, 3}, 0, 0).ok());
}

}  // namespace
}  // namespace healthtwin::ble
