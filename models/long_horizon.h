// The long-horizon layer: hours to months of body fluid, sodium and blood-pressure regulation.
//
// A beat-averaged model in the Guyton–Coleman tradition (Guyton, Coleman & Granger, Annu Rev
// Physiol 34:13, 1972; Hall, Compr Physiol 2:2393, 2012). Its states are extracellular sodium,
// total body water, a slow natriuretic drive (renin–angiotensin–aldosterone adaptation, which
// makes the chronic pressure-natriuresis curve much steeper than the acute one: Beard et al.,
// F1000Research 2:208, 2013) and the baroreflex set point, plus running totals for the
// balances. Blood volume follows extracellular volume; the haemodynamics (MAP, HR, CO, ...)
// come from SteadyStateMap, i.e. from the beat-resolved engine at steady state, so the two
// layers describe the same person. Equations, parameters and sources: models/README.md.
//
// Inputs are piecewise constant: SetIntake/SetModifiers take effect from the next step.
// Determinism: the same inputs give bit-identical outputs. Threads: one model per thread;
// models built from one shared map share nothing mutable.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "models/cardiovascular_engine.h"
#include "models/circulation_params.h"
#include "models/ode_solver.h"
#include "models/patient.h"
#include "models/steady_state_map.h"

namespace healthtwin::models {

struct LongHorizonParams {
  // Body water: 60 % of body weight in men, 50 % in women; one third of it extracellular, and
  // plasma 3 of the 14 L of extracellular fluid (Guyton & Hall, Textbook of Medical Physiology,
  // 13th ed., ch. 25). Red-cell mass is constant, so blood volume changes as plasma does.
  double body_weight_kg = 75.0;
  double total_body_water_fraction = 0.60;
  double ecf_fraction_of_body_water = 1.0 / 3.0;
  double plasma_fraction_of_ecf = 3.0 / 14.0;
  double plasma_sodium_mmol_per_l = 142.0;  // Guyton & Hall ch. 25
  // The intake at which the patient's resting values hold. 150 mmol/day (8.8 g salt) is a
  // typical Western intake (INTERSALT, BMJ 297:319, 1988: median urinary Na ~ 150-170 mmol/day).
  double reference_sodium_intake_mmol_per_day = 150.0;
  // Water: intake 2.1 L/day, non-renal loss 0.7 L/day net of 0.2 L/day metabolic water
  // (skin 0.35, lungs 0.35, sweat 0.1, faeces 0.1), urine 1.4 L/day; obligatory urine at
  // least 0.5 L/day (Guyton & Hall ch. 25 and 29).
  double reference_fluid_intake_l_per_day = 2.1;
  double nonrenal_water_loss_l_per_day = 0.7;
  double min_urine_l_per_day = 0.5;
  // Osmoregulation (ADH): excess free water is excreted with this time constant; a 1 L oral
  // water load is cleared in about 3-4 h (Baldes & Smirk, J Physiol 82:62, 1934).
  double adh_time_constant_h = 2.0;
  // Pressure natriuresis: Na excretion = U_ref * exp(k_acute * dP + drive), dP = MAP minus the
  // resting MAP, and the drive follows (k_chronic - k_acute) * dP with a lag (the RAAS
  // adaptation that makes the chronic curve steep: Beard 2013; Hall 2012).
  // Chronic 1.0 /mmHg: ~4 mmHg MAP change from 10 to 410 mmol/day, i.e. salt resistant
  // (Weinberger et al., Hypertension 8(Suppl II):II-127, 1986: resistant <= 5 mmHg; Kirkendall
  // et al., J Lab Clin Med 87:411, 1976: no BP change over 10-410 mmol/day in normotensive men).
  // Acute 0.1 /mmHg is steeper than the isolated-kidney acute curve (~0.03 /mmHg, output x4-5
  // for +50 mmHg; Guyton & Hall ch. 19): it also stands for the fast natriuretic-peptide and
  // renal-nerve responses, and it damps the loop. The 6 h lag is our choice: longer lags make the
  // volume response ring; with it sodium balance after a step is 63 % complete in ~0.4 day
  // (salt resistant) to ~0.9 day (salt sensitive), against 3-5 days to full balance in man
  // (Strauss et al., Arch Intern Med 102:527, 1958). See VALIDATION.md.
  double natriuresis_acute_gain_per_mmhg = 0.1;
  double natriuresis_chronic_gain_per_mmhg = 1.0;
  double natriuresis_adaptation_time_constant_h = 6.0;
};

// A salt-sensitive person: the chronic pressure-natriuresis curve is four times flatter
// (impaired suppression of the renin-angiotensin-aldosterone system), so 10 -> 410 mmol/day
// raises MAP by ~15 mmHg (Weinberger 1986: salt sensitive >= 10 mmHg).
LongHorizonParams SaltSensitive(LongHorizonParams params);

// Body weight and sex-specific body-water fraction from demographics.
LongHorizonParams LongHorizonParamsFor(const Demographics& demographics);

struct Intake {
  double sodium_mmol_per_day = 150.0;
  double fluid_l_per_day = 2.1;
};

// Hooks for a pharmacology layer. Neutral values leave the patient unchanged.
struct LongHorizonModifiers {
  EffectorModifiers effectors;             // heart rate, contractility, resistance, venous tone
  double natriuresis_shift_mmhg = 0.0;     // > 0: the kidney needs more pressure to excrete sodium
  double natriuresis_gain_factor = 1.0;    // multiplies the chronic gain (RAAS blockade > 1)
  double sodium_excretion_factor = 1.0;    // multiplies Na excretion at any pressure (diuretics > 1)
  double water_excretion_factor = 1.0;     // multiplies urine flow (aquaretics > 1)
};

// A person's own resting state relative to the nominal model the map was built for: chronic
// effector modifiers, a blood-volume factor and a baroreflex set-point offset (the coordinates of
// TwinPosterior). CreateAtRest makes this state an exact equilibrium at the reference intake: the
// pressure-natriuresis curve is centred on its MAP (a chronically reset renal function curve, as
// MAP_ref already is for the nominal patient) and the reflex resets toward it. Without that, the
// kidney would excrete or retain sodium until a raised or lowered resistance was undone.
// The effectors are part of the person: callers keep applying them, i.e. pass
// Combine(resting effectors, drug modifiers) to SetModifiers (models/treatment does).
struct RestingState {
  EffectorModifiers effectors;
  double blood_volume_factor = 1.0;    // resting blood volume / params' total_blood_volume_ml
  double set_point_offset_mmhg = 0.0;  // resting set point - params' set_point_mmhg
};

struct LongHorizonOptions {
  double dt_h = 1.0;
  SolverKind solver = SolverKind::kRk4;
};

// The state at one instant. Balances: sodium_mmol - initial = intake - excreted, and
// total_body_water_l - initial = fluid intake - urine - non-renal loss, to round-off.
struct LongHorizonState {
  double t_days = 0.0;
  Haemodynamics haemodynamics;
  double blood_volume_ml = 0.0;
  double ecf_volume_l = 0.0;
  double total_body_water_l = 0.0;
  double ecf_sodium_mmol = 0.0;
  double plasma_sodium_mmol_per_l = 0.0;
  double weight_change_kg = 0.0;  // from body water only
  double baroreflex_set_point_mmhg = 0.0;
  double natriuretic_drive = 0.0;  // the slow log-factor on sodium excretion
  double sodium_excretion_mmol_per_day = 0.0;
  double urine_l_per_day = 0.0;
  double cumulative_sodium_intake_mmol = 0.0;
  double cumulative_sodium_excreted_mmol = 0.0;
  double cumulative_fluid_intake_l = 0.0;
  double cumulative_urine_l = 0.0;
  double cumulative_nonrenal_loss_l = 0.0;
};

// One simulated day: haemodynamics averaged over the day's steps, volumes at the day's end,
// sodium and urine totals over the day.
struct DailySummary {
  int day = 0;  // 1 for the first simulated day
  double map_mmhg = 0.0;
  double sbp_mmhg = 0.0;
  double dbp_mmhg = 0.0;
  double heart_rate_bpm = 0.0;
  double cardiac_output_l_per_min = 0.0;
  double blood_volume_ml = 0.0;
  double ecf_volume_l = 0.0;
  double weight_change_kg = 0.0;
  double plasma_sodium_mmol_per_l = 0.0;
  double baroreflex_set_point_mmhg = 0.0;
  double sodium_intake_mmol = 0.0;
  double sodium_excreted_mmol = 0.0;
  double urine_l = 0.0;
  bool extrapolated = false;  // the steady-state map was left at some point in the day
};

class LongHorizonModel {
 public:
  // Builds the patient's SteadyStateMap (about 40 engine runs) and starts at rest at the
  // reference intake. InvalidArgument names the offending field.
  static absl::StatusOr<LongHorizonModel> Create(const ModelParams& params, const LongHorizonParams& lh,
                                                 const LongHorizonOptions& options = {});
  // Same, reusing a map built for these `params` (cohorts, benchmarks).
  static absl::StatusOr<LongHorizonModel> Create(std::shared_ptr<const SteadyStateMap> map,
                                                 const ModelParams& params, const LongHorizonParams& lh,
                                                 const LongHorizonOptions& options = {});
  // Same, starting in (and returning to) `rest` instead of the nominal resting state; with a
  // default RestingState it is exactly the overload above. The initial modifiers are
  // rest.effectors. InvalidArgument for a non-positive or non-finite factor or offset.
  static absl::StatusOr<LongHorizonModel> CreateAtRest(std::shared_ptr<const SteadyStateMap> map,
                                                       const ModelParams& params, const LongHorizonParams& lh,
                                                       const RestingState& rest,
                                                       const LongHorizonOptions& options = {});
  LongHorizonModel(LongHorizonModel&&) noexcept;
  LongHorizonModel& operator=(LongHorizonModel&&) noexcept;
  ~LongHorizonModel();

  void SetIntake(const Intake& intake);
  void SetModifiers(const LongHorizonModifiers& modifiers);
  // Advances by whole steps until at least `hours` more have been simulated.
  void AdvanceHours(double hours);
  // Advances whole days and returns one summary per day.
  std::vector<DailySummary> AdvanceDays(int days);

  LongHorizonState state() const;
  const SteadyStateMap& map() const;
  // Resting MAP at the reference intake (in the resting state), the centre of the
  // pressure-natriuresis curve.
  double reference_map_mmhg() const;

 private:
  struct Impl;
  explicit LongHorizonModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace healthtwin::models
