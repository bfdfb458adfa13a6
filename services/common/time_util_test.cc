#include "services/common/time_util.h"

#include "gtest/gtest.h"
#include "services/common/page_token.h"

namespace healthtwin::common {
namespace {

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(seconds);
  ts.set_nanos(nanos);
  return ts;
}

constexpr int64_t kYear1Seconds = -62135596800;        // 0001-01-01T00:00:00Z
constexpr int64_t kYear9999EndSeconds = 253402300799;  // 9999-12-31T23:59:59Z

TEST(TimestampTest, ConvertsTheWholeRangeOfYears0001To9999) {
  EXPECT_EQ(*ToUnixMicros(Ts(kYear1Seconds), "at"), kYear1Seconds * 1'000'000);
  EXPECT_EQ(*ToUnixMicros(Ts(kYear9999EndSeconds, 999'999'999), "at"), kYear9999EndSeconds * 1'000'000 + 999'999);
  EXPECT_EQ(*ToUnixMicros(Ts(1'790'000'000, 1500), "at"), 1'790'000'000'000'001);
}

TEST(TimestampTest, RejectsSecondsOutsideYears0001To9999NamingTheField) {
  for (int64_t seconds : {kYear9999EndSeconds + 1, kYear1Seconds - 1, INT64_MAX, INT64_MIN,
                          int64_t{20'236'744'074'158}}) {  // x 1e6 would wrap to 2026-09-21
    absl::StatusOr<int64_t> us = ToUnixMicros(Ts(seconds), "measured_at");
    ASSERT_FALSE(us.ok()) << seconds;
    EXPECT_EQ(us.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(us.status().message().rfind("measured_at: seconds ", 0), 0u) << us.status().message();
  }
}

TEST(TimestampTest, RejectsNanosOutsideZeroToOneSecond) {
  for (int32_t nanos : {-1, 1'000'000'000, INT32_MIN}) {
    absl::StatusOr<int64_t> us = ToUnixMicros(Ts(0, nanos), "since");
    ASSERT_FALSE(us.ok()) << nanos;
    EXPECT_EQ(us.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(us.status().message().rfind("since: nanos ", 0), 0u) << us.status().message();
  }
}

TEST(TimestampTest, FormatsOutOfRangeTimestampsWithoutConverting) {
  EXPECT_EQ(FormatTimestamp(Ts(1'790'000'000)), "2026-09-21T14:13:20.000000Z");
  EXPECT_EQ(FormatTimestamp(Ts(INT64_MAX)), "invalid timestamp (seconds=9223372036854775807, nanos=0)");
}

TEST(PageTokenTest, AcceptsOnlyDecimalDigitsUpToTheMaximum) {
  EXPECT_EQ(*ParsePageToken("", 10), 0);
  EXPECT_EQ(*ParsePageToken("0", 10), 0);
  EXPECT_EQ(*ParsePageToken("10", 10), 10);
  for (const char* token :
       {"11", "-1", " 1", "1 ", "+1", "1abc", "0x10", "18446744073709551615", "99999999999999999999999"}) {
    absl::StatusOr<int64_t> v = ParsePageToken(token, 10);
    ASSERT_FALSE(v.ok()) << token;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(v.status().message(), "page_token: not a token this service issued");
  }
  EXPECT_EQ(*ParsePageToken("9223372036854775807", INT64_MAX), INT64_MAX);
}

}  // namespace
}  // namespace healthtwin::common
