#include "services/ingest/validation.h"

#include <cmath>

#include <gtest/gtest.h>

namespace healthtwin::ingest {
namespace {

constexpr int64_t kNow = 1'790'000'000'000'000;  // 2026-09-21

IncomingSample Hr(double bpm) {
  IncomingSample s;
  s.sender_seq = 1;
  s.device_id = "AA:BB:CC:DD:EE:01";
  s.type = static_cast<int>(VitalType::kHeartRate);
  s.value = bpm;
  s.ucum_unit = "/min";
  s.measured_at_us = kNow - 1'000'000;
  s.received_at_us = kNow;
  return s;
}

const Rejection& AsRejection(const Verdict& v) { return std::get<Rejection>(v); }
const ValidSample& AsValid(const Verdict& v) { return std::get<ValidSample>(v); }

TEST(VitalsValidatorTest, AcceptsNormalHeartRateWithoutFlags) {
  auto v = ValidateSample(Hr(72), kNow);
  ASSERT_TRUE(std::holds_alternative<ValidSample>(v));
  EXPECT_EQ(AsValid(v).value, 72);
  EXPECT_EQ(AsValid(v).flags, 0u);
}

TEST(VitalsValidatorTest, RejectsDeviceIdLongerThan64Characters) {
  auto in = Hr(72);
  in.device_id = std::string(65, 'a');
  auto v = ValidateSample(in, kNow);
  ASSERT_TRUE(std::holds_alternative<Rejection>(v));
  EXPECT_EQ(AsRejection(v).reason, RejectReason::kInvalidDeviceId);
  EXPECT_NE(AsRejection(v).detail.find("at most 64"), std::string::npos);
}

TEST(VitalsValidatorTest, RejectsDeviceIdWithControlOrSpaceCharacters) {
  for (std::string bad : {"AA BB", "dev\nice", "dev'ice", "dev\tice", "d\xc3\xa9v"}) {
    auto in = Hr(72);
    in.device_id = bad;
    auto v = ValidateSample(in, kNow);
    ASSERT_TRUE(std::holds_alternative<Rejection>(v)) << bad;
    EXPECT_EQ(AsRejection(v).reason, RejectReason::kInvalidDeviceId) << bad;
  }
}

TEST(VitalsValidatorTest, RejectsHeartRateAbove300) {
  auto v = ValidateSample(Hr(900), kNow);
  ASSERT_TRUE(std::holds_alternative<Rejection>(v));
  EXPECT_EQ(AsRejection(v).reason, RejectReason::kImplausibleValue);
  EXPECT_NE(AsRejection(v).detail.find("900"), std::string::npos) << AsRejection(v).detail;
}

TEST(VitalsValidatorTest, FlagsUnlikelyButPossibleHeartRate) {
  auto v = ValidateSample(Hr(25), kNow);
  ASSERT_TRUE(std::holds_alternative<ValidSample>(v));
  EXPECT_EQ(AsValid(v).flags & kFlagUnlikelyValue, kFlagUnlikelyValue);
}

TEST(VitalsValidatorTest, RejectsNaN) {
  auto v = ValidateSample(Hr(std::nan("")), kNow);
  ASSERT_TRUE(std::holds_alternative<Rejection>(v));
  EXPECT_EQ(AsRejection(v).reason, RejectReason::kImplausibleValue);
}

TEST(VitalsValidatorTest, ConvertsKilopascalToMillimetresOfMercury) {
  auto s = Hr(16);
  s.type = static_cast<int>(VitalType::kSystolicBp);
  s.ucum_unit = "kPa";
  auto v = ValidateSample(s, kNow);
  ASSERT_TRUE(std::holds_alternative<ValidSample>(v));
  EXPECT_NEAR(AsValid(v).value, 120.01, 0.01);
}

TEST(VitalsValidatorTest, ConvertsFahrenheitToCelsius) {
  auto s = Hr(98.6);
  s.type = static_cast<int>(VitalType::kBodyTemperature);
  s.ucum_unit = "[degF]";
  auto v = ValidateSample(s, kNow);
  ASSERT_TRUE(std::holds_alternative<ValidSample>(v));
  EXPECT_NEAR(AsValid(v).value, 37.0, 1e-9);
}

TEST(VitalsValidatorTest, RejectsUnitThatDoesNotFitTheType) {
  auto s = Hr(72);
  s.ucum_unit = "kg";
  auto v = ValidateSample(s, kNow);
  ASSERT_TRUE(std::holds_alternative<Rejection>(v));
  EXPECT_EQ(AsRejection(v).reason, RejectReason::kUnknownUnit);
  EXPECT_NE(AsRejection(v).detail.find("ucum_unit"), std::string::npos);
}

TEST(VitalsValidatorTest, RejectsFarFutureTimestamp) {
  auto s = Hr(72);
  s.measured_at_us = kNow + 3600LL * 1'000'000;
  s.received_at_us = kNow;
  auto v = ValidateSample(s, kNow);
  ASSERT_TRUE(std::holds_alternative<Rejection>(v));
  EXPECT_EQ(AsRejection(v).reason, RejectReason::kFutureTimestamp);
}

TEST(VitalsValidatorTest, FlagsDeviceClockAheadOfGateway) {
  auto s = Hr(72);
  s.measured_at_us = kNow + 2 * 60LL * 1'000'000;
  s.received_at_us = kNow;
  auto v = ValidateSample(s, kNow);
  ASSERT_TRUE(std::holds_alternative<ValidSample>(v));
  EXPECT_EQ(AsValid(v).flags & kFlagClockSkew, kFlagClockSkew);
}

TEST(VitalsValidatorTest, RejectsMissingFieldsNamingThem) {
  auto s = Hr(72);
  s.device_id.clear();
  EXPECT_NE(AsRejection(ValidateSample(s, kNow)).detail.find("device_id"), std::string::npos);
  s = Hr(72);
  s.type = 0;
  EXPECT_NE(AsRejection(ValidateSample(s, kNow)).detail.find("type"), std::string::npos);
  s = Hr(72);
  s.measured_at_us.reset();
  EXPECT_NE(AsRejection(ValidateSample(s, kNow)).detail.find("measured_at"), std::string::npos);
}

// Stored as a bigint: above 2^63 - 1 it would turn negative (and collide with another record).
TEST(VitalsValidatorTest, RejectsDeviceRecordSeqAboveBigintNamingIt) {
  auto s = Hr(72);
  s.device_record_seq = kMaxDeviceRecordSeq;
  EXPECT_TRUE(std::holds_alternative<ValidSample>(ValidateSample(s, kNow)));
  s.device_record_seq = kMaxDeviceRecordSeq + 1;
  auto v = ValidateSample(s, kNow);
  ASSERT_TRUE(std::holds_alternative<Rejection>(v));
  EXPECT_EQ(AsRejection(v).reason, RejectReason::kInvalidField);
  EXPECT_EQ(AsRejection(v).detail, "device_record_seq: 9223372036854775808 is above 9223372036854775807");
}

TEST(VitalsValidatorTest, RejectsWhatTheMappingCouldNotConvertWithItsMessage) {
  auto s = Hr(72);
  s.measured_at_us.reset();
  s.mapping_error = "measured_at: seconds 253402300800 is outside years 0001..9999";
  auto v = ValidateSample(s, kNow);
  ASSERT_TRUE(std::holds_alternative<Rejection>(v));
  EXPECT_EQ(AsRejection(v).reason, RejectReason::kInvalidField);
  EXPECT_EQ(AsRejection(v).detail, s.mapping_error);
}

}  // namespace
}  // namespace healthtwin::ingest
