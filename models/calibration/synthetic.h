// Synthetic patients with known twin parameters and realistic wearable data, for validation.
//
// Truth: twin parameters drawn from the population prior (truncated to the steady-state map's
// grid by rejection, so the surrogate is never asked to extrapolate), the resting HR/SBP/DBP
// from the real beat-resolved engine (EngineSteadyState) at those parameters, not from the
// map the fit uses. Data (our choices, deliberately not the fit's noise model):
//   - day effects AR(1) across days (rho 0.3; HR 2.5 bpm, SBP 4, DBP 3 mmHg, weight 0.35 kg),
//   - time of day: HR +-4 bpm (peak 15:00), SBP +-5 / DBP +-3 mmHg (peak 11:00),
//   - HR every minute in hours the watch is worn (75 % of hours), SD 4 bpm, one 20-min activity
//     bout a day (+25 bpm), 1 % motion artefacts (uniform 40-190 bpm),
//   - cuff BP 1-4 times a day between 07:00 and 22:00 on 85 % of days, SD 5 / 4 mmHg, 3 %
//     outliers (+35 / +20 mmHg), 2 % flagged by ingest (garbage values),
//   - weight at 07:00 on 85 % of days, SD 0.2 kg, 2 % outliers (+4 kg),
//   - SpO2 twice a day (SD 1 %), temperature once (SD 0.25 C).
// A drift of the parameters from a given day makes heart-failure scenarios; the drifting part of the truth is scaled with the map (engine truth x map ratio).
//
// Deterministic for a seed (std::mt19937_64 with libstdc++'s distributions). Stateless.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "models/calibration/observation_model.h"
#include "models/calibration/prior.h"
#include "models/calibration/twin.h"
#include "models/circulation_params.h"

namespace healthtwin::models::calibration {

struct SyntheticOptions {
  int days = 30;
  std::int64_t start_unix_s = 1'767'225'600;  // 2026-01-01T00:00:00Z
  double weight_kg = 75.0;                     // the patient's usual weight
  double weight_ref_sd_kg = 3.0;               // truth weight reference ~ N(weight_kg, this)
  // Drift (e.g. heart-failure decompensation): from this day on, the truth moves by this much
  // a day (kTwinParams order).
  int drift_start_day = -1;
  ParamVector drift_per_day{};
  // Thins the minute HR stream (1 = every minute) to keep unit tests fast.
  int hr_every_minutes = 1;
};

struct SyntheticPatient {
  ParamVector truth{};
  double weight_ref_kg = 0.0;
  double resting_hr_bpm = 0.0, resting_sbp_mmhg = 0.0, resting_dbp_mmhg = 0.0;  // engine, day 0
  std::vector<Sample> samples;  // time order
};

// `model` must be built for `nominal`.
absl::StatusOr<SyntheticPatient> SimulatePatient(const ModelParams& nominal, const ObservationModel& model,
                                                 const PopulationPrior& prior, std::uint64_t seed,
                                                 const SyntheticOptions& options = {});

}  // namespace healthtwin::models::calibration
