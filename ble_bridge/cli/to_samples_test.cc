#include "ble_bridge/cli/to_samples.h"

#include <gtest/gtest.h>

namespace healthtwin::ble {
namespace {

using common::VitalType;

constexpr int64_t kReceivedUs = 1'790'000'000'000'000;

TEST(ToSamplesTest, HeartRateTakesTheReceiveTime) {
  HeartRateMeasurement hr;
  hr.heart_rate_bpm = 72;
  Decoded d{Characteristic::kHeartRateMeasurement, hr};
  auto c = ToSamples("AA:BB:CC:DD:EE:01", d, std::nullopt, kReceivedUs);
  ASSERT_EQ(c.samples.size(), 1u);
  EXPECT_EQ(c.samples[0].device_id, "AA:BB:CC:DD:EE:01");
  EXPECT_EQ(c.samples[0].type, VitalType::kHeartRate);
  EXPECT_EQ(c.samples[0].value, 72);
  EXPECT_EQ(c.samples[0].ucum_unit, "/min");
  EXPECT_EQ(c.samples[0].measured_at_unix_us, kReceivedUs);
  EXPECT_EQ(c.samples[0].received_at_unix_us, kReceivedUs);
  EXPECT_FALSE(c.skew_us.has_value());
}

TEST(ToSamplesTest, BloodPressureInKpaBecomesMmHgAndSkipsNaN) {
  BloodPressureMeasurement bp;
  bp.unit = PressureUnit::kKPa;
  bp.systolic = {160, -1};  // 16.0 kPa
  bp.diastolic = {107, -1};
  bp.mean_arterial = {0, 0, MderSpecial::kNaN};
  Decoded d{Characteristic::kBloodPressureMeasurement, bp};
  auto c = ToSamples("cuff", d, std::nullopt, kReceivedUs);
  ASSERT_EQ(c.samples.size(), 2u);
  EXPECT_EQ(c.samples[0].type, VitalType::kSystolicBp);
  EXPECT_NEAR(c.samples[0].value, 16.0 * kMmHgPerKPa, 1e-9);
  EXPECT_EQ(c.samples[0].ucum_unit, "mm[Hg]");
  EXPECT_EQ(c.samples[1].type, VitalType::kDiastolicBp);
}

TEST(ToSamplesTest, DeviceTimeInThePastIsKeptAndSkewReported) {
  BloodPressureMeasurement bp;
  bp.systolic = {120, 0};
  bp.diastolic = {80, 0};
  bp.mean_arterial = {93, 0};
  DateTime dt{.year = 2026, .month = 1, .day = 2, .hours = 3, .minutes = 4, .seconds = 5};
  const int64_t device_us = *LocalDateTimeToUnixMicros(dt);
  Decoded d{Characteristic::kBloodPressureMeasurement, bp};
  auto c = ToSamples("cuff", d, dt, device_us + 30'000'000);
  ASSERT_EQ(c.samples.size(), 3u);
  EXPECT_EQ(c.samples[0].measured_at_unix_us, device_us);
  EXPECT_EQ(c.samples[0].received_at_unix_us, device_us + 30'000'000);
  EXPECT_EQ(*c.skew_us, -30'000'000);
}

TEST(ToSamplesTest, DeviceTimeInTheFutureFallsBackToReceiveTime) {
  BloodPressureMeasurement bp;
  bp.systolic = {120, 0};
  bp.diastolic = {80, 0};
  bp.mean_arterial = {93, 0};
  DateTime dt{.year = 2026, .month = 1, .day = 2, .hours = 3, .minutes = 4, .seconds = 5};
  const int64_t device_us = *LocalDateTimeToUnixMicros(dt);
  auto c = ToSamples("cuff", {Characteristic::kBloodPressureMeasurement, bp}, dt, device_us - 3'600'000'000);
  ASSERT_FALSE(c.samples.empty());
  EXPECT_EQ(c.samples[0].measured_at_unix_us, device_us - 3'600'000'000);
  EXPECT_EQ(*c.skew_us, 3'600'000'000);
}

TEST(ToSamplesTest, BatteryYieldsNoSample) {
  BatteryLevel level;
  level.battery_percent = 80;
  auto c = ToSamples("x", {Characteristic::kBatteryLevel, level}, std::nullopt, 1);
  EXPECT_TRUE(c.samples.empty());
}

}  // namespace
}  // namespace healthtwin::ble
