#include "ble_bridge/cli/gateway_clock.h"

#include <gtest/gtest.h>

namespace healthtwin::ble {
namespace {

constexpr int64_t kStart = 1'790'000'000'000'000;
constexpr int64_t kHourUs = 3'600'000'000;

class GatewayClockTest : public ::testing::Test {
 protected:
  GatewayClock MakeClock() {
    return GatewayClock({.wall_unix_us = [this] { return wall_; }, .monotonic_us = [this] { return monotonic_; }});
  }
  void Advance(int64_t us) {
    wall_ += us;
    monotonic_ += us;
  }
  int64_t wall_ = kStart;
  int64_t monotonic_ = 42;
};

TEST_F(GatewayClockTest, FollowsTheSystemClockWhileItDoesNotStep) {
  GatewayClock clock = MakeClock();
  EXPECT_EQ(clock.NowUnixMicros(), kStart);
  Advance(1'000'000);
  wall_ += 300'000;  // NTP slewing / a small correction is followed
  EXPECT_EQ(clock.NowUnixMicros(), kStart + 1'300'000);
  EXPECT_EQ(clock.Stats().jumps_total, 0u);
}

TEST_F(GatewayClockTest, ForwardStepIsCountedAndNotFollowed) {
  GatewayClock clock = MakeClock();
  clock.NowUnixMicros();
  Advance(1'000'000);
  wall_ += 3 * kHourUs;
  EXPECT_EQ(clock.NowUnixMicros(), kStart + 1'000'000);
  Advance(2'000'000);
  EXPECT_EQ(clock.NowUnixMicros(), kStart + 3'000'000);
  EXPECT_EQ(clock.Stats().jumps_total, 1u);
  EXPECT_EQ(clock.Stats().system_offset_us, 3 * kHourUs);
}

TEST_F(GatewayClockTest, BackwardStepNeitherRepeatsNorReordersStamps) {
  GatewayClock clock = MakeClock();
  int64_t last = clock.NowUnixMicros();
  for (int i = 0; i < 10; ++i) {
    Advance(100'000);
    if (i == 4) wall_ -= 3 * kHourUs;
    const int64_t now = clock.NowUnixMicros();
    EXPECT_EQ(now, last + 100'000) << "call " << i;
    last = now;
  }
  EXPECT_EQ(clock.Stats().jumps_total, 1u);
  EXPECT_EQ(clock.Stats().system_offset_us, -3 * kHourUs);
}

TEST_F(GatewayClockTest, StepBackToTheRightTimeRestoresAgreement) {
  GatewayClock clock = MakeClock();
  clock.NowUnixMicros();
  Advance(1'000'000);
  wall_ += 3 * kHourUs;
  clock.NowUnixMicros();
  Advance(1'000'000);
  wall_ -= 3 * kHourUs;  // the clock is put right
  EXPECT_EQ(clock.NowUnixMicros(), kStart + 2'000'000);
  EXPECT_EQ(clock.Stats().jumps_total, 2u);
  EXPECT_EQ(clock.Stats().system_offset_us, 0);
  Advance(1'000'000);
  wall_ += 200'000;  // and small corrections are followed again
  EXPECT_EQ(clock.NowUnixMicros(), kStart + 3'200'000);
}

TEST_F(GatewayClockTest, SmallStepBackHoldsStampsInsteadOfRepeatingThem) {
  GatewayClock clock = MakeClock();
  clock.NowUnixMicros();
  Advance(1'000'000);
  const int64_t before = clock.NowUnixMicros();
  wall_ -= 2'000'000;  // below the threshold: followed, but never backwards
  Advance(500'000);
  EXPECT_EQ(clock.NowUnixMicros(), before);
  Advance(2'000'000);
  EXPECT_EQ(clock.NowUnixMicros(), before + 500'000);
}

}  // namespace
}  // namespace healthtwin::ble
