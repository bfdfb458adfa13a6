#include "services/ingest/vitals_paging.h"

#include <string>

#include <gtest/gtest.h>

namespace healthtwin::ingest {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;

TEST(VitalsPagingTest, RejectsOneSecondBucketsOverThirtyDaysNamingBucketS) {
  const absl::Status s = CheckBucketCount(0, 30 * kDayUs, 1);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("bucket_s"), std::string::npos) << s;
  EXPECT_NE(s.message().find("10000"), std::string::npos) << s;
  EXPECT_NE(s.message().find("use bucket_s >= 260"), std::string::npos) << s;  // 2,592,000 s / 10,000
}

TEST(VitalsPagingTest, AcceptsExactlyTheMaximumNumberOfBuckets) {
  EXPECT_TRUE(CheckBucketCount(0, kMaxBucketsPerQuery * 60'000'000, 60).ok());
  EXPECT_FALSE(CheckBucketCount(0, kMaxBucketsPerQuery * 60'000'000 + 1, 60).ok());
  EXPECT_TRUE(CheckBucketCount(0, 30 * kDayUs, 0).ok());  // raw samples are paged by rows
}

TEST(VitalsPagingTest, CursorRoundTripsBothModes) {
  for (const VitalsCursor c : {VitalsCursor{false, -1'234'567, 42}, VitalsCursor{true, 1'700'000'000'000'000, 9}}) {
    const std::string token = EncodeCursor(c);
    EXPECT_LE(token.size(), kMaxPageTokenBytes);
    absl::StatusOr<VitalsCursor> back = DecodeCursor(token);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->bucketed, c.bucketed);
    EXPECT_EQ(back->at_us, c.at_us);
    EXPECT_EQ(back->after, c.after);
  }
}

TEST(VitalsPagingTest, RejectsOffsetTokensAndGarbage) {
  for (const std::string token : {"500", "s1.", "s1.12", "s1.12.", "s1.x.1", "s1.1.-2", "b1.1.11", "x1.1.1",
                                  "s1.1.1 ", "s1.99999999999999999999.1"}) {
    absl::StatusOr<VitalsCursor> c = DecodeCursor(token);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument) << "'" << token << "'";
  }
}

TEST(VitalsPagingTest, RejectsOversizedToken) {
  const std::string token = "s1.1." + std::string(kMaxPageTokenBytes, '1');
  EXPECT_EQ(DecodeCursor(token).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(VitalsPagingTest, BucketStartFloorsBefore1970) {
  EXPECT_EQ(BucketStartUs(61'000'000, 60), 60'000'000);
  EXPECT_EQ(BucketStartUs(-1, 60), -60'000'000);
  EXPECT_EQ(BucketStartUs(-60'000'000, 60), -60'000'000);
}

}  // namespace
}  // namespace healthtwin::ingest
