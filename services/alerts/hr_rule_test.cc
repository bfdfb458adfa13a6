#include "services/alerts/hr_rule.h"

#include <gtest/gtest.h>

namespace healthtwin::alerts {
namespace {

std::vector<HrPoint> Series(int64_t start_s, int n, double bpm, int step_s = 1) {
  std::vector<HrPoint> v;
  for (int i = 0; i < n; ++i) v.push_back({(start_s + i * step_s) * 1'000'000LL, bpm});
  return v;
}

TEST(HrRuleTest, FiresAfterSixtySecondsAboveThreshold) {
  auto pts = Series(0, 61, 130);  // 0..60 s
  auto eps = FindSustainedHighHeartRate(pts, {});
  ASSERT_EQ(eps.size(), 1u);
  EXPECT_EQ(eps[0].start_us, 0);
  EXPECT_DOUBLE_EQ(eps[0].duration_s(), 60);
  EXPECT_DOUBLE_EQ(eps[0].peak_bpm, 130);
}

TEST(HrRuleTest, DoesNotFireAtFiftyNineSeconds) {
  EXPECT_TRUE(FindSustainedHighHeartRate(Series(0, 60, 130), {}).empty());
}

TEST(HrRuleTest, ExactlyThresholdIsNotAbove) {
  EXPECT_TRUE(FindSustainedHighHeartRate(Series(0, 120, 120), {}).empty());
}

TEST(HrRuleTest, NormalBeatBreaksTheRun) {
  auto pts = Series(0, 40, 130);
  pts.push_back({40'000'000, 90});
  auto rest = Series(41, 40, 130);
  pts.insert(pts.end(), rest.begin(), rest.end());
  EXPECT_TRUE(FindSustainedHighHeartRate(pts, {}).empty());
}

TEST(HrRuleTest, LongGapBreaksTheRun) {
  auto pts = Series(0, 40, 130);
  auto later = Series(100, 40, 130);  // 61 s without data
  pts.insert(pts.end(), later.begin(), later.end());
  EXPECT_TRUE(FindSustainedHighHeartRate(pts, {}).empty());
}

TEST(HrRuleTest, SameDataGivesSameEpisodeIdentity) {
  auto pts = Series(10, 90, 140);
  auto a = FindSustainedHighHeartRate(pts, {});
  pts.push_back({100'000'000, 150});
  auto b = FindSustainedHighHeartRate(pts, {});
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].start_us, b[0].start_us);
  EXPECT_DOUBLE_EQ(b[0].peak_bpm, 150);
}

}  // namespace
}  // namespace healthtwin::alerts
