#include "services/twin/vitals_mapping.h"

#include <gtest/gtest.h>

namespace healthtwin::twin {
namespace {

using models::calibration::Vital;

TEST(VitalsMappingTest, MapsTheTwinVitalsAndSkipsTheOthers) {
  EXPECT_EQ(VitalOfType(1), Vital::kHeartRate);
  EXPECT_EQ(VitalOfType(2), Vital::kSystolic);
  EXPECT_EQ(VitalOfType(3), Vital::kDiastolic);
  EXPECT_EQ(VitalOfType(5), Vital::kSpo2);
  EXPECT_EQ(VitalOfType(6), Vital::kTemperature);
  EXPECT_EQ(VitalOfType(7), Vital::kWeight);
  for (int skipped : {0, 4, 8, 9, 10, 11, -1}) EXPECT_FALSE(VitalOfType(skipped).has_value()) << skipped;
  for (int t : {1, 2, 3, 5, 6, 7}) EXPECT_EQ(TypeOfVital(*VitalOfType(t)), t);
}

TEST(VitalsMappingTest, UnlikelyValueFlagBecomesFlaggedAndClockSkewDoesNot) {
  auto s = ToSample(2, 182.0, 1'700'000'000, 1 << 1);
  ASSERT_TRUE(s.has_value());
  EXPECT_TRUE(s->flagged);
  EXPECT_EQ(s->measured_at_unix_s, 1'700'000'000);
  EXPECT_DOUBLE_EQ(s->value, 182.0);
  auto skew = ToSample(1, 70.0, 1'700'000'000, 1 << 2);
  ASSERT_TRUE(skew.has_value());
  EXPECT_FALSE(skew->flagged);
  EXPECT_FALSE(ToSample(8, 99.0, 0, 0).has_value());
}

}  // namespace
}  // namespace healthtwin::twin
