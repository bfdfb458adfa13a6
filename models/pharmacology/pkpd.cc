// TreatmentPkPd: exact propagation of the linear PK chain gut -> central -> effect site between
// doses, then the class effects on the long-horizon mechanisms.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "models/pharmacology/pharmacology.h"

namespace healthtwin::models::pharma {
namespace {

// Reference adult of the drug table: 70 kg, eGFR 100 mL/min/1.73 m2 (healthy volunteers).
constexpr double kReferenceWeightKg = 70.0;
constexpr double kReferenceEgfr = 100.0;
// Rates closer than this (relative) are separated so the closed-form solution stays accurate.
constexpr double kMinRelativeRateGap = 0.05;
// Mechanism factors never go below these (the steady-state map is built for >= 0.6-0.7).
constexpr double kMinFactor = 0.5;

// The class table. Every number is calibrated in pharmacology_validation.cc against the
// placebo-controlled references listed there and in models/README.md ("Pharmacology").
const std::array<ClassEffect, kDrugClassCount> kClassEffects = {{
    // β-blockers: heart rate and contractility; the chronic pressure fall goes through reduced
    // renin release (β1 on juxtaglomerular cells), i.e. a renal shift.
    {.heart_rate_max = 0.22, .contractility_max = 0.12, .resistance_max = -0.24, .slow_time_constant_h = 72.0, .natriuresis_shift_fraction = 0.196, .slow_shift_share = 1.0,
     .source = "Law 2003 (9.2/6.7 mmHg at standard dose); Wong 2014 Cochrane CD007452 (HR -12 bpm)"},
    // ACE inhibitors: vasodilation and a left shift of pressure natriuresis; RAAS blockade makes
    // pressure salt-sensitive (Hall et al., Am J Physiol 239:F271, 1980).
    {.resistance_max = 0.03, .slow_time_constant_h = 72.0, .natriuresis_shift_fraction = 0.137, .slow_shift_share = 1.0,
     .natriuresis_gain_reduction_max = 0.5,
     .source = "Law 2003 (8.5/4.7 mmHg at standard dose); Heran 2008 Cochrane CD003823"},
    // ARBs: as ACE inhibitors.
    {.resistance_max = 0.03, .slow_time_constant_h = 72.0, .natriuresis_shift_fraction = 0.156, .slow_shift_share = 1.0,
     .natriuresis_gain_reduction_max = 0.5,
     .source = "Law 2003 (10.3/5.7 mmHg at standard dose); Heran 2008 Cochrane CD003822"},
    // Dihydropyridine CCB: arteriolar dilation, including the afferent arteriole (natriuretic).
    {.resistance_max = 0.04, .slow_time_constant_h = 48.0, .natriuresis_shift_fraction = 0.164, .slow_shift_share = 1.0,
     .source = "Law 2003 (8.8/5.9 mmHg at standard dose)"},
    // Thiazides: natriuresis first, then a delayed fall in peripheral resistance over weeks while
    // plasma volume partly recovers (Tarazi et al., Circulation 41:709, 1970).
    {.slow_resistance_max = 0.03, .slow_time_constant_h = 120.0, .natriuresis_shift_fraction = 0.12,
     .slow_shift_share = 1.0, .sodium_excretion_max = 0.5,
     .source = "Law 2003 (8.8/4.4 mmHg at standard dose); Musini 2014 Cochrane CD003824"},
    // Loop diuretics: strong, short natriuresis; a small sustained effect.
    {.slow_resistance_max = 0.02, .slow_time_constant_h = 120.0, .natriuresis_shift_fraction = 0.087,
     .slow_shift_share = 1.0, .sodium_excretion_max = 3.0,
     .source = "Musini 2015 Cochrane CD003825 (loop diuretics in hypertension)"},
    // Mineralocorticoid receptor antagonists: distal natriuresis, slow (genomic) onset.
    {.slow_time_constant_h = 72.0, .natriuresis_shift_fraction = 0.14, .slow_shift_share = 1.0, .sodium_excretion_max = 0.2,
     .source = "Batterink 2010 Cochrane CD008169 (spironolactone in hypertension)"},
}};

// Convolution of exp(-a t) and exp(-b t), a != b.
double Conv2(double a, double b, double t) { return (std::exp(-a * t) - std::exp(-b * t)) / (b - a); }
// Convolution of exp(-a t), exp(-b t) and exp(-c t), pairwise distinct.
double Conv3(double a, double b, double c, double t) {
  return std::exp(-a * t) / ((b - a) * (c - a)) + std::exp(-b * t) / ((a - b) * (c - b)) +
         std::exp(-c * t) / ((a - c) * (b - c));
}

// Moves `x` away from each of `others` by at least kMinRelativeRateGap.
double Separate(double x, std::initializer_list<double> others) {
  for (int pass = 0; pass < 3; ++pass) {
    for (double o : others) {
      if (std::abs(x - o) < kMinRelativeRateGap * std::max(x, o)) x = o * (1.0 + 2.0 * kMinRelativeRateGap);
    }
  }
  return x;
}

std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double Uniform01(std::uint64_t& state) { return static_cast<double>(SplitMix64(state) >> 11) * 0x1.0p-53; }

}  // namespace

const ClassEffect& ClassEffectOf(DrugClass c) { return kClassEffects[static_cast<int>(c)]; }

absl::StatusOr<TreatmentPkPd> TreatmentPkPd::Create(std::vector<Regimen> regimens, const PkCovariates& cov,
                                                    const ResponseSensitivity& sens, std::uint64_t seed) {
  if (!std::isfinite(cov.weight_kg) || cov.weight_kg < 20.0 || cov.weight_kg > 300.0) {
    return absl::InvalidArgumentError(absl::StrCat("covariates.weight_kg: must be in [20, 300], got ", cov.weight_kg));
  }
  if (!std::isfinite(cov.age_years) || cov.age_years < 18.0 || cov.age_years > 110.0) {
    return absl::InvalidArgumentError(absl::StrCat("covariates.age_years: must be in [18, 110], got ", cov.age_years));
  }
  if (!std::isfinite(cov.egfr_ml_min_1_73m2) || cov.egfr_ml_min_1_73m2 < 5.0 || cov.egfr_ml_min_1_73m2 > 200.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("covariates.egfr_ml_min_1_73m2: must be in [5, 200], got ", cov.egfr_ml_min_1_73m2));
  }
  if (!std::isfinite(cov.baseline_map_mmhg) || cov.baseline_map_mmhg > 250.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("covariates.baseline_map_mmhg: must be finite and <= 250, got ", cov.baseline_map_mmhg));
  }
  for (int c = 0; c < kDrugClassCount; ++c) {
    const double s = sens.by_class[c];
    if (!std::isfinite(s) || s < 0.0 || s > 5.0) {
      return absl::InvalidArgumentError(absl::StrCat("sensitivity.by_class[", c, "] (",
                                                     std::string(DrugClassName(static_cast<DrugClass>(c))),
                                                     "): must be in [0, 5], got ", s));
    }
  }
  TreatmentPkPd t;
  t.cov_ = cov;
  t.sens_ = sens;
  for (std::size_t i = 0; i < regimens.size(); ++i) {
    if (absl::Status s = ValidateRegimen(regimens[i], absl::StrCat("regimens[", i, "]")); !s.ok()) return s;
    Pk pk{};
    pk.drug = FindDrug(regimens[i].drug);
    pk.regimen = std::move(regimens[i]);
    std::sort(pk.regimen.missed_doses.begin(), pk.regimen.missed_doses.end());
    // Allometric scaling: V with weight, clearance with weight^0.75; renal clearance with eGFR.
    const double w = cov.weight_kg / kReferenceWeightKg;
    const double renal = pk.drug->fraction_renal;
    const double cl_factor =
        std::pow(w, 0.75) * ((1.0 - renal) + renal * std::min(cov.egfr_ml_min_1_73m2 / kReferenceEgfr, 1.5));
    pk.volume_l = pk.drug->volume_l * w;
    const double ke_ref = std::numbers::ln2 / pk.drug->half_life_h;
    pk.ke = ke_ref * cl_factor / w;
    pk.ka = Separate(pk.drug->ka_per_h, {pk.ke});
    pk.ke0 = Separate(pk.drug->ke0_per_h, {pk.ke, pk.ka});
    pk.rng_state = seed ^ (0xD1B54A32D192ED03ULL * (i + 1));
    t.pk_.push_back(std::move(pk));
  }
  return t;
}

void TreatmentPkPd::Propagate(Pk& p, double dt_h) {
  if (dt_h <= 0.0) return;
  const double g = p.gut_mg, c = p.central_mg, e = p.effect_mg_per_l;
  p.gut_mg = g * std::exp(-p.ka * dt_h);
  p.central_mg = c * std::exp(-p.ke * dt_h) + g * p.ka * Conv2(p.ka, p.ke, dt_h);
  p.effect_mg_per_l = e * std::exp(-p.ke0 * dt_h) +
                      p.ke0 / p.volume_l * (c * Conv2(p.ke, p.ke0, dt_h) + g * p.ka * Conv3(p.ka, p.ke, p.ke0, dt_h));
}

void TreatmentPkPd::GiveDose(Pk& p) {
  const int k = p.next_dose++;
  ++scheduled_;
  // One draw per scheduled dose, in order, so the pattern does not depend on the step size.
  const double u = Uniform01(p.rng_state);
  const bool missed = std::binary_search(p.regimen.missed_doses.begin(), p.regimen.missed_doses.end(), k);
  if (missed || u >= p.regimen.adherence) return;
  p.gut_mg += p.drug->bioavailability * p.regimen.dose_mg;
  ++taken_;
}

LongHorizonModifiers TreatmentPkPd::AdvanceTo(double t_h) {
  t_h = std::max(t_h, 0.0);
  if (!started_) {
    started_ = true;
  } else if (!(t_h > t_h_)) {
    return Modifiers();
  }
  const double t_prev = t_h_;
  // Each regimen is independent: walk it through its own doses in the interval.
  for (Pk& p : pk_) {
    double now = t_prev;
    for (;;) {
      const double due = p.regimen.start_h + p.next_dose * p.regimen.interval_h;
      if (due > t_h || due >= p.regimen.stop_h) break;
      Propagate(p, due - now);
      now = due;
      GiveDose(p);
    }
    Propagate(p, t_h - now);
  }
  // Delayed components follow the current class effect (exact for a constant input over the step).
  const std::array<double, kDrugClassCount> effect = ClassEffects();
  for (int c = 0; c < kDrugClassCount; ++c) {
    const ClassEffect& ce = kClassEffects[c];
    const double a = 1.0 - std::exp(-(t_h - t_prev) / ce.slow_time_constant_h);
    slow_[c] += (effect[c] - slow_[c]) * a;
  }
  t_h_ = t_h;
  return Modifiers();
}

std::array<double, kDrugClassCount> TreatmentPkPd::ClassEffects() const {
  std::array<double, kDrugClassCount> units{};
  for (const Pk& p : pk_) units[static_cast<int>(p.drug->drug_class)] += p.effect_mg_per_l / p.drug->ec50_mg_per_l;
  std::array<double, kDrugClassCount> out{};
  for (int c = 0; c < kDrugClassCount; ++c) out[c] = units[c] > 0.0 ? units[c] / (1.0 + units[c]) : 0.0;
  return out;
}

LongHorizonModifiers TreatmentPkPd::Modifiers() const {
  LongHorizonModifiers m;
  if (pk_.empty()) return m;
  const std::array<double, kDrugClassCount> effect = ClassEffects();
  const double baseline_map = cov_.baseline_map_mmhg > 0.0 ? cov_.baseline_map_mmhg : kTypicalBaselineMapMmhg;
  const double pressure_scale = std::max(0.0, baseline_map - kPressureOffsetMmhg);
  for (int c = 0; c < kDrugClassCount; ++c) {
    const ClassEffect& ce = kClassEffects[c];
    const double e = effect[c] * sens_.by_class[c];
    const double slow = slow_[c] * sens_.by_class[c];
    if (e == 0.0 && slow == 0.0) continue;
    m.effectors.heart_rate_factor *= 1.0 - ce.heart_rate_max * e;
    m.effectors.contractility_factor *= 1.0 - ce.contractility_max * e;
    m.effectors.systemic_resistance_factor *= (1.0 - ce.resistance_max * e) * (1.0 - ce.slow_resistance_max * slow);
    const double shift_effect = (1.0 - ce.slow_shift_share) * e + ce.slow_shift_share * slow;
    m.natriuresis_shift_mmhg -= ce.natriuresis_shift_fraction * shift_effect * pressure_scale;
    m.sodium_excretion_factor *= 1.0 + ce.sodium_excretion_max * e;
    m.natriuresis_gain_factor *= 1.0 - ce.natriuresis_gain_reduction_max * e;
  }
  m.effectors.heart_rate_factor = std::max(kMinFactor, m.effectors.heart_rate_factor);
  m.effectors.contractility_factor = std::max(kMinFactor, m.effectors.contractility_factor);
  m.effectors.systemic_resistance_factor = std::max(kMinFactor, m.effectors.systemic_resistance_factor);
  m.natriuresis_gain_factor = std::max(0.1, m.natriuresis_gain_factor);
  return m;
}

std::vector<double> TreatmentPkPd::EffectConcentrations() const {
  std::vector<double> out;
  for (const Pk& p : pk_) out.push_back(p.effect_mg_per_l);
  return out;
}

std::vector<double> TreatmentPkPd::PlasmaConcentrations() const {
  std::vector<double> out;
  for (const Pk& p : pk_) out.push_back(p.central_mg / p.volume_l);
  return out;
}

int TreatmentPkPd::doses_taken() const { return taken_; }
int TreatmentPkPd::doses_scheduled() const { return scheduled_; }

LongHorizonModifiers Combine(const LongHorizonModifiers& a, const LongHorizonModifiers& b) {
  LongHorizonModifiers m;
  m.effectors.heart_rate_factor = a.effectors.heart_rate_factor * b.effectors.heart_rate_factor;
  m.effectors.contractility_factor = a.effectors.contractility_factor * b.effectors.contractility_factor;
  m.effectors.systemic_resistance_factor =
      a.effectors.systemic_resistance_factor * b.effectors.systemic_resistance_factor;
  m.effectors.venous_unstressed_delta_ml = a.effectors.venous_unstressed_delta_ml + b.effectors.venous_unstressed_delta_ml;
  m.natriuresis_shift_mmhg = a.natriuresis_shift_mmhg + b.natriuresis_shift_mmhg;
  m.natriuresis_gain_factor = a.natriuresis_gain_factor * b.natriuresis_gain_factor;
  m.sodium_excretion_factor = a.sodium_excretion_factor * b.sodium_excretion_factor;
  m.water_excretion_factor = a.water_excretion_factor * b.water_excretion_factor;
  return m;
}

}  // namespace healthtwin::models::pharma
