// Pharmacology for the long-horizon twin: a library of 15 oral antihypertensives, their
// pharmacokinetics (one-compartment oral model with first-order absorption and an effect
// compartment, integrated exactly between doses) and their pharmacodynamics, which act on the
// mechanisms of LongHorizonModel (heart rate, contractility, resistance, renal sodium handling)
// and never on blood pressure directly. Parameters and sources: models/README.md
// ("Pharmacology") and pharmacology.cc beside each drug.
//
// Typical use, one patient, one treatment option, hourly steps:
//   auto pk = TreatmentPkPd::Create(regimens, cov, sens, seed);
//   for (t = 0; t < T; t += 1) {
//     model.SetModifiers(Combine(baseline, pk->AdvanceTo(t)));
//     model.AdvanceHours(1);
//   }
//
// Threads: DrugLibrary() is an immutable static table; a TreatmentPkPd is a plain value owned by
// one thread (copy it to branch a simulation). Determinism: the same regimens and seed give
// bit-identical results whatever the step pattern (adherence draws are made per dose index).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/long_horizon.h"

namespace healthtwin::models::pharma {

enum class DrugClass {
  kBetaBlocker,
  kAceInhibitor,
  kArb,
  kCalciumChannelBlocker,
  kThiazide,
  kLoopDiuretic,
  kMineralocorticoidAntagonist,
};
inline constexpr int kDrugClassCount = 7;

// "beta_blocker", "ace_inhibitor", "arb", "ccb", "thiazide", "loop_diuretic", "mra".
std::string_view DrugClassName(DrugClass c);

struct DrugInfo {
  std::string_view name;  // generic, lower case: "metoprolol"
  DrugClass drug_class;
  // Per administration, from the (US) label.
  double label_min_dose_mg;
  double label_max_dose_mg;
  double standard_dose_mg;     // the usual maintenance dose ("standard dose" of Law et al. 2003)
  double standard_interval_h;  // 24 or 12
  // PK of the active moiety (for prodrugs: enalaprilat, ramiprilat, canrenone; for losartan the
  // parent drug plus E-3174 lumped into one effective moiety), oral, one compartment.
  double bioavailability;    // fraction, of the active moiety reaching the circulation
  double ka_per_h;           // first-order absorption (includes prodrug conversion)
  double volume_l;           // apparent volume of distribution for a 70 kg adult
  double half_life_h;        // the half-life that governs accumulation (effective, not terminal)
  double ke0_per_h;          // effect-compartment equilibration rate
  double fraction_renal;     // fraction of clearance that is renal (scales with eGFR)
  std::string_view pk_source;
  // PD: the fraction of the class's maximal effect is Ce / (Ce + ec50), Ce in mg/L, Hill 1.
  // Drugs of one class add as concentration multiples of their EC50 (Loewe additivity).
  // ec50 is derived, not tabulated: one third of the steady-state trough effect-site
  // concentration at the standard dose and interval (70 kg), so at trough the standard dose gives
  // 3/4 of the class maximum and half of it 20 % less (Law et al., BMJ 2003;326:1427: half
  // standard dose lowers BP 20 % less than standard, measured at trough in most trials).
  double ec50_mg_per_l;
};

// The class's action on the long-horizon mechanisms at full effect (fraction 1 of the maximum,
// sensitivity 1). Calibrated to placebo-controlled trials; see models/README.md.
struct ClassEffect {
  double heart_rate_max = 0;          // fractional fall of heart rate
  double contractility_max = 0;       // fractional fall of ventricular contractility
  double resistance_max = 0;          // fractional fall of systemic resistance, immediate
  double slow_resistance_max = 0;     // fractional fall of systemic resistance, delayed
  double slow_time_constant_h = 1;    // of the delayed component (a first-order lag)
  // Shift of the pressure-natriuresis curve, as a fraction of (baseline MAP - 55 mmHg): the
  // renal action that sets the chronic pressure in the long-horizon layer.
  double natriuresis_shift_fraction = 0;
  double slow_shift_share = 0;        // the part of the shift that follows the delayed lag
  double sodium_excretion_max = 0;    // sodium excretion factor = 1 + this * effect
  double natriuresis_gain_reduction_max = 0;  // chronic gain factor = 1 - this * effect
  std::string_view source;
};
const ClassEffect& ClassEffectOf(DrugClass c);

// The pressure below which drugs have no renal effect in the baseline scaling; fitted to the
// slope of Law et al. 2003 (1.0 mmHg more SBP fall per 10 mmHg higher baseline, from 9.1 mmHg
// at 154 mmHg).
inline constexpr double kPressureOffsetMmhg = 55.0;
// MAP of the trial populations in Law et al. 2003 (154/97 mmHg).
inline constexpr double kTypicalBaselineMapMmhg = 116.0;

// All 15 drugs, sorted by name.
const std::vector<DrugInfo>& DrugLibrary();
// nullptr if unknown. Exact, lower-case match.
const DrugInfo* FindDrug(std::string_view name);
// "amlodipine, atenolol, ..." sorted.
std::string KnownDrugNamesList();

struct Regimen {
  std::string drug;
  double dose_mg = 0;
  double interval_h = 24;
  double start_h = 0;  // first dose time, hours from simulation start
  double stop_h = std::numeric_limits<double>::infinity();  // no doses at or after
  double adherence = 1.0;        // fraction of scheduled doses taken (random, seeded)
  std::vector<int> missed_doses;  // 0-based indices of scheduled doses skipped
  bool off_label = false;         // accept a dose outside the label range
};

// InvalidArgument naming the field, `field` is a prefix like "options[1].drugs[0]": unknown drug
// (message lists the known ones), non-finite/<=0 dose, dose outside label without off_label
// (message gives the label range), interval <=0 or > 168, adherence outside (0,1], start<0,
// stop<=start, a negative missed-dose index.
absl::Status ValidateRegimen(const Regimen& r, std::string_view field);

// Inter-individual response variability: multipliers on each class's maximal effect
// (1 = typical), indexed by static_cast<int>(DrugClass).
struct ResponseSensitivity {
  std::array<double, kDrugClassCount> by_class{1, 1, 1, 1, 1, 1, 1};
};

// Patient covariates. Weight scales volume (allometric, exponent 1); age above 65 and eGFR scale
// clearance (see README). baseline_map_mmhg is the patient's untreated resting MAP (e.g.
// LongHorizonModel::reference_map_mmhg()): the renal effects scale with it, which is what makes
// falls larger from higher baseline pressure; <= 0 means the population typical of the
// placebo-controlled trials (154/97 mmHg, MAP 116 mmHg).
struct PkCovariates {
  double weight_kg = 75;
  double age_years = 55;
  double egfr_ml_min_1_73m2 = 90;
  double baseline_map_mmhg = 0;
};

class TreatmentPkPd {  // all regimens of one treatment option, for one patient
 public:
  // InvalidArgument for a bad regimen ("regimens[i]..."), covariate or sensitivity.
  static absl::StatusOr<TreatmentPkPd> Create(std::vector<Regimen> regimens, const PkCovariates& cov,
                                              const ResponseSensitivity& sens, std::uint64_t seed);

  // Advances the PK/PD state to t_h (monotonic, hours since start; doses due in (t_prev, t_h] are
  // given at their exact times; the first call also gives doses at exactly t_h = start) and
  // returns the drug modifiers to apply from t_h. Neutral when no drugs. A t_h earlier than the
  // current time is treated as the current time.
  LongHorizonModifiers AdvanceTo(double t_h);
  // The modifiers at the current time, without advancing.
  LongHorizonModifiers Modifiers() const;

  // Effect-compartment concentration per regimen (mg/L), for tests and plots.
  std::vector<double> EffectConcentrations() const;
  // Plasma (central) concentration per regimen (mg/L).
  std::vector<double> PlasmaConcentrations() const;
  // Fraction of each class's maximal effect now (0..1, before sensitivity), by class index.
  std::array<double, kDrugClassCount> ClassEffects() const;

  int doses_taken() const;
  int doses_scheduled() const;  // scheduled doses due so far (taken or not)
  double time_h() const { return t_h_; }

 private:
  struct Pk {
    const DrugInfo* drug;
    Regimen regimen;
    double ka, ke, ke0, volume_l;  // per h, L (after covariates)
    double gut_mg = 0, central_mg = 0, effect_mg_per_l = 0;
    int next_dose = 0;             // index of the next scheduled dose
    std::uint64_t rng_state = 0;
  };
  TreatmentPkPd() = default;
  static void Propagate(Pk& p, double dt_h);
  void GiveDose(Pk& pk);

  std::vector<Pk> pk_;
  PkCovariates cov_;
  ResponseSensitivity sens_;
  double t_h_ = 0;
  bool started_ = false;
  int taken_ = 0;
  int scheduled_ = 0;
  // Slow states: the delayed vasodilator phase of diuretics (fraction of class effect).
  std::array<double, kDrugClassCount> slow_{};
};

// Combines a patient's baseline modifiers with drug modifiers (factors multiply, shifts add).
LongHorizonModifiers Combine(const LongHorizonModifiers& a, const LongHorizonModifiers& b);

}  // namespace healthtwin::models::pharma
