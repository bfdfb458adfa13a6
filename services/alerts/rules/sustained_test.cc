#include "services/alerts/rules/sustained.h"

#include <gtest/gtest.h>

#include "services/alerts/rules/test_support.h"

namespace healthtwin::alerts::rules {
namespace {

using namespace testing;  // NOLINT: kS, kMin

std::vector<TimedValue> Every(int64_t every_us, int n, double value) {
  std::vector<TimedValue> s;
  for (int i = 0; i < n; ++i) s.push_back({kT0 + i * every_us, value});
  return s;
}

TEST(AllowedGapTest, FollowsTheDeviceCadence) {
  EXPECT_DOUBLE_EQ(AllowedGapS(Every(kS, 20, 0), 19, 900), 30);             // 1 Hz strap: the 30 s floor
  EXPECT_DOUBLE_EQ(AllowedGapS(Every(kMin, 20, 0), 19, 900), 150);          // watch: 2.5 min
  EXPECT_DOUBLE_EQ(AllowedGapS(Every(5 * kMin, 20, 0), 19, 1800), 750);     // oximeter: 12.5 min
  EXPECT_DOUBLE_EQ(AllowedGapS(Every(8 * kHour, 5, 0), 4, 93600), 72000);   // cuff 3 a day: 20 h
  EXPECT_DOUBLE_EQ(AllowedGapS(Every(12 * kHour, 5, 0), 4, 93600), 93600);  // twice a day: the 26 h cap
  EXPECT_DOUBLE_EQ(AllowedGapS(Every(kMin, 2, 0), 1, 900), 900);            // no cadence yet: the cap
}

SustainedParams High() {
  return {.above = true,
          .threshold = 120,
          .hysteresis = 5,
          .min_samples = 3,
          .min_duration_s = 600,
          .clear_duration_s = 300,
          .stale_after_s = 900};
}

TEST(SustainedTest, HoldsBetweenClearLevelAndThreshold) {
  auto s = Every(kMin, 15, 130);
  for (int i = 0; i < 10; ++i) s.push_back({kT0 + (15 + i) * kMin, 118});  // above 115: still on
  auto v = EvaluateSustained(s, High(), s.back().t_us);
  EXPECT_TRUE(v.active);
  EXPECT_EQ(v.started_us, kT0);
}

TEST(SustainedTest, ClearsAfterClearDurationBelowClearLevel) {
  auto s = Every(kMin, 15, 130);
  for (int i = 0; i < 5; ++i) s.push_back({kT0 + (15 + i) * kMin, 110});
  EXPECT_TRUE(EvaluateSustained(s, High(), s.back().t_us).active);  // 4 min below: not yet
  s.push_back({kT0 + 20 * kMin, 110});
  auto v = EvaluateSustained(s, High(), s.back().t_us);
  EXPECT_FALSE(v.active);
  EXPECT_EQ(v.ended_us, kT0 + 15 * kMin);
  EXPECT_FALSE(v.stale);
}

TEST(SustainedTest, GapLongerThanCadenceAllowsEndsEpisode) {
  auto s = Every(kMin, 15, 130);
  s.push_back({kT0 + 25 * kMin, 130});  // 11 min gap on a one-a-minute watch
  auto v = EvaluateSustained(s, High(), s.back().t_us);
  EXPECT_FALSE(v.active);
  EXPECT_TRUE(v.stale);
  EXPECT_EQ(v.ended_us, kT0 + 14 * kMin);
}

TEST(SustainedTest, PeakIgnoresOneSpikeInsideEpisode) {
  auto s = Every(kMin, 15, 130);
  s[7].value = 220;
  EXPECT_DOUBLE_EQ(EvaluateSustained(s, High(), s.back().t_us).peak, 130);
}

}  // namespace
}  // namespace healthtwin::alerts::rules
