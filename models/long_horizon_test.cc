#include "models/long_horizon.h"

#include <cmath>

#include <gtest/gtest.h>

#include "models/patient.h"

namespace healthtwin::models {
namespace {

// One map for every model in this file's process (Build runs the engine ~40 times).
std::shared_ptr<const SteadyStateMap> StandardMap() {
  static const std::shared_ptr<const SteadyStateMap> map = [] {
    absl::StatusOr<SteadyStateMap> m = SteadyStateMap::Build(StandardAdult());
    EXPECT_TRUE(m.ok()) << m.status();
    return std::make_shared<const SteadyStateMap>(*std::move(m));
  }();
  return map;
}

LongHorizonModel Make(const LongHorizonParams& lh = {}) {
  absl::StatusOr<LongHorizonModel> m = LongHorizonModel::Create(StandardMap(), StandardAdult(), lh);
  EXPECT_TRUE(m.ok()) << m.status();
  return std::move(*m);
}

TEST(LongHorizonTest, RestsInSteadyStateWhenIntakeEqualsExcretion) {
  LongHorizonModel m = Make();
  const LongHorizonState s0 = m.state();
  const std::vector<DailySummary> days = m.AdvanceDays(30);
  const LongHorizonState s = m.state();
  EXPECT_NEAR(s.haemodynamics.map_mmhg, s0.haemodynamics.map_mmhg, 1e-6);
  EXPECT_NEAR(s.blood_volume_ml, s0.blood_volume_ml, 1e-6);
  EXPECT_NEAR(s.baroreflex_set_point_mmhg, s0.baroreflex_set_point_mmhg, 1e-6);
  EXPECT_NEAR(days.back().sodium_excreted_mmol, days.back().sodium_intake_mmol, 1e-6);
  EXPECT_NEAR(days.back().urine_l, 1.4, 1e-6);
  EXPECT_NEAR(s0.haemodynamics.map_mmhg, m.reference_map_mmhg(), 1e-12);
}

// Returns the day on which excretion first covers 63 % of the step, and the final state.
struct StepResult {
  double t63_days;
  LongHorizonState before, after;
};
StepResult SaltStep(const LongHorizonParams& lh) {
  LongHorizonModel m = Make(lh);
  StepResult r{-1.0, m.state(), {}};
  m.SetIntake({250.0, 2.1});
  for (int h = 1; h <= 24 * 30; ++h) {
    m.AdvanceHours(1.0);
    if (r.t63_days < 0 && m.state().sodium_excretion_mmol_per_day >= 150.0 + 0.632 * 100.0) r.t63_days = h / 24.0;
  }
  r.after = m.state();
  return r;
}

TEST(LongHorizonTest, SaltLoadingRaisesVolumeAndBalancesWithinDays) {
  const StepResult r = SaltStep({});
  EXPECT_GT(r.after.ecf_volume_l, r.before.ecf_volume_l + 0.03);
  EXPECT_GT(r.after.blood_volume_ml, r.before.blood_volume_ml);
  EXPECT_GT(r.after.weight_change_kg, 0.03);
  EXPECT_GT(r.t63_days, 0.1);
  EXPECT_LT(r.t63_days, 2.0);
  EXPECT_NEAR(r.after.sodium_excretion_mmol_per_day, 250.0, 1.0);
  // Salt resistant: pressure barely moves.
  EXPECT_LT(r.after.haemodynamics.map_mmhg - r.before.haemodynamics.map_mmhg, 1.5);
}

TEST(LongHorizonTest, SaltSensitivePersonGainsMorePressureAndVolumeOverDays) {
  const StepResult resistant = SaltStep({});
  const StepResult sensitive = SaltStep(SaltSensitive({}));
  const double dmap_r = resistant.after.haemodynamics.map_mmhg - resistant.before.haemodynamics.map_mmhg;
  const double dmap_s = sensitive.after.haemodynamics.map_mmhg - sensitive.before.haemodynamics.map_mmhg;
  EXPECT_GT(dmap_s, 3.0 * dmap_r);
  // Chronic curve: dP = ln(250/150) / k_chronic.
  EXPECT_NEAR(dmap_s, std::log(250.0 / 150.0) / 0.25, 0.1);
  EXPECT_GT(sensitive.after.ecf_volume_l - sensitive.before.ecf_volume_l,
            2.0 * (resistant.after.ecf_volume_l - resistant.before.ecf_volume_l));
  EXPECT_GT(sensitive.t63_days, resistant.t63_days);
  EXPECT_GT(sensitive.t63_days, 0.5);  // days, not hours
  // The reflex has reset to the new pressure.
  EXPECT_GT(sensitive.after.baroreflex_set_point_mmhg, sensitive.before.baroreflex_set_point_mmhg + 1.0);
}

TEST(LongHorizonTest, SodiumAndWaterBalancesCloseToRoundOff) {
  LongHorizonModel m = Make(SaltSensitive({}));
  const LongHorizonState s0 = m.state();
  m.SetIntake({300.0, 3.0});
  m.AdvanceDays(5);
  m.SetModifiers({.effectors = {}, .sodium_excretion_factor = 1.5, .water_excretion_factor = 1.2});
  m.SetIntake({60.0, 1.5});
  m.AdvanceDays(10);
  const LongHorizonState s = m.state();
  EXPECT_NEAR(s.ecf_sodium_mmol - s0.ecf_sodium_mmol,
              s.cumulative_sodium_intake_mmol - s.cumulative_sodium_excreted_mmol, 1e-9 * s0.ecf_sodium_mmol);
  EXPECT_NEAR(s.total_body_water_l - s0.total_body_water_l,
              s.cumulative_fluid_intake_l - s.cumulative_urine_l - s.cumulative_nonrenal_loss_l,
              1e-9 * s0.total_body_water_l);
  EXPECT_NEAR(s.cumulative_sodium_intake_mmol, 5 * 300.0 + 10 * 60.0, 1e-6);
  EXPECT_NEAR(s.weight_change_kg, s.total_body_water_l - s0.total_body_water_l, 1e-12);
}

TEST(LongHorizonTest, SameInputsGiveIdenticalOutputs) {
  auto run = [] {
    LongHorizonModel m = Make();
    m.SetIntake({220.0, 2.4});
    m.SetModifiers({.effectors = {.heart_rate_factor = 0.85}, .natriuresis_shift_mmhg = 3.0});
    return m.AdvanceDays(20);
  };
  const std::vector<DailySummary> a = run();
  const std::vector<DailySummary> b = run();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].map_mmhg, b[i].map_mmhg);
    EXPECT_EQ(a[i].blood_volume_ml, b[i].blood_volume_ml);
    EXPECT_EQ(a[i].sodium_excreted_mmol, b[i].sodium_excreted_mmol);
  }
}

TEST(LongHorizonTest, PharmacologyHooksActOnTheirMechanisms) {
  // A natriuretic (diuretic-like) factor loses volume and pressure; a slower heart lowers HR.
  LongHorizonModel diuretic = Make(SaltSensitive({}));
  const LongHorizonState s0 = diuretic.state();
  diuretic.SetModifiers({.effectors = {}, .sodium_excretion_factor = 1.5});
  diuretic.AdvanceDays(14);
  EXPECT_LT(diuretic.state().ecf_volume_l, s0.ecf_volume_l - 0.1);
  EXPECT_LT(diuretic.state().haemodynamics.map_mmhg, s0.haemodynamics.map_mmhg - 0.5);
  LongHorizonModel beta = Make();
  beta.SetModifiers({.effectors = {.heart_rate_factor = 0.8}});
  beta.AdvanceHours(1.0);
  EXPECT_LT(beta.state().haemodynamics.heart_rate_bpm, s0.haemodynamics.heart_rate_bpm - 5.0);
}

TEST(LongHorizonTest, RejectsBadParametersNamingTheField) {
  LongHorizonParams lh;
  lh.body_weight_kg = -3.0;
  absl::StatusOr<LongHorizonModel> m = LongHorizonModel::Create(StandardMap(), StandardAdult(), lh);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("body_weight_kg"), std::string::npos);
  ModelParams other = StandardAdult();
  other.circulation.total_blood_volume_ml *= 1.1;
  EXPECT_FALSE(LongHorizonModel::Create(StandardMap(), other, {}).ok());
}

}  // namespace
}  // namespace healthtwin::models
