#include "models/cardiovascular_engine.h"

#include <cmath>

#include <gtest/gtest.h>

#include "models/patient.h"

namespace healthtwin::models {
namespace {

CardiovascularEngine MakeEngine(const ModelParams& p, const EngineOptions& o = {}) {
  absl::StatusOr<CardiovascularEngine> e = CardiovascularEngine::Create(p, o);
  EXPECT_TRUE(e.ok()) << e.status();
  return std::move(*e);
}

void ExpectRelativelyClose(double a, double b, double tol, const char* what) {
  EXPECT_LE(std::abs(a - b), tol * std::max(std::abs(a), std::abs(b))) << what << ": " << a << " vs " << b;
}

TEST(CardiovascularEngineTest, StandardAdultRestsNear120Over80) {
  CardiovascularEngine e = MakeEngine(StandardAdult());
  const BeatSummary b = SettleAndAverage(e, 40.0, 10.0);
  EXPECT_NEAR(b.sbp_mmhg, 120.0, 5.0);
  EXPECT_NEAR(b.dbp_mmhg, 80.0, 5.0);
  EXPECT_NEAR(b.heart_rate_bpm, 72.0, 3.0);
  EXPECT_NEAR(b.cardiac_output_l_per_min, 5.6, 0.5);
}

TEST(CardiovascularEngineTest, RejectsNonPositiveComplianceNamingTheField) {
  ModelParams p = StandardAdult();
  p.circulation.c_sv_ml_per_mmhg = -1.0;
  absl::StatusOr<CardiovascularEngine> e = CardiovascularEngine::Create(p);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(e.status().message().find("c_sv_ml_per_mmhg"), std::string::npos);
}

TEST(CardiovascularEngineTest, RejectsTooLargeStep) {
  EXPECT_FALSE(CardiovascularEngine::Create(StandardAdult(), {.dt_s = 0.01}).ok());
}

TEST(CardiovascularEngineTest, ValvesNeverLeakAndVentriclesFillAndEject) {
  CardiovascularEngine e = MakeEngine(StandardAdult(), {.waveform_sample_hz = 1000.0});
  e.AdvanceSeconds(5.0);
  const std::vector<WaveformSample> w = e.TakeWaveform();
  ASSERT_GT(w.size(), 4000u);
  double max_aortic = 0.0, max_mitral = 0.0;
  for (const WaveformSample& s : w) {
    EXPECT_GE(s.q_aortic_ml_s, 0.0);
    EXPECT_GE(s.q_mitral_ml_s, 0.0);
    EXPECT_GE(s.q_pulmonary_ml_s, 0.0);
    EXPECT_GE(s.q_tricuspid_ml_s, 0.0);
    // Never filling and ejecting at once.
    EXPECT_FALSE(s.q_aortic_ml_s > 0.0 && s.q_mitral_ml_s > 0.0) << s.t_s;
    max_aortic = std::max(max_aortic, s.q_aortic_ml_s);
    max_mitral = std::max(max_mitral, s.q_mitral_ml_s);
  }
  EXPECT_GT(max_aortic, 200.0);
  EXPECT_GT(max_mitral, 100.0);
}

TEST(CardiovascularEngineTest, WaveformHonoursTheSampleRate) {
  CardiovascularEngine e = MakeEngine(StandardAdult(), {.waveform_sample_hz = 100.0});
  e.AdvanceSeconds(2.0);
  const std::vector<WaveformSample> w = e.TakeWaveform();
  ASSERT_EQ(w.size(), 200u);
  EXPECT_NEAR(w[1].t_s - w[0].t_s, 0.01, 1e-12);
}

TEST(CardiovascularEngineTest, BloodVolumeIsConservedInTheClosedLoop) {
  ModelParams p = StandardAdult();
  ApplyCondition(Condition::kAtrialFibrillation, p).IgnoreError();
  CardiovascularEngine e = MakeEngine(p);
  const double v0 = e.total_blood_volume_ml();
  e.AdvanceSeconds(600.0);  // ten minutes; the target is 1e-6 relative per hour
  EXPECT_LT(std::abs(e.total_blood_volume_ml() - v0) / v0, 1e-9);
}

TEST(CardiovascularEngineTest, ExchangedBloodIsAccountedExactly) {
  CardiovascularEngine e = MakeEngine(StandardAdult());
  const double v0 = e.total_blood_volume_ml();
  e.ExchangeBlood(-530.0, 30.0);
  e.AdvanceSeconds(40.0);
  EXPECT_NEAR(e.net_exchanged_volume_ml(), -530.0, 1e-9);
  EXPECT_NEAR(e.total_blood_volume_ml(), v0 - 530.0, 1e-6);
}

TEST(CardiovascularEngineTest, HalvingTheStepChangesPerBeatOutputsByLessThanHalfAPercent) {
  ModelParams p = StandardAdult();
  CardiovascularEngine coarse = MakeEngine(p, {.dt_s = 0.001});
  CardiovascularEngine fine = MakeEngine(p, {.dt_s = 0.0005});
  coarse.AdvanceSeconds(30.0);
  fine.AdvanceSeconds(30.0);
  const std::vector<BeatSummary> a = coarse.TakeBeats();
  const std::vector<BeatSummary> b = fine.TakeBeats();
  ASSERT_GE(std::min(a.size(), b.size()), 30u);
  for (std::size_t i = a.size() - 5; i < a.size(); ++i) {
    ExpectRelativelyClose(a[i].heart_rate_bpm, b[i].heart_rate_bpm, 0.005, "HR");
    ExpectRelativelyClose(a[i].sbp_mmhg, b[i].sbp_mmhg, 0.005, "SBP");
    ExpectRelativelyClose(a[i].dbp_mmhg, b[i].dbp_mmhg, 0.005, "DBP");
    ExpectRelativelyClose(a[i].map_mmhg, b[i].map_mmhg, 0.005, "MAP");
    ExpectRelativelyClose(a[i].stroke_volume_ml, b[i].stroke_volume_ml, 0.005, "SV");
    ExpectRelativelyClose(a[i].ejection_fraction, b[i].ejection_fraction, 0.005, "EF");
    ExpectRelativelyClose(a[i].cvp_mmhg, b[i].cvp_mmhg, 0.005, "CVP");
    ExpectRelativelyClose(a[i].pcwp_mmhg, b[i].pcwp_mmhg, 0.005, "PCWP");
    ExpectRelativelyClose(a[i].pa_systolic_mmhg, b[i].pa_systolic_mmhg, 0.005, "PAS");
    ExpectRelativelyClose(a[i].pa_diastolic_mmhg, b[i].pa_diastolic_mmhg, 0.005, "PAD");
  }
}

TEST(CardiovascularEngineTest, IdenticalInputsGiveIdenticalOutputs) {
  ModelParams p = StandardAdult();
  ApplyCondition(Condition::kAtrialFibrillation, p).IgnoreError();
  CardiovascularEngine a = MakeEngine(p);
  CardiovascularEngine b = MakeEngine(p);
  a.AdvanceSeconds(20.0);
  b.AdvanceSeconds(20.0);
  const std::vector<BeatSummary> x = a.TakeBeats();
  const std::vector<BeatSummary> y = b.TakeBeats();
  ASSERT_EQ(x.size(), y.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i].rr_s, y[i].rr_s);
    EXPECT_EQ(x[i].sbp_mmhg, y[i].sbp_mmhg);
    EXPECT_EQ(x[i].map_mmhg, y[i].map_mmhg);
    EXPECT_EQ(x[i].stroke_volume_ml, y[i].stroke_volume_ml);
    EXPECT_EQ(x[i].pcwp_mmhg, y[i].pcwp_mmhg);
  }
}

TEST(CardiovascularEngineTest, AdvanceBeatsCompletesExactlyThatManyBeats) {
  CardiovascularEngine e = MakeEngine(StandardAdult());
  e.AdvanceBeats(5);
  const std::vector<BeatSummary> beats = e.TakeBeats();
  ASSERT_EQ(beats.size(), 5u);
  EXPECT_EQ(beats[4].index, 4);
  EXPECT_NEAR(beats[1].start_s, beats[0].start_s + beats[0].rr_s, 1e-12);
}

TEST(CardiovascularEngineTest, HeartRateModifierRaisesHeartRate) {
  CardiovascularEngine e = MakeEngine(StandardAdult());
  const BeatSummary before = SettleAndAverage(e, 20.0, 5.0);
  e.SetModifiers({.heart_rate_factor = 1.2});
  const BeatSummary after = SettleAndAverage(e, 20.0, 5.0);
  EXPECT_GT(after.heart_rate_bpm, before.heart_rate_bpm + 5.0);
}

TEST(CardiovascularEngineTest, ResistanceModifierRaisesPressure) {
  CardiovascularEngine e = MakeEngine(StandardAdult());
  const BeatSummary before = SettleAndAverage(e, 20.0, 5.0);
  e.SetModifiers({.systemic_resistance_factor = 1.3});
  const BeatSummary after = SettleAndAverage(e, 30.0, 5.0);
  EXPECT_GT(after.map_mmhg, before.map_mmhg + 3.0);
}

}  // namespace
}  // namespace healthtwin::models
