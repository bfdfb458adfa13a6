#include "models/patient.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <ostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "models/cardiovascular_engine.h"

namespace healthtwin::models {
namespace {

using ::testing::HasSubstr;

BeatSummary Rest(const ModelParams& p) {
  absl::StatusOr<CardiovascularEngine> e = CardiovascularEngine::Create(p);
  EXPECT_TRUE(e.ok()) << e.status();
  return SettleAndAverage(*e, 60.0, 20.0);
}

ModelParams StandardWith(Condition c) {
  ModelParams p = StandardAdult();
  const absl::Status s = ApplyCondition(c, p);
  EXPECT_TRUE(s.ok()) << s;
  return p;
}

TEST(PatientTest, ConditionNamesRoundTrip) {
  for (Condition c : AllConditions()) {
    absl::StatusOr<Condition> parsed = ParseCondition(ConditionName(c));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, c);
  }
  EXPECT_FALSE(ParseCondition("flu").ok());
}

TEST(PatientTest, StandardAdultStartsInStage1Hypertension) {
  const BeatSummary b = Rest(StandardWith(Condition::kHypertensionStage1));
  EXPECT_GE(b.sbp_mmhg, 130.0);
  EXPECT_LT(b.sbp_mmhg, 140.0);
  EXPECT_GE(b.dbp_mmhg, 80.0);
  EXPECT_LT(b.dbp_mmhg, 90.0);
}

TEST(PatientTest, StandardAdultStartsInStage2Hypertension) {
  const BeatSummary b = Rest(StandardWith(Condition::kHypertensionStage2));
  EXPECT_GE(b.sbp_mmhg, 140.0);
  EXPECT_GE(b.dbp_mmhg, 90.0);
}

TEST(PatientTest, HfrefHasLowEjectionFractionAndRaisedFillingPressure) {
  const BeatSummary b = Rest(StandardWith(Condition::kHfref));
  EXPECT_LT(b.ejection_fraction, 0.40);
  EXPECT_GT(b.pcwp_mmhg, 15.0);
}

TEST(PatientTest, HfpefHasPreservedEjectionFractionAndRaisedFillingPressure) {
  const BeatSummary b = Rest(StandardWith(Condition::kHfpef));
  EXPECT_GE(b.ejection_fraction, 0.50);
  EXPECT_GT(b.pcwp_mmhg, 15.0);
}

TEST(PatientTest, HypovolaemiaRaisesHeartRateAndLowersCvp) {
  const BeatSummary base = Rest(StandardAdult());
  const BeatSummary b = Rest(StandardWith(Condition::kHypovolaemia));
  EXPECT_GT(b.heart_rate_bpm, base.heart_rate_bpm + 3.0);
  EXPECT_LT(b.cvp_mmhg, base.cvp_mmhg);
  EXPECT_GT(b.sbp_mmhg, 90.0);
}

// models/README.md: AF draws each RR from a log-normal with CV 0.2 (Tateno & Glass 2001). The
// reflex itself moves RR by a CV of 1e-4 here, so the beats' CV is the draw's. For n independent
// log-normal draws the sample CV has a relative standard error of sqrt((2 + g2) / (4 n)), g2 the
// excess kurtosis (0.67 at CV 0.2): 0.029 for the ~800 beats of 10 minutes, so 4 standard errors
// either side accept a CV of 0.177-0.223; CV 0.15 or 0.25 (or no jitter) fails.
TEST(PatientTest, AtrialFibrillationRrCoefficientOfVariationIsTwoTenths) {
  absl::StatusOr<CardiovascularEngine> e = CardiovascularEngine::Create(StandardWith(Condition::kAtrialFibrillation));
  ASSERT_TRUE(e.ok());
  e->AdvanceSeconds(60.0);
  e->TakeBeats();
  e->AdvanceSeconds(600.0);
  const std::vector<BeatSummary> beats = e->TakeBeats();
  ASSERT_GT(beats.size(), 600u);
  const double n = static_cast<double>(beats.size());
  double mean = 0.0, sq = 0.0;
  for (const BeatSummary& b : beats) mean += b.rr_s / n;
  for (const BeatSummary& b : beats) sq += (b.rr_s - mean) * (b.rr_s - mean) / (n - 1.0);
  const double cv = std::sqrt(sq) / mean;
  const double sigma2 = std::log1p(0.2 * 0.2);  // variance of log RR
  const double excess_kurtosis = std::exp(4 * sigma2) + 2 * std::exp(3 * sigma2) + 3 * std::exp(2 * sigma2) - 6;
  const double tolerance = 4.0 * 0.2 * std::sqrt((2.0 + excess_kurtosis) / (4.0 * n));
  EXPECT_NEAR(cv, 0.2, tolerance) << n << " beats";
  EXPECT_GT(60.0 / mean, 75.0);
}

TEST(PatientTest, NadlerBloodVolumeMatchesThePublishedFormula) {
  // 1.75 m, 75 kg man: 0.3669 * 1.75^3 + 0.03219 * 75 + 0.6041 = 4.984 L.
  EXPECT_NEAR(NadlerBloodVolumeMl(Sex::kMale, 175.0, 75.0), 4984.0, 1.0);
  EXPECT_LT(NadlerBloodVolumeMl(Sex::kFemale, 160.0, 60.0), NadlerBloodVolumeMl(Sex::kMale, 160.0, 60.0));
}

TEST(PatientTest, SmallerPersonHasSmallerStrokeVolumeAtSimilarPressure) {
  absl::StatusOr<ModelParams> p = PatientFromDemographics({40.0, Sex::kFemale, 160.0, 55.0});
  ASSERT_TRUE(p.ok()) << p.status();
  const BeatSummary small = Rest(*p);
  const BeatSummary standard = Rest(StandardAdult());
  EXPECT_LT(small.stroke_volume_ml, 0.85 * standard.stroke_volume_ml);
  EXPECT_NEAR(small.map_mmhg, standard.map_mmhg, 5.0);
}

// FitToTargets promises the settled resting values within 0.5 bpm / 0.5 mmHg (models/README.md).
// "Settled" is measured here independently of the fit's own protocol: 300 s, then 20 s averaged.
void ExpectSettlesWithinHalfAUnitOfTargets(const Demographics& d, double hr_bpm, double sbp_mmhg, double dbp_mmhg) {
  absl::StatusOr<ModelParams> p = PatientFromDemographics(d, {hr_bpm, sbp_mmhg, dbp_mmhg});
  ASSERT_TRUE(p.ok()) << p.status();
  absl::StatusOr<CardiovascularEngine> e = CardiovascularEngine::Create(*p);
  ASSERT_TRUE(e.ok()) << e.status();
  const BeatSummary b = SettleAndAverage(*e, 300.0, 20.0);
  EXPECT_NEAR(b.heart_rate_bpm, hr_bpm, 0.5);
  EXPECT_NEAR(b.sbp_mmhg, sbp_mmhg, 0.5);
  EXPECT_NEAR(b.dbp_mmhg, dbp_mmhg, 0.5);
}

TEST(PatientTest, FitsResting65BpmAnd128Over82WithinHalfAUnit) {
  ExpectSettlesWithinHalfAUnitOfTargets({60.0, Sex::kFemale, 160.0, 60.0}, 65.0, 128.0, 82.0);
}

// The cohorts' highest archetype; with a 60 s settle in the fit it rested 0.95 mmHg high.
TEST(PatientTest, FitsResting72BpmAnd190Over105WithinHalfAUnit) {
  ExpectSettlesWithinHalfAUnitOfTargets({55.0, Sex::kMale, 176.0, 85.0}, 72.0, 190.0, 105.0);
}

// The number after `prefix` in `message`, or NaN.
double NumberAfter(std::string_view message, std::string_view prefix) {
  const std::size_t at = message.find(prefix);
  if (at == std::string_view::npos) return std::nan("");
  return std::strtod(std::string(message.substr(at + prefix.size())).c_str(), nullptr);
}

// The OutOfRange message a standard man's fit to `targets` gives ("" when it gives none).
std::string OutOfRangeMessage(const RestingTargets& targets) {
  absl::StatusOr<ModelParams> p = PatientFromDemographics({40.0, Sex::kMale, 175.0, 75.0}, targets);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kOutOfRange) << p.status();
  return p.status().code() == absl::StatusCode::kOutOfRange ? std::string(p.status().message()) : "";
}

TEST(PatientTest, UnreachablePulsePressureNamesTheTargetAndTheStiffnessItNeeds) {
  // models/README.md: "220/60 needs a stiffness factor of 3.6" (bound 0.5-3).
  const std::string m = OutOfRangeMessage({std::nullopt, 220.0, 60.0});
  EXPECT_THAT(m, HasSubstr("target sbp_mmhg/dbp_mmhg = 220/60"));
  EXPECT_NEAR(NumberAfter(m, "arterial stiffness (pulse-wave velocity) factor of "), 3.6, 0.05) << m;
}

TEST(PatientTest, UnreachableMeanPressureNamesTheTargetAndTheResistance) {
  // 100/35 is a valid target, but its MAP needs systemic resistance below 0.4 x.
  const std::string m = OutOfRangeMessage({std::nullopt, 100.0, 35.0});
  EXPECT_THAT(m, HasSubstr("target sbp_mmhg/dbp_mmhg = 100/35"));
  EXPECT_LT(NumberAfter(m, "systemic resistance would need "), 0.4) << m;
}

TEST(PatientTest, UnreachableHeartRateNamesTheTargetAndTheHeartPeriod) {
  // 150 bpm is the top of the valid range, but needs an intrinsic period below 0.3 s.
  const std::string m = OutOfRangeMessage({150.0, std::nullopt, std::nullopt});
  EXPECT_THAT(m, HasSubstr("target heart_rate_bpm = 150"));
  EXPECT_LT(NumberAfter(m, "intrinsic heart period would need "), 0.3) << m;
}

// models/README.md: targets outside 35-150 bpm, 70-240 / 35-140 mmHg are InvalidArgument naming
// the field. Each bound: the bound itself passes validation, 0.1 beyond it is refused by
// FitToTargets and PatientFromDemographics before any simulation, naming that target.
struct TargetBound {
  const char* field;
  RestingTargets at_bound;
  RestingTargets beyond;
};

void PrintTo(const TargetBound& b, std::ostream* os) {
  const auto show = [os](const char* name, const std::optional<double>& v) {
    if (v) *os << " " << name << " " << *v;
  };
  *os << b.field << ": beyond";
  show("hr", b.beyond.heart_rate_bpm);
  show("sbp", b.beyond.sbp_mmhg);
  show("dbp", b.beyond.dbp_mmhg);
}

class TargetBoundTest : public ::testing::TestWithParam<TargetBound> {};

TEST_P(TargetBoundTest, BoundIsAcceptedAndJustBeyondIsRefusedNamingTheField) {
  const TargetBound& c = GetParam();
  EXPECT_TRUE(ValidateTargets(c.at_bound).ok()) << ValidateTargets(c.at_bound);
  for (const absl::Status& s :
       {FitToTargets(StandardAdult(), c.beyond).status(), PatientFromDemographics({}, c.beyond).status()}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("target ", c.field, " = "))) << s;
    EXPECT_THAT(s.message(), HasSubstr("outside the supported range")) << s;
  }
}

constexpr std::optional<double> kNone = std::nullopt;
const TargetBound kTargetBounds[] = {
    {"heart_rate_bpm", {35.0, kNone, kNone}, {34.9, kNone, kNone}},
    {"heart_rate_bpm", {150.0, kNone, kNone}, {150.1, kNone, kNone}},
    {"sbp_mmhg", {kNone, 70.0, 50.0}, {kNone, 69.9, 50.0}},
    {"sbp_mmhg", {kNone, 240.0, 100.0}, {kNone, 240.1, 100.0}},
    {"dbp_mmhg", {kNone, 100.0, 35.0}, {kNone, 100.0, 34.9}},
    {"dbp_mmhg", {kNone, 180.0, 140.0}, {kNone, 180.0, 140.1}},
    {"heart_rate_bpm", {72.0, kNone, kNone}, {std::nan(""), kNone, kNone}},
    {"sbp_mmhg", {kNone, 120.0, 80.0}, {kNone, std::nan(""), 80.0}},
};
INSTANTIATE_TEST_SUITE_P(EveryBound, TargetBoundTest, ::testing::ValuesIn(kTargetBounds));

TEST(PatientTest, OutOfRangeDemographicsNameTheField) {
  absl::StatusOr<ModelParams> p = PatientFromDemographics({40.0, Sex::kMale, 400.0, 75.0});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("height_cm"), std::string::npos);
}

TEST(PatientTest, SystolicTargetWithoutDiastolicIsRejected) {
  EXPECT_EQ(FitToTargets(StandardAdult(), {std::nullopt, 130.0, std::nullopt}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace healthtwin::models
