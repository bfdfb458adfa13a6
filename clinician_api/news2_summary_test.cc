#include "clinician_api/news2_summary.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace healthtwin::clinician {
namespace {

using ::testing::ElementsAre;

// VitalType numbers (protos/healthtwin/vitals/v1/vitals.proto).
constexpr int kHr = 1, kSys = 2, kSpo2 = 5, kTemp = 6, kRr = 9, kPulse = 10;

TEST(SummarizeNews2Test, NothingFreshIsNoScore) {
  EXPECT_FALSE(SummarizeNews2({}).has_value());
  EXPECT_FALSE(SummarizeNews2({{kHr, 80, kNews2FreshHeartRateS + 1}}).has_value());
}

TEST(SummarizeNews2Test, WearableVitalsArePartialAndNameWhatIsMissing) {
  // RCP 2017 chart 1: HR 135 -> 3, SpO2 97 -> 0 (scale 1), SBP 100 -> 2, temperature 38.5 -> 1.
  auto s = SummarizeNews2({{kHr, 135, 60}, {kSpo2, 97, 120}, {kSys, 100, 4000}, {kTemp, 38.5, 100}});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->score, 6);
  EXPECT_EQ(s->risk, "medium");
  EXPECT_TRUE(s->partial);
  EXPECT_THAT(s->missing, ElementsAre("respiratory_rate", "oxygen", "consciousness"));
  EXPECT_EQ(s->oldest_age_s, 4000);
}

TEST(SummarizeNews2Test, StaleValuesAreMissingNotNormal) {
  // A heart rate 20 minutes old no longer stands for now (the news2 rule's 900 s).
  auto s = SummarizeNews2({{kHr, 135, 1200}, {kRr, 26, 60}});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->score, 3);  // respiration 25 or more -> 3
  EXPECT_EQ(s->risk, "low-medium");
  EXPECT_THAT(s->missing, ElementsAre("spo2", "oxygen", "systolic", "heart_rate", "consciousness", "temperature"));
}

TEST(SummarizeNews2Test, TheFresherOfHeartRateAndPulseRateCounts) {
  auto s = SummarizeNews2({{kPulse, 135, 600}, {kHr, 70, 30}});
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->score, 0);
  auto t = SummarizeNews2({{kHr, 70, 600}, {kPulse, 135, 30}});
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->score, 3);
}

TEST(SummarizeNews2Test, AnImpossibleValueIsNoScore) { EXPECT_FALSE(SummarizeNews2({{kSpo2, 140, 10}}).has_value()); }

}  // namespace
}  // namespace healthtwin::clinician
