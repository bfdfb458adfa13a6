// PK: the exact propagation against the analytic one-dose solution, accumulation, missed doses,
// adherence determinism, Combine.
#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

#include "models/pharmacology/pharmacology.h"

namespace healthtwin::models::pharma {
namespace {

Regimen Make(std::string drug, double dose, double interval = 24) {
  Regimen r;
  r.drug = std::move(drug);
  r.dose_mg = dose;
  r.interval_h = interval;
  return r;
}

TEST(DrugLibraryTest, HasTheFifteenDrugsSortedWithSaneParameters) {
  EXPECT_EQ(DrugLibrary().size(), 15u);
  EXPECT_EQ(KnownDrugNamesList(),
            "amlodipine, atenolol, bisoprolol, candesartan, carvedilol, chlorthalidone, enalapril, furosemide, "
            "hydrochlorothiazide, lisinopril, losartan, metoprolol, ramipril, spironolactone, valsartan");
  for (const DrugInfo& d : DrugLibrary()) {
    EXPECT_LT(d.label_min_dose_mg, d.label_max_dose_mg) << d.name;
    EXPECT_GE(d.standard_dose_mg, d.label_min_dose_mg) << d.name;
    EXPECT_LE(d.standard_dose_mg, d.label_max_dose_mg) << d.name;
    EXPECT_GT(d.bioavailability, 0.0) << d.name;
    EXPECT_LE(d.bioavailability, 1.0) << d.name;
    EXPECT_GT(d.ec50_mg_per_l, 0.0) << d.name;
    EXPECT_FALSE(d.pk_source.empty()) << d.name;
  }
  EXPECT_EQ(FindDrug("metoprolol")->drug_class, DrugClass::kBetaBlocker);
  EXPECT_EQ(FindDrug("aspirin"), nullptr);
  EXPECT_EQ(DrugClassName(DrugClass::kCalciumChannelBlocker), "ccb");
  EXPECT_EQ(DrugClassName(DrugClass::kMineralocorticoidAntagonist), "mra");
}

// One dose: C(t) = F D ka / (V (ka - ke)) (e^-ke t - e^-ka t) for the reference adult.
TEST(PkTest, SingleDoseMatchesTheAnalyticSolutionWithItsTmaxAndHalfLife) {
  const DrugInfo& d = *FindDrug("atenolol");
  PkCovariates cov;
  cov.weight_kg = 70;
  cov.egfr_ml_min_1_73m2 = 100;
  Regimen r = Make("atenolol", 50);
  r.stop_h = 1;  // one dose
  auto pk = TreatmentPkPd::Create({r}, cov, {}, 7);
  ASSERT_TRUE(pk.ok()) << pk.status();
  const double ke = std::numbers::ln2 / d.half_life_h, ka = d.ka_per_h;
  auto analytic = [&](double t) {
    return d.bioavailability * 50 * ka / (d.volume_l * (ka - ke)) * (std::exp(-ke * t) - std::exp(-ka * t));
  };
  double cmax = 0, tmax = 0;
  for (int i = 0; i <= 48 * 10; ++i) {
    const double t = i * 0.1;
    pk->AdvanceTo(t);
    const double c = pk->PlasmaConcentrations()[0];
    ASSERT_NEAR(c, analytic(t), 1e-9 + 1e-9 * analytic(t)) << "t=" << t;
    if (c > cmax) cmax = c, tmax = t;
  }
  EXPECT_NEAR(tmax, std::log(ka / ke) / (ka - ke), 0.1);
  EXPECT_GE(tmax, 2.0);  // label: Tmax 2-4 h
  EXPECT_LE(tmax, 4.0);
  // Terminal decline: one half-life apart, concentrations halve.
  auto later = TreatmentPkPd::Create({r}, cov, {}, 7);
  later->AdvanceTo(30);
  const double c30 = later->PlasmaConcentrations()[0];
  later->AdvanceTo(30 + d.half_life_h);
  EXPECT_NEAR(later->PlasmaConcentrations()[0] / c30, 0.5, 0.01);
  EXPECT_EQ(pk->doses_taken(), 1);
  EXPECT_EQ(pk->doses_scheduled(), 1);
}

TEST(PkTest, ResultDoesNotDependOnTheStepPattern) {
  auto a = TreatmentPkPd::Create({Make("amlodipine", 5)}, {}, {}, 3);
  auto b = TreatmentPkPd::Create({Make("amlodipine", 5)}, {}, {}, 3);
  for (int h = 0; h <= 240; ++h) a->AdvanceTo(h);
  b->AdvanceTo(0);
  b->AdvanceTo(100.5);
  b->AdvanceTo(240);
  EXPECT_NEAR(a->PlasmaConcentrations()[0], b->PlasmaConcentrations()[0], 1e-12);
  EXPECT_NEAR(a->EffectConcentrations()[0], b->EffectConcentrations()[0], 1e-12);
  EXPECT_EQ(a->doses_taken(), 11);
}

// Accumulation: trough at steady state equals the superposition limit, and amlodipine takes
// about 4-5 half-lives (7-8 days, label) to get there.
TEST(PkTest, AccumulatesToTheSuperpositionSteadyState) {
  const DrugInfo& d = *FindDrug("amlodipine");
  PkCovariates cov;
  cov.weight_kg = 70;
  cov.egfr_ml_min_1_73m2 = 100;
  auto pk = TreatmentPkPd::Create({Make("amlodipine", 5)}, cov, {}, 1);
  const double ke = std::numbers::ln2 / d.half_life_h, ka = d.ka_per_h, tau = 24;
  const double coef = d.bioavailability * 5 * ka / (d.volume_l * (ka - ke));
  const double trough_ss =
      coef * (std::exp(-ke * tau) / (1 - std::exp(-ke * tau)) - std::exp(-ka * tau) / (1 - std::exp(-ka * tau)));
  pk->AdvanceTo(24 * 30 - 1e-9);
  EXPECT_NEAR(pk->PlasmaConcentrations()[0] / trough_ss, 1.0, 1e-3);
  auto day8 = TreatmentPkPd::Create({Make("amlodipine", 5)}, cov, {}, 1);
  day8->AdvanceTo(24 * 8 - 1e-9);
  const double frac = day8->PlasmaConcentrations()[0] / trough_ss;
  EXPECT_GT(frac, 0.90);
  EXPECT_LT(frac, 0.99);
}

TEST(PkTest, MissedDosesAreSkippedAndLowerTheLevel) {
  Regimen r = Make("lisinopril", 20);
  r.missed_doses = {3, 4};
  auto missed = TreatmentPkPd::Create({r}, {}, {}, 1);
  auto full = TreatmentPkPd::Create({Make("lisinopril", 20)}, {}, {}, 1);
  for (int h = 0; h <= 24 * 5 + 1; ++h) {
    missed->AdvanceTo(h);
    full->AdvanceTo(h);
  }
  EXPECT_EQ(missed->doses_scheduled(), 6);
  EXPECT_EQ(missed->doses_taken(), 4);
  EXPECT_EQ(full->doses_taken(), 6);
  EXPECT_LT(missed->PlasmaConcentrations()[0], 0.8 * full->PlasmaConcentrations()[0]);
}

TEST(PkTest, AdherenceIsSeededDeterministicAndNearItsFraction) {
  Regimen r = Make("amlodipine", 5);
  r.adherence = 0.7;
  auto a = TreatmentPkPd::Create({r}, {}, {}, 42);
  auto b = TreatmentPkPd::Create({r}, {}, {}, 42);
  auto c = TreatmentPkPd::Create({r}, {}, {}, 43);
  std::vector<int> taken_a, taken_b, taken_c;
  for (int day = 0; day < 1000; ++day) {
    a->AdvanceTo(day * 24.0);
    b->AdvanceTo(day * 24.0);
    c->AdvanceTo(day * 24.0);
    taken_a.push_back(a->doses_taken());
    taken_b.push_back(b->doses_taken());
    taken_c.push_back(c->doses_taken());
  }
  EXPECT_EQ(taken_a, taken_b);
  EXPECT_NE(taken_a, taken_c);
  EXPECT_EQ(a->doses_scheduled(), 1000);
  EXPECT_NEAR(a->doses_taken() / 1000.0, 0.7, 0.05);
}

TEST(PkTest, StopEndsDosingAndTheDrugWashesOut) {
  Regimen r = Make("atenolol", 50);
  r.stop_h = 24 * 7;
  auto pk = TreatmentPkPd::Create({r}, {}, {}, 1);
  pk->AdvanceTo(24 * 7 - 1);
  const double on = pk->EffectConcentrations()[0];
  EXPECT_GT(on, 0.0);
  pk->AdvanceTo(24 * 14);
  EXPECT_EQ(pk->doses_scheduled(), 7);
  EXPECT_LT(pk->EffectConcentrations()[0], 1e-3 * on);
  EXPECT_NEAR(pk->AdvanceTo(24 * 15).effectors.heart_rate_factor, 1.0, 1e-3);
}

TEST(PkTest, LowerEgfrRaisesRenallyClearedDrugsOnly) {
  PkCovariates normal, ckd;
  ckd.egfr_ml_min_1_73m2 = 30;
  auto a = TreatmentPkPd::Create({Make("atenolol", 50), Make("metoprolol", 100)}, normal, {}, 1);
  auto b = TreatmentPkPd::Create({Make("atenolol", 50), Make("metoprolol", 100)}, ckd, {}, 1);
  a->AdvanceTo(24 * 10 - 1);
  b->AdvanceTo(24 * 10 - 1);
  EXPECT_GT(b->PlasmaConcentrations()[0], 1.8 * a->PlasmaConcentrations()[0]);  // atenolol, 90 % renal
  EXPECT_NEAR(b->PlasmaConcentrations()[1] / a->PlasmaConcentrations()[1], 1.0, 0.1);  // metoprolol
}

TEST(PkPdTest, NoDrugsIsNeutral) {
  auto pk = TreatmentPkPd::Create({}, {}, {}, 1);
  ASSERT_TRUE(pk.ok());
  const LongHorizonModifiers m = pk->AdvanceTo(100);
  EXPECT_EQ(m.effectors.heart_rate_factor, 1.0);
  EXPECT_EQ(m.effectors.contractility_factor, 1.0);
  EXPECT_EQ(m.effectors.systemic_resistance_factor, 1.0);
  EXPECT_EQ(m.effectors.venous_unstressed_delta_ml, 0.0);
  EXPECT_EQ(m.natriuresis_shift_mmhg, 0.0);
  EXPECT_EQ(m.natriuresis_gain_factor, 1.0);
  EXPECT_EQ(m.sodium_excretion_factor, 1.0);
  EXPECT_EQ(m.water_excretion_factor, 1.0);
  EXPECT_EQ(pk->doses_scheduled(), 0);
}

TEST(CombineTest, FactorsMultiplyAndShiftsAdd) {
  LongHorizonModifiers a, b;
  a.effectors = {.heart_rate_factor = 0.9, .contractility_factor = 0.8, .systemic_resistance_factor = 1.2,
                 .venous_unstressed_delta_ml = 50};
  a.natriuresis_shift_mmhg = 10;
  a.natriuresis_gain_factor = 0.5;
  a.sodium_excretion_factor = 2;
  a.water_excretion_factor = 1.5;
  b.effectors = {.heart_rate_factor = 0.5, .contractility_factor = 0.5, .systemic_resistance_factor = 0.5,
                 .venous_unstressed_delta_ml = -20};
  b.natriuresis_shift_mmhg = -4;
  b.natriuresis_gain_factor = 0.5;
  b.sodium_excretion_factor = 3;
  b.water_excretion_factor = 2;
  const LongHorizonModifiers m = Combine(a, b);
  EXPECT_DOUBLE_EQ(m.effectors.heart_rate_factor, 0.45);
  EXPECT_DOUBLE_EQ(m.effectors.contractility_factor, 0.4);
  EXPECT_DOUBLE_EQ(m.effectors.systemic_resistance_factor, 0.6);
  EXPECT_DOUBLE_EQ(m.effectors.venous_unstressed_delta_ml, 30);
  EXPECT_DOUBLE_EQ(m.natriuresis_shift_mmhg, 6);
  EXPECT_DOUBLE_EQ(m.natriuresis_gain_factor, 0.25);
  EXPECT_DOUBLE_EQ(m.sodium_excretion_factor, 6);
  EXPECT_DOUBLE_EQ(m.water_excretion_factor, 3);
  const LongHorizonModifiers n = Combine(a, LongHorizonModifiers{});
  EXPECT_EQ(n.effectors.heart_rate_factor, a.effectors.heart_rate_factor);
  EXPECT_EQ(n.natriuresis_shift_mmhg, a.natriuresis_shift_mmhg);
}

}  // namespace
}  // namespace healthtwin::models::pharma
