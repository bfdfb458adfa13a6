#include "models/patient.h"

#include <gtest/gtest.h>

#include "models/cardiovascular_engine.h"

namespace healthtwin::models {
namespace {

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

TEST(PatientTest, AtrialFibrillationHasIrregularRr) {
  absl::StatusOr<CardiovascularEngine> e = CardiovascularEngine::Create(StandardWith(Condition::kAtrialFibrillation));
  ASSERT_TRUE(e.ok());
  e->AdvanceSeconds(60.0);
  const std::vector<BeatSummary> beats = e->TakeBeats();
  double mean = 0.0, sq = 0.0;
  for (const BeatSummary& b : beats) mean += b.rr_s / beats.size();
  for (const BeatSummary& b : beats) sq += (b.rr_s - mean) * (b.rr_s - mean) / beats.size();
  EXPECT_GT(std::sqrt(sq) / mean, 0.12);
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

TEST(PatientTest, FitsResting65BpmAnd128Over82) {
  absl::StatusOr<ModelParams> p = PatientFromDemographics({60.0, Sex::kFemale, 160.0, 60.0}, {65.0, 128.0, 82.0});
  ASSERT_TRUE(p.ok()) << p.status();
  const BeatSummary b = Rest(*p);
  EXPECT_NEAR(b.heart_rate_bpm, 65.0, 1.0);
  EXPECT_NEAR(b.sbp_mmhg, 128.0, 1.5);
  EXPECT_NEAR(b.dbp_mmhg, 82.0, 1.5);
}

TEST(PatientTest, UnreachablePulsePressureIsReportedWithTheTarget) {
  absl::StatusOr<ModelParams> p = PatientFromDemographics({40.0, Sex::kMale, 175.0, 75.0}, {std::nullopt, 220.0, 60.0});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(p.status().message().find("sbp_mmhg"), std::string::npos);
}

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
