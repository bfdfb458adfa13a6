// The drug table. Doses are per administration from the US labels (FDA prescribing
// information, Drugs@FDA); "standard dose" is the usual maintenance dose used as the unit of
// Law et al. (BMJ 2003;326:1427, "standard (recommended) dose"). PK of the active moiety for a
// 70 kg adult with normal renal function, from the labels' Clinical Pharmacology sections and
// Goodman & Gilman's, 13th ed., Appendix II (pharmacokinetic data); ranges are given where the
// sources give ranges, and the value used is inside them. ka is set so the model's time of peak
// matches the reported Tmax. ke0 (effect-site equilibration) is our choice per class: the BP
// effect of these drugs lags plasma concentration and outlasts it (see README).
#include <algorithm>
#include <cmath>
#include <numbers>

#include "models/pharmacology/pharmacology.h"

namespace healthtwin::models::pharma {
namespace {

using DC = DrugClass;

// Effect-site concentration (mg/L) just before a dose at steady state, dose d every tau hours,
// 70 kg: the superposition of the single-dose response F d ka ke0 / V * conv(e^-ka t, e^-ke t,
// e^-ke0 t) over all past doses. The rates in the table are pairwise distinct.
double TroughEffectSiteSteadyState(const DrugInfo& d, double dose_mg, double tau_h) {
  const double ka = d.ka_per_h, ke = std::numbers::ln2 / d.half_life_h, k0 = d.ke0_per_h;
  auto term = [tau_h](double x, double y, double z) {
    return std::exp(-x * tau_h) / (1.0 - std::exp(-x * tau_h)) / ((y - x) * (z - x));
  };
  return d.bioavailability * dose_mg * ka * k0 / d.volume_l * (term(ka, ke, k0) + term(ke, ka, k0) + term(k0, ka, ke));
}

// ke0 per class (1/h): effect-site half-time ln2/ke0.
constexpr double kKe0BetaBlocker = 0.35;   // ~2 h: HR and BP effects lag peak plasma levels
constexpr double kKe0RaasBlocker = 0.25;   // ~3 h; ACE/AT1 binding outlasts plasma levels
constexpr double kKe0Ccb = 0.2;            // amlodipine's slow onset is mostly pharmacokinetic
constexpr double kKe0Diuretic = 0.5;       // natriuresis follows tubular delivery within ~1-2 h
constexpr double kKe0Mra = 0.03;           // ~1 day: genomic mineralocorticoid action

std::vector<DrugInfo> BuildLibrary() {
  std::vector<DrugInfo> v = {
      // name, class, label min, max, standard, interval, F, ka, V(L), t1/2(h), ke0, fe_renal, pk_source, ec50
      {"amlodipine", DC::kCalciumChannelBlocker, 2.5, 10, 5, 24, 0.64, 0.35, 1470, 40, kKe0Ccb, 0.10,
       "Norvasc label: F 64-90 %, Tmax 6-12 h, Vd 21 L/kg, t1/2 30-50 h, 10 % unchanged in urine", 0},
      {"atenolol", DC::kBetaBlocker, 25, 100, 50, 24, 0.50, 0.8, 63, 6.5, kKe0BetaBlocker, 0.90,
       "Tenormin label: ~50 % absorbed, Tmax 2-4 h, t1/2 6-7 h, renal elimination; G&G App. II: Vd 0.95 L/kg", 0},
      {"bisoprolol", DC::kBetaBlocker, 2.5, 20, 10, 24, 0.80, 0.8, 245, 10.5, kKe0BetaBlocker, 0.50,
       "Zebeta label: F >= 80 %, Tmax 2-4 h, t1/2 9-12 h, Vd 3.5 L/kg, ~50 % renal unchanged", 0},
      {"candesartan", DC::kArb, 2, 32, 8, 24, 0.15, 0.6, 9.1, 9, kKe0RaasBlocker, 0.33,
       "Atacand label: F 15 %, Tmax 3-4 h, t1/2 ~9 h, Vd 0.13 L/kg, 33 % in urine", 0},
      {"carvedilol", DC::kBetaBlocker, 3.125, 25, 12.5, 12, 0.25, 1.2, 115, 8, kKe0BetaBlocker, 0.02,
       "Coreg label: F 25-35 %, Tmax 1-2 h, t1/2 7-10 h, Vd ~115 L, <2 % unchanged in urine", 0},
      {"chlorthalidone", DC::kThiazide, 12.5, 100, 25, 24, 0.65, 0.8, 270, 50, kKe0Diuretic, 0.65,
       "Chlorthalidone label: t1/2 40-60 h, 50-74 % unchanged in urine; G&G App. II: F 65 %, Vd 3.9 L/kg", 0},
      {"enalapril", DC::kAceInhibitor, 2.5, 40, 20, 24, 0.40, 0.5, 140, 11, kKe0RaasBlocker, 1.00,
       "Vasotec label: ~60 % absorbed, enalaprilat Tmax 3-4 h, effective accumulation t1/2 11 h, renal", 0},
      {"furosemide", DC::kLoopDiuretic, 20, 600, 40, 12, 0.60, 1.5, 8, 2, kKe0Diuretic, 0.65,
       "Lasix label: F 64 % (tablets), Tmax ~1-1.5 h, terminal t1/2 ~2 h; G&G App. II: Vd 0.11 L/kg", 0},
      {"hydrochlorothiazide", DC::kThiazide, 12.5, 50, 25, 24, 0.70, 1.0, 210, 10, kKe0Diuretic, 0.95,
       "HCTZ label: t1/2 5.6-14.8 h, >= 61 % unchanged in urine; G&G App. II: F 65-75 %, Tmax 1-2.5 h", 0},
      {"lisinopril", DC::kAceInhibitor, 2.5, 80, 20, 24, 0.25, 0.3, 90, 12, kKe0RaasBlocker, 1.00,
       "Zestril label: ~25 % absorbed, Tmax ~7 h, effective accumulation t1/2 12 h, renal, unmetabolised", 0},
      {"losartan", DC::kArb, 25, 100, 50, 24, 0.33, 0.6, 12, 7.5, kKe0RaasBlocker, 0.10,
       "Cozaar label: F ~33 %, E-3174 Tmax 3-4 h, t1/2 6-9 h, Vd 12 L (E-3174); ~10 % in urine", 0},
      {"metoprolol", DC::kBetaBlocker, 25, 400, 100, 24, 0.40, 0.15, 290, 3.5, kKe0BetaBlocker, 0.05,
       "Toprol-XL (succinate ER) label: ER ~77 % of IR F (IR ~50 %), flat release over ~20 h, "
       "t1/2 3-7 h, Vd 3.2-5.6 L/kg, <5 % unchanged in urine",
       0},
      {"ramipril", DC::kAceInhibitor, 1.25, 20, 5, 24, 0.44, 0.6, 300, 15, kKe0RaasBlocker, 0.60,
       "Altace label: ramiprilat F 44 %, Tmax 2-4 h, effective t1/2 13-17 h, 60 % in urine; "
       "V not reported (ours: affects only absolute concentrations)",
       0},
      {"spironolactone", DC::kMineralocorticoidAntagonist, 12.5, 400, 25, 24, 0.90, 0.3, 600, 16.5, kKe0Mra, 0.0,
       "Aldactone label: canrenone Tmax 2.5-5 h, t1/2 16.5 h (7-alpha-TMS 13.8 h), metabolised; "
       "F of active metabolites ~90 % with food; V not reported (ours)",
       0},
      {"valsartan", DC::kArb, 40, 320, 80, 24, 0.25, 0.8, 17, 6, kKe0RaasBlocker, 0.30,
       "Diovan label: F ~25 % (10-35), Tmax 2-4 h, t1/2 ~6 h, Vd 17 L, renal 30 % of clearance", 0},
  };
  for (DrugInfo& d : v) d.ec50_mg_per_l = TroughEffectSiteSteadyState(d, d.standard_dose_mg, d.standard_interval_h) / 3.0;
  std::sort(v.begin(), v.end(), [](const DrugInfo& a, const DrugInfo& b) { return a.name < b.name; });
  return v;
}

}  // namespace

std::string_view DrugClassName(DrugClass c) {
  switch (c) {
    case DrugClass::kBetaBlocker: return "beta_blocker";
    case DrugClass::kAceInhibitor: return "ace_inhibitor";
    case DrugClass::kArb: return "arb";
    case DrugClass::kCalciumChannelBlocker: return "ccb";
    case DrugClass::kThiazide: return "thiazide";
    case DrugClass::kLoopDiuretic: return "loop_diuretic";
    case DrugClass::kMineralocorticoidAntagonist: return "mra";
  }
  return "unknown";
}

const std::vector<DrugInfo>& DrugLibrary() {
  static const std::vector<DrugInfo>* const kLibrary = new std::vector<DrugInfo>(BuildLibrary());
  return *kLibrary;
}

const DrugInfo* FindDrug(std::string_view name) {
  for (const DrugInfo& d : DrugLibrary()) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::string KnownDrugNamesList() {
  std::vector<std::string_view> names;
  for (const DrugInfo& d : DrugLibrary()) names.push_back(d.name);
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out;
}

}  // namespace healthtwin::models::pharma
