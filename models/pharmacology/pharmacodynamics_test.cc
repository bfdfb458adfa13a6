// PD on the mechanisms (no long-horizon model needed): dose-response, class mapping.
#include <gtest/gtest.h>

#include "models/pharmacology/pharmacology.h"

namespace healthtwin::models::pharma {
namespace {

LongHorizonModifiers SteadyTrough(const std::string& drug, double dose_multiple) {
  const DrugInfo& d = *FindDrug(drug);
  Regimen r;
  r.drug = drug;
  r.dose_mg = d.standard_dose_mg * dose_multiple;
  r.interval_h = d.standard_interval_h;
  r.off_label = true;
  auto pk = TreatmentPkPd::Create({r}, {}, {}, 1);
  return pk->AdvanceTo(24 * 28 - 1e-6);
}

// Equal dose steps give ever smaller gains (Emax): concave in dose, as in Law 2003.
TEST(PharmacodynamicsTest, DoseResponseIsMonotoneWithDiminishingReturns) {
  for (const DrugInfo& d : DrugLibrary()) {
    double prev_shift = 0, prev_gain = 1e9;
    for (double mult : {0.5, 1.0, 1.5, 2.0, 2.5}) {
      const double shift = -SteadyTrough(std::string(d.name), mult).natriuresis_shift_mmhg;
      EXPECT_GT(shift, prev_shift) << d.name << " x" << mult;
      const double gain = shift - prev_shift;
      EXPECT_LT(gain, prev_gain) << d.name << " x" << mult;
      prev_gain = gain;
      prev_shift = shift;
    }
  }
}

TEST(PharmacodynamicsTest, HalfStandardDoseGivesAboutTwentyPercentLessEffect) {
  for (const DrugInfo& d : DrugLibrary()) {
    const double full = SteadyTrough(std::string(d.name), 1.0).natriuresis_shift_mmhg;
    const double half = SteadyTrough(std::string(d.name), 0.5).natriuresis_shift_mmhg;
    EXPECT_GT(half / full, 0.65) << d.name;
    EXPECT_LT(half / full, 0.9) << d.name;
  }
}

TEST(PharmacodynamicsTest, ClassesActOnTheirMechanisms) {
  const LongHorizonModifiers bb = SteadyTrough("bisoprolol", 1);
  EXPECT_LT(bb.effectors.heart_rate_factor, 0.9);
  EXPECT_LT(bb.effectors.contractility_factor, 1.0);
  EXPECT_GT(bb.effectors.systemic_resistance_factor, 1.0);  // unopposed vasoconstriction
  const LongHorizonModifiers ccb = SteadyTrough("amlodipine", 1);
  EXPECT_EQ(ccb.effectors.heart_rate_factor, 1.0);
  EXPECT_LT(ccb.effectors.systemic_resistance_factor, 0.98);  // calibrated: ~3 % at trough (README)
  const LongHorizonModifiers acei = SteadyTrough("ramipril", 1);
  EXPECT_LT(acei.effectors.systemic_resistance_factor, 1.0);
  EXPECT_LT(acei.natriuresis_gain_factor, 1.0);
  const LongHorizonModifiers thz = SteadyTrough("hydrochlorothiazide", 1);
  EXPECT_GT(thz.sodium_excretion_factor, 1.0);
  EXPECT_LT(thz.effectors.systemic_resistance_factor, 1.0);  // the delayed phase, by week 4
  const LongHorizonModifiers mra = SteadyTrough("spironolactone", 1);
  EXPECT_GT(mra.sodium_excretion_factor, 1.0);
  EXPECT_EQ(mra.effectors.heart_rate_factor, 1.0);
  for (const DrugInfo& d : DrugLibrary()) {
    EXPECT_LT(SteadyTrough(std::string(d.name), 1).natriuresis_shift_mmhg, 0.0) << d.name;
  }
}

TEST(PharmacodynamicsTest, ThiazideResistanceFallIsDelayed) {
  Regimen r;
  r.drug = "hydrochlorothiazide";
  r.dose_mg = 25;
  auto pk = TreatmentPkPd::Create({r}, {}, {}, 1);
  double day2 = 0, day28 = 0;
  for (int h = 0; h <= 24 * 28; ++h) {
    const LongHorizonModifiers m = pk->AdvanceTo(h);
    if (h == 48) day2 = 1 - m.effectors.systemic_resistance_factor;
    if (h == 24 * 28) day28 = 1 - m.effectors.systemic_resistance_factor;
  }
  EXPECT_GT(day28, 3 * day2);
}

TEST(PharmacodynamicsTest, SameClassDrugsAddAsConcentrationMultiplesNotEffects) {
  // Two ARBs at standard dose act like one ARB at double dose, not like twice the effect.
  auto one = TreatmentPkPd::Create({}, {}, {}, 1);
  Regimen a;
  a.drug = "losartan";
  a.dose_mg = 50;
  Regimen b;
  b.drug = "valsartan";
  b.dose_mg = 80;
  auto both = TreatmentPkPd::Create({a, b}, {}, {}, 1);
  auto single = TreatmentPkPd::Create({a}, {}, {}, 1);
  const double s_both = both->AdvanceTo(24 * 14 - 1e-6).natriuresis_shift_mmhg;
  const double s_single = single->AdvanceTo(24 * 14 - 1e-6).natriuresis_shift_mmhg;
  EXPECT_LT(s_both, s_single);
  EXPECT_GT(s_both, 2 * s_single);
  EXPECT_TRUE(one.ok());
}

TEST(PharmacodynamicsTest, SensitivityScalesTheClassEffect) {
  Regimen r;
  r.drug = "amlodipine";
  r.dose_mg = 5;
  ResponseSensitivity twice;
  twice.by_class[static_cast<int>(DrugClass::kCalciumChannelBlocker)] = 2.0;
  ResponseSensitivity none;
  none.by_class[static_cast<int>(DrugClass::kCalciumChannelBlocker)] = 0.0;
  auto base = TreatmentPkPd::Create({r}, {}, {}, 1);
  auto hi = TreatmentPkPd::Create({r}, {}, twice, 1);
  auto zero = TreatmentPkPd::Create({r}, {}, none, 1);
  const double s1 = base->AdvanceTo(200).natriuresis_shift_mmhg;
  EXPECT_NEAR(hi->AdvanceTo(200).natriuresis_shift_mmhg, 2 * s1, 1e-12);
  EXPECT_EQ(zero->AdvanceTo(200).natriuresis_shift_mmhg, 0.0);
}

TEST(PharmacodynamicsTest, RenalEffectScalesWithBaselinePressure) {
  Regimen r;
  r.drug = "lisinopril";
  r.dose_mg = 20;
  PkCovariates lo, hi;
  lo.baseline_map_mmhg = 100;
  hi.baseline_map_mmhg = 130;
  auto a = TreatmentPkPd::Create({r}, lo, {}, 1);
  auto b = TreatmentPkPd::Create({r}, hi, {}, 1);
  const double sa = a->AdvanceTo(300).natriuresis_shift_mmhg, sb = b->AdvanceTo(300).natriuresis_shift_mmhg;
  EXPECT_NEAR(sb / sa, (130 - kPressureOffsetMmhg) / (100 - kPressureOffsetMmhg), 1e-9);
}

}  // namespace
}  // namespace healthtwin::models::pharma
