#include "ble_bridge/parsers/date_time.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using testing::V;

absl::StatusOr<DateTime> Read(const std::vector<uint8_t>& b) {
  ByteReader r(b);
  return ReadDateTime(r);
}

// Source [Nordic] DateTimeDataCallbackTest.onDateTimeReceived_today:
// {0xE2, 0x07, 4, 17, 15, 51, 0} = 2018-04-17 15:51:00.
TEST(DateTimeTest, ReadsNordicVector) {
  auto dt = Read(V("E2 07 04 11 0F 33 00"));
  ASSERT_TRUE(dt.ok()) << dt.status();
  EXPECT_EQ(dt->ToIso8601(), "2018-04-17T15:51:00");
}

// Source [Nordic] DateTimeDataCallbackTest.onDateTimeReceived_dateNotKnown: {0, 0, 0, 0, 18, 26, 32}.
TEST(DateTimeTest, UnknownDateHasNoIsoForm) {
  auto dt = Read(V("00 00 00 00 12 1A 20"));
  ASSERT_TRUE(dt.ok()) << dt.status();
  EXPECT_FALSE(dt->date_known());
  EXPECT_EQ(dt->ToIso8601(), std::nullopt);
}

// Source [bluetooth-sig-python] test_current_time.py invalid cases (month 13, day 32, hours 24,
// minutes 60, seconds 60), as Date Time fields; GSS 3.70 ranges.
TEST(DateTimeTest, RejectsOutOfRangeFields) {
  EXPECT_FALSE(Read(V("E9 07 0D 01 00 00 00")).ok());
  EXPECT_FALSE(Read(V("E9 07 01 20 00 00 00")).ok());
  EXPECT_FALSE(Read(V("E9 07 01 01 18 00 00")).ok());
  EXPECT_FALSE(Read(V("E9 07 01 01 00 3C 00")).ok());
  EXPECT_FALSE(Read(V("E9 07 01 01 00 00 3C")).ok());
  EXPECT_FALSE(Read(V("2D 06 01 01 00 00 00")).ok());  // 1581
  EXPECT_FALSE(Read(V("10 27 01 01 00 00 00")).ok());  // 10000
}

TEST(DateTimeTest, RejectsDayThatMonthDoesNotHave) {
  EXPECT_FALSE(Read(V("E9 07 02 1D 00 00 00")).ok());  // 2025-02-29
  EXPECT_TRUE(Read(V("E8 07 02 1D 00 00 00")).ok());   // 2024-02-29
  EXPECT_FALSE(Read(V("E8 07 04 1F 00 00 00")).ok());  // 2024-04-31
}

TEST(DateTimeTest, DayOfWeekCountsFromMonday) {
  EXPECT_EQ(DayOfWeek(2025, 1, 15), 3);  // Wednesday
  EXPECT_EQ(DayOfWeek(2024, 2, 29), 4);  // Thursday
  EXPECT_EQ(DayOfWeek(2000, 1, 2), 7);   // Sunday
  EXPECT_EQ(DayOfWeek(1970, 1, 1), 4);   // Thursday
}

}  // namespace
}  // namespace healthtwin::ble
