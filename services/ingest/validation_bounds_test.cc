// Every plausibility bound of validation.cc at both sides, and every unit conversion to an
// exact expected value. The bounds are restated here from the comment in validation.cc (NEWS2
// extremes widened for "likely", device ranges and survival limits for "possible") so that a
// change to either is a visible, reviewed change to this table.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "services/ingest/validation.h"

namespace healthtwin::ingest {
namespace {

constexpr int64_t kNow = 1'790'000'000'000'000;  // 2026-09-21

struct Bounds {
  VitalType type;
  const char* unit;
  double possible_min, possible_max, likely_min, likely_max;
};

constexpr Bounds kBounds[] = {
    {VitalType::kHeartRate, "/min", 1, 300, 30, 220},         {VitalType::kPulseRate, "/min", 1, 300, 30, 220},
    {VitalType::kSystolicBp, "mm[Hg]", 30, 300, 70, 250},     {VitalType::kDiastolicBp, "mm[Hg]", 10, 200, 35, 150},
    {VitalType::kMeanArterialBp, "mm[Hg]", 20, 250, 50, 180}, {VitalType::kSpo2, "%", 30, 100, 70, 100},
    {VitalType::kBodyTemperature, "Cel", 25, 45, 34, 42},     {VitalType::kBodyWeight, "kg", 0.5, 500, 20, 300},
    {VitalType::kGlucose, "mg/dL", 10, 2000, 40, 500},        {VitalType::kRespiratoryRate, "/min", 1, 80, 6, 40},
};

IncomingSample Sample(VitalType type, double value, const std::string& unit) {
  IncomingSample s;
  s.sender_seq = 7;
  s.device_id = "AA:BB:CC:DD:EE:01";
  s.type = static_cast<int>(type);
  s.value = value;
  s.ucum_unit = unit;
  s.measured_at_us = kNow - 1'000'000;
  s.received_at_us = kNow;
  return s;
}

double Below(double v) { return std::nextafter(v, -std::numeric_limits<double>::infinity()); }
double Above(double v) { return std::nextafter(v, std::numeric_limits<double>::infinity()); }

class BoundsTest : public ::testing::TestWithParam<Bounds> {
 protected:
  Verdict Check(double value) const { return ValidateSample(Sample(GetParam().type, value, GetParam().unit), kNow); }
  void ExpectRejected(double value) const {
    Verdict v = Check(value);
    ASSERT_TRUE(std::holds_alternative<Rejection>(v)) << value;
    EXPECT_EQ(std::get<Rejection>(v).reason, RejectReason::kImplausibleValue);
    EXPECT_EQ(std::get<Rejection>(v).sender_seq, 7u);
    EXPECT_EQ(std::get<Rejection>(v).detail.rfind("value: ", 0), 0u) << std::get<Rejection>(v).detail;
  }
  void ExpectStored(double value, bool flagged) const {
    Verdict v = Check(value);
    ASSERT_TRUE(std::holds_alternative<ValidSample>(v)) << value << ": " << std::get<Rejection>(v).detail;
    EXPECT_EQ(std::get<ValidSample>(v).value, value);
    EXPECT_EQ((std::get<ValidSample>(v).flags & kFlagUnlikelyValue) != 0, flagged) << value;
  }
};

TEST_P(BoundsTest, PossibleRangeIsInclusiveAndRejectsJustOutside) {
  const Bounds& b = GetParam();
  ExpectRejected(Below(b.possible_min));
  ExpectRejected(Above(b.possible_max));
  ExpectStored(b.possible_min, /*flagged=*/b.possible_min < b.likely_min);
  ExpectStored(b.possible_max, /*flagged=*/b.possible_max > b.likely_max);
}

TEST_P(BoundsTest, LikelyRangeIsInclusiveAndFlagsJustOutside) {
  const Bounds& b = GetParam();
  ExpectStored(b.likely_min, /*flagged=*/false);
  ExpectStored(b.likely_max, /*flagged=*/false);
  ExpectStored(Below(b.likely_min), /*flagged=*/true);
  if (b.likely_max < b.possible_max) ExpectStored(Above(b.likely_max), /*flagged=*/true);
}

INSTANTIATE_TEST_SUITE_P(EveryVitalType, BoundsTest, ::testing::ValuesIn(kBounds),
                         [](const ::testing::TestParamInfo<Bounds>& p) {
                           return "type" + std::to_string(static_cast<int>(p.param.type));
                         });

struct Conversion {
  VitalType type;
  const char* unit;
  double value;
  double canonical;  // exact expected value (to 1e-9 relative)
  const char* source;
};

// Factors: 1 mmHg = 133.322387415 Pa (BIPM SI brochure, non-SI units accepted); 1 lb =
// 0.45359237 kg exactly (international yard and pound agreement, 1959); glucose 180.156 g/mol;
// degrees Fahrenheit by definition.
constexpr Conversion kConversions[] = {
    {VitalType::kSystolicBp, "kPa", 16.0, 16.0 * 1000 / 133.322387415, "mmHg per kPa"},
    {VitalType::kDiastolicBp, "kPa", 10.0, 10.0 * 1000 / 133.322387415, "mmHg per kPa"},
    {VitalType::kMeanArterialBp, "kPa", 12.0, 12.0 * 1000 / 133.322387415, "mmHg per kPa"},
    {VitalType::kBodyTemperature, "[degF]", 98.6, 37.0, "98.6 F"},
    {VitalType::kBodyTemperature, "[degF]", 104.0, 40.0, "104 F"},
    {VitalType::kBodyWeight, "[lb_av]", 100.0, 45.359237, "100 lb"},
    {VitalType::kBodyWeight, "[lb_av]", 220.0, 99.7903214, "220 lb"},
    {VitalType::kGlucose, "mmol/L", 5.5, 99.0858, "5.5 mmol/L"},
    {VitalType::kGlucose, "mmol/L", 10.0, 180.156, "10 mmol/L"},
    {VitalType::kHeartRate, "{beats}/min", 72.0, 72.0, "annotated count per minute"},
    {VitalType::kRespiratoryRate, "{breaths}/min", 16.0, 16.0, "annotated count per minute"},
};

TEST(UnitConversionTest, EveryAcceptedUnitConvertsToTheExactCanonicalValue) {
  for (const Conversion& c : kConversions) {
    SCOPED_TRACE(c.source);
    std::optional<double> got = ToCanonicalUnit(c.type, c.value, c.unit);
    ASSERT_TRUE(got.has_value()) << c.unit;
    EXPECT_NEAR(*got, c.canonical, std::abs(c.canonical) * 1e-9) << c.unit;
  }
}

// Bounds apply after conversion: 212 F is 100 C, outside 25..45 Cel, and the message says so
// in the canonical unit.
TEST(UnitConversionTest, AConvertedValueIsJudgedInTheCanonicalUnit) {
  Verdict v = ValidateSample(Sample(VitalType::kBodyTemperature, 212.0, "[degF]"), kNow);
  ASSERT_TRUE(std::holds_alternative<Rejection>(v));
  EXPECT_NE(std::get<Rejection>(v).detail.find("100 Cel"), std::string::npos) << std::get<Rejection>(v).detail;
}

TEST(UnitConversionTest, UnitsOfAnotherQuantityAreRefused) {
  EXPECT_FALSE(ToCanonicalUnit(VitalType::kHeartRate, 72, "Cel"));
  EXPECT_FALSE(ToCanonicalUnit(VitalType::kSpo2, 0.97, "1"));  // a fraction is not accepted for %
  EXPECT_FALSE(ToCanonicalUnit(VitalType::kBodyWeight, 70, "g"));
  EXPECT_FALSE(ToCanonicalUnit(VitalType::kGlucose, 5, "mmol/l"));     // UCUM is case-sensitive: L
  EXPECT_FALSE(ToCanonicalUnit(VitalType::kSystolicBp, 120, "mmHg"));  // the UCUM code is mm[Hg]
  EXPECT_FALSE(ToCanonicalUnit(VitalType::kUnspecified, 1, "/min"));
}

}  // namespace
}  // namespace healthtwin::ingest
