#include "services/common/replica_lag.h"

#include "gtest/gtest.h"

namespace healthtwin::common {
namespace {

using std::chrono::milliseconds;
const ReplicaLag::Clock::time_point kT0{};

TEST(ReplicaLagTest, UnknownBeforeAnySample) {
  ReplicaLag lag(milliseconds(10'000));
  EXPECT_FALSE(lag.LagAt(100, kT0 + milliseconds(5)).has_value());
}

TEST(ReplicaLagTest, IdlePrimaryKeepsTheLagAtTheSamplingPeriod) {
  ReplicaLag lag(milliseconds(10'000));
  for (int i = 0; i <= 100; ++i) lag.RecordPrimary(kT0 + milliseconds(200 * i), 500);  // 20 s, no writes
  EXPECT_EQ(lag.LagAt(500, kT0 + milliseconds(20'150)), milliseconds(150));
}

TEST(ReplicaLagTest, AStandbyBehindIsAsOldAsTheNewestSampleItHasReplayed) {
  ReplicaLag lag(milliseconds(10'000));
  lag.RecordPrimary(kT0, 100);
  lag.RecordPrimary(kT0 + milliseconds(200), 100);
  lag.RecordPrimary(kT0 + milliseconds(400), 180);  // a commit between 200 and 400
  lag.RecordPrimary(kT0 + milliseconds(600), 180);
  EXPECT_EQ(lag.LagAt(150, kT0 + milliseconds(3'000)), milliseconds(2'800));
  EXPECT_EQ(lag.LagAt(180, kT0 + milliseconds(3'000)), milliseconds(2'400));
}

TEST(ReplicaLagTest, UnknownWhenTheStandbyIsBehindEverySampleKept) {
  ReplicaLag lag(milliseconds(1'000));
  lag.RecordPrimary(kT0, 100);
  for (int i = 1; i <= 20; ++i) lag.RecordPrimary(kT0 + milliseconds(200 * i), 100 + i);
  EXPECT_FALSE(lag.LagAt(100, kT0 + milliseconds(4'000)).has_value());
  EXPECT_EQ(lag.LagAt(120, kT0 + milliseconds(4'000)), milliseconds(0));
}

TEST(ReplicaLagTest, APrimaryAtALowerPositionStartsANewHistory) {
  ReplicaLag lag(milliseconds(10'000));
  lag.RecordPrimary(kT0, 1'000);
  lag.RecordPrimary(kT0 + milliseconds(200), 50);  // failed over to a standby that was behind
  EXPECT_FALSE(lag.LagAt(40, kT0 + milliseconds(300)).has_value());
  EXPECT_EQ(lag.LagAt(60, kT0 + milliseconds(300)), milliseconds(100));
}

}  // namespace
}  // namespace healthtwin::common
