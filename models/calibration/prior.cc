#include "models/calibration/prior.h"

#include <algorithm>

namespace healthtwin::models::calibration {
namespace {

bool Has(const PriorInputs& in, Condition c) {
  return std::find(in.conditions.begin(), in.conditions.end(), c) != in.conditions.end();
}

}  // namespace

PopulationPrior PriorFor(const PriorInputs& in) {
  PopulationPrior p;
  auto set = [&](Param k, double sd, std::string source) { p.params[static_cast<int>(k)] = {0.0, sd, std::move(source)}; };
  // Systemic vascular resistance: the usual normal range 800-1200 dyn s cm^-5 (e.g. Edwards
  // Lifesciences' table of normal haemodynamic parameters) is about +-20 % around the centre;
  // read as a ~95 % range, log SD 0.12. Hypertension adds the spread of its own definition (a
  // range of BP, not one value): 0.18 (our choice).
  const bool hypertensive = Has(in, Condition::kHypertensionStage1) || Has(in, Condition::kHypertensionStage2);
  set(Param::kLogResistance, hypertensive ? 0.18 : 0.12,
      "SVR 800-1200 dyn s cm^-5 read as a 95 % range; wider in hypertension (our choice)");
  // LV end-systolic elastance: 2.76 +- 0.68 mmHg/mL in young adults by the single-beat method
  // (Iran J Med Sci normal values, after Chen et al., JACC 38:2028, 2001), CV ~ 0.25; across
  // patients 0.4-8.4 mmHg/mL (Chen 2001). Log SD 0.30; HFrEF spreads further (EF 10-40 %): 0.45.
  const bool hf = Has(in, Condition::kHfref) || Has(in, Condition::kHfpef);
  set(Param::kLogContractility, Has(in, Condition::kHfref) ? 0.45 : 0.30,
      "Ees CV ~0.25 in normals, 0.4-8.4 mmHg/mL across patients (Chen et al., JACC 38:2028, 2001); wider in HFrEF");
  // Intrinsic heart rate 118.1 - 0.57 x age with 95 % limits +-14 % below 45 y and +-18 %
  // above (Jose & Collison, Cardiovasc Res 4:160, 1970): SD 0.07 / 0.09. AF: ventricular rate
  // is set by AV conduction, far wider (resting 60-110+ bpm, RACE II, NEJM 362:1363, 2010): 0.18.
  set(Param::kLogHeartRate,
      Has(in, Condition::kAtrialFibrillation) ? 0.18 : (in.age_years < 45.0 ? 0.07 : 0.09),
      "intrinsic HR +-14 %/+-18 % (95 %) (Jose & Collison, Cardiovasc Res 4:160, 1970); AF wider");
  // Blood volume from Nadler's formula: standard error of estimate about 10 % (Nadler, Hidalgo
  // & Bloch, Surgery 51:224, 1962; Retzlaff et al., Blood 33:649, 1969): log SD 0.10; heart
  // failure +10-30 % with wide spread (Androne et al., Circulation 107:2691, 2003): 0.15.
  set(Param::kLogBloodVolume, hf ? 0.15 : 0.10,
      "Nadler SEE ~10 % (Nadler 1962; Retzlaff 1969); HF +10-30 % (Androne 2003)");
  // Baroreflex set point: it tracks the prevailing MAP (resetting), whose SD among adults is
  // roughly 10 mmHg (population SBP SD ~15-20, DBP ~10-12 mmHg); the nominal model is already
  // centred on the patient's class, so we keep 8 mmHg (our choice).
  set(Param::kSetPointOffset, 8.0, "population MAP SD ~10 mmHg; 8 mmHg is our choice");
  // Total arterial compliance (SV / pulse pressure, Chemla et al., Am J Physiol 274:H500, 1998)
  // varies widely between adults and falls with age as pulse-wave velocity rises (Reference
  // Values for Arterial Stiffness Collaboration, Eur Heart J 31:2338, 2010; C ~ 1/PWV^2):
  // log SD 0.30, 0.35 above 60 y (our choice).
  set(Param::kLogArterialCompliance, in.age_years > 60.0 ? 0.35 : 0.30,
      "SV/PP compliance (Chemla 1998); stiffer and wider with age (RVASC 2010); SD our choice");
  return p;
}

}  // namespace healthtwin::models::calibration
