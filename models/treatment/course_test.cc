#include "models/treatment/course.h"

#include <gtest/gtest.h>

#include "models/treatment/treatment_option.h"
#include "models/treatment/treatment_test_util.h"

namespace healthtwin::models::treatment {
namespace {

using testing::HypertensivePatient;
using testing::HypertensivePerson;

std::vector<pharma::Regimen> Amlodipine(double dose_mg, int start_day = 1, int stop_day = 0) {
  DrugRegimen r;
  r.drug = "amlodipine";
  r.dose_mg = dose_mg;
  r.start_day = start_day;
  r.stop_day = stop_day;
  return {ToPharmaRegimen(r)};
}

Course RunCourse(const VirtualPerson& p, const std::vector<pharma::Regimen>& regimens, int days, Intake intake = {}) {
  absl::StatusOr<Course> c = SimulateCourse(p, regimens, intake, days, 7);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *c : Course{};
}

TEST(RestingStateTest, ChangedRestingStateIsAnEquilibrium) {
  const WhatIfPatient& w = HypertensivePatient();
  RestingState rest;
  rest.effectors.systemic_resistance_factor = 1.1;
  rest.effectors.heart_rate_factor = 0.95;
  rest.blood_volume_factor = 1.05;
  rest.set_point_offset_mmhg = 5.0;
  absl::StatusOr<LongHorizonModel> m = LongHorizonModel::CreateAtRest(w.map, w.params, w.long_horizon, rest);
  ASSERT_TRUE(m.ok()) << m.status();
  absl::StatusOr<LongHorizonModel> nominal = LongHorizonModel::Create(w.map, w.params, w.long_horizon);
  ASSERT_TRUE(nominal.ok());
  const LongHorizonState s0 = m->state();
  EXPECT_GT(s0.haemodynamics.map_mmhg, nominal->state().haemodynamics.map_mmhg + 3.0);
  m->AdvanceDays(30);
  const LongHorizonState s = m->state();
  EXPECT_NEAR(s.haemodynamics.map_mmhg, s0.haemodynamics.map_mmhg, 1e-6);
  EXPECT_NEAR(s.blood_volume_ml, s0.blood_volume_ml, 1e-6);
  EXPECT_NEAR(s.baroreflex_set_point_mmhg, s0.baroreflex_set_point_mmhg, 1e-6);
  EXPECT_NEAR(m->reference_map_mmhg(), s0.haemodynamics.map_mmhg, 1e-12);
}

TEST(RestingStateTest, RejectsNonPositiveFactor) {
  RestingState rest;
  rest.blood_volume_factor = 0.0;
  // Checked before the map is used, so no map is needed here.
  absl::StatusOr<LongHorizonModel> m = LongHorizonModel::CreateAtRest(nullptr, StandardAdult(), {}, rest);
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(m.status().message().find("rest.blood_volume_factor"), std::string::npos);
}

TEST(CourseTest, NoTreatmentStaysAtBaselineAndPulsePressureScales) {
  VirtualPerson p = HypertensivePerson();
  const Course c = RunCourse(p, {}, 5);
  ASSERT_EQ(c.days.size(), 5u);
  EXPECT_GT(c.baseline.sbp_mmhg, 135.0);
  EXPECT_GT(c.baseline.dbp_mmhg, 95.0);
  for (const CourseDay& d : c.days) {
    EXPECT_NEAR(d.trough.sbp_mmhg, c.baseline.sbp_mmhg, 1e-6);
    EXPECT_NEAR(d.peak.heart_rate_bpm, c.baseline.heart_rate_bpm, 1e-6);
    EXPECT_NEAR(d.min_weight_kg, 80.0, 1e-6);
  }
  // The pulse-pressure scale widens SBP - DBP about the same MAP.
  p.pulse_pressure_scale = 1.2;
  const Course wide = RunCourse(p, {}, 1);
  EXPECT_DOUBLE_EQ(wide.baseline.map_mmhg, c.baseline.map_mmhg);
  EXPECT_NEAR(wide.baseline.sbp_mmhg - wide.baseline.dbp_mmhg, 1.2 * (c.baseline.sbp_mmhg - c.baseline.dbp_mmhg), 1e-9);
}

TEST(CourseTest, TroughIsJustBeforeTheNextDaysFirstDose) {
  // First dose at the start of day 2 (t = 24 h): day 1's trough is taken at t = 24 h, when that
  // dose has been given but not absorbed, so it equals the untreated state.
  const Course c = RunCourse(HypertensivePerson(), Amlodipine(10.0, /*start_day=*/2), 3);
  EXPECT_DOUBLE_EQ(c.days[0].trough.sbp_mmhg, c.baseline.sbp_mmhg);
  EXPECT_LT(c.days[1].trough.sbp_mmhg, c.baseline.sbp_mmhg - 0.5);
  // Doses at t = 24, 48 and 72 h; the last falls on the final trough instant (given, not absorbed).
  EXPECT_EQ(c.doses_scheduled, 3);
}

TEST(CourseTest, AmlodipineLowersBloodPressureWithPeakBelowTrough) {
  const Course c = RunCourse(HypertensivePerson(), Amlodipine(10.0), 14);
  for (const CourseDay& d : c.days) {
    EXPECT_LE(d.peak.map_mmhg, d.trough.map_mmhg);
    EXPECT_LE(d.min_sbp_mmhg, d.trough.sbp_mmhg);
  }
  EXPECT_LT(c.days.back().trough.sbp_mmhg, c.baseline.sbp_mmhg - 5.0);
  EXPECT_LT(c.days.back().trough.dbp_mmhg, c.baseline.dbp_mmhg - 2.0);
  EXPECT_EQ(c.doses_taken, 15);  // days 1-14 and the one at the final trough instant
}

TEST(CourseTest, LowSodiumIntakeLowersWeightAndPressure) {
  const Course c = RunCourse(HypertensivePerson(), {}, 10, Intake{.sodium_mmol_per_day = 60.0, .fluid_l_per_day = 2.1});
  EXPECT_LT(c.days.back().trough.weight_kg, c.baseline.weight_kg);
  EXPECT_LT(c.days.back().trough.map_mmhg, c.baseline.map_mmhg);
}

TEST(CourseTest, InvalidRegimenIsRejected) {
  pharma::Regimen r;
  r.drug = "aspirin";
  r.dose_mg = 100;
  VirtualPerson p;  // regimens are checked before the model is built, so no map is needed
  p.params = StandardAdult();
  absl::StatusOr<Course> c = SimulateCourse(p, {r}, {}, 3, 1);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace healthtwin::models::treatment

namespace healthtwin::models::treatment {
namespace {

Course Synthetic(double base_sbp, double base_hr, double min_sbp, double min_hr, double min_weight) {
  Course c;
  c.baseline.sbp_mmhg = base_sbp;
  c.baseline.heart_rate_bpm = base_hr;
  c.baseline.weight_kg = 80.0;
  CourseDay d;
  d.min_sbp_mmhg = min_sbp;
  d.min_heart_rate_bpm = min_hr;
  d.min_weight_kg = min_weight;
  c.days = {d};
  return c;
}

TEST(CourseFlagsTest, FlagsWhatTheTreatmentCauses) {
  const CourseFlags none = FlagsOf(Synthetic(130, 70, 120, 65, 79));
  EXPECT_FALSE(none.hypotension || none.bradycardia || none.volume_loss);
  const CourseFlags all = FlagsOf(Synthetic(130, 70, 88, 48, 77.5));
  EXPECT_TRUE(all.hypotension && all.bradycardia && all.volume_loss);
  // Already below the thresholds at rest and unchanged: no flag.
  const CourseFlags at_rest = FlagsOf(Synthetic(88, 47, 88, 47, 80));
  EXPECT_FALSE(at_rest.hypotension || at_rest.bradycardia);
  // Already below, and the treatment takes it further: flagged.
  const CourseFlags worse = FlagsOf(Synthetic(88, 47, 85, 44, 80));
  EXPECT_TRUE(worse.hypotension && worse.bradycardia);
}

// models/README.md: a member's flag is raised when the value goes below the threshold (SBP 90,
// HR 50, weight -3 %) and at least 1 unit below its own baseline. Values are binary fractions
// so "exactly" is exact.
TEST(CourseFlagsTest, HypotensionNeedsSbpBelowNinetyAndAtLeastOneBelowBaseline) {
  EXPECT_FALSE(FlagsOf(Synthetic(120, 70, 90.0, 70, 80)).hypotension);     // at the threshold
  EXPECT_TRUE(FlagsOf(Synthetic(120, 70, 89.875, 70, 80)).hypotension);    // just below
  EXPECT_TRUE(FlagsOf(Synthetic(90.5, 70, 89.5, 70, 80)).hypotension);     // exactly 1 below baseline
  EXPECT_FALSE(FlagsOf(Synthetic(90.5, 70, 89.625, 70, 80)).hypotension);  // 0.875 below baseline
  EXPECT_FALSE(FlagsOf(Synthetic(89.5, 70, 88.625, 70, 80)).hypotension);  // below at rest, 0.875 further
  EXPECT_TRUE(FlagsOf(Synthetic(89.5, 70, 88.5, 70, 80)).hypotension);     // below at rest, 1 further
}

TEST(CourseFlagsTest, BradycardiaNeedsHeartRateBelowFiftyAndAtLeastOneBelowBaseline) {
  EXPECT_FALSE(FlagsOf(Synthetic(120, 70, 120, 50.0, 80)).bradycardia);
  EXPECT_TRUE(FlagsOf(Synthetic(120, 70, 120, 49.875, 80)).bradycardia);
  EXPECT_TRUE(FlagsOf(Synthetic(120, 50.5, 120, 49.5, 80)).bradycardia);
  EXPECT_FALSE(FlagsOf(Synthetic(120, 50.5, 120, 49.625, 80)).bradycardia);
  EXPECT_FALSE(FlagsOf(Synthetic(120, 48.5, 120, 47.625, 80)).bradycardia);
  EXPECT_TRUE(FlagsOf(Synthetic(120, 48.5, 120, 47.5, 80)).bradycardia);
}

TEST(CourseFlagsTest, VolumeLossNeedsWeightMoreThanThreePercentDown) {
  // Baseline 80 kg: the threshold is 77.6 kg (2.4 kg down, so the 1-unit margin always holds).
  EXPECT_FALSE(FlagsOf(Synthetic(120, 70, 120, 70, 77.61)).volume_loss);
  EXPECT_TRUE(FlagsOf(Synthetic(120, 70, 120, 70, 77.59)).volume_loss);
}

}  // namespace
}  // namespace healthtwin::models::treatment
