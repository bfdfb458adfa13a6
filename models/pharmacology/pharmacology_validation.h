// Simulated placebo-controlled trials of the drug library on a stage 2 hypertensive patient, and
// the validation rows graded against the meta-analyses (see models/README.md, "Pharmacology").
//
// Everything is deterministic. The steady-state map of the trial patient is built once per call
// of MakeTrialPatient (~0.7 s) and shared by all arms.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "models/long_horizon.h"
#include "models/patient.h"
#include "models/pharmacology/pharmacology.h"
#include "models/steady_state_map.h"
#include "models/validation.h"

namespace healthtwin::models::pharma {

// One simulated trial participant: the engine parameters, the long-horizon parameters and a
// shared map. Copyable; the map is immutable.
struct TrialPatient {
  ModelParams params;
  LongHorizonParams long_horizon;
  std::shared_ptr<const SteadyStateMap> map;
  double baseline_map_mmhg = 0.0;
};

// A patient fitted to resting SBP/DBP (and HR 72 bpm), 55-year-old 80 kg man.
absl::StatusOr<TrialPatient> MakeTrialPatient(double sbp_mmhg, double dbp_mmhg, bool salt_sensitive = false);

// Placebo-adjusted changes at one time (the placebo arm is the same patient without drugs).
struct TrialResult {
  double d_sbp_mmhg = 0, d_dbp_mmhg = 0, d_map_mmhg = 0, d_hr_bpm = 0;
  double weight_change_kg = 0;  // treated minus placebo
};

// Runs the patient hourly from t = 0 for `hours` with these regimens (from the patient's
// resting state) and returns the change against placebo at exactly `hours` (just before a dose
// falling at that time, i.e. at trough when `hours` is a multiple of the interval).
absl::StatusOr<TrialResult> SimulateVsPlacebo(const TrialPatient& patient, const std::vector<Regimen>& regimens,
                                              double hours);

// Hourly trajectory of the placebo-adjusted change (element i at hour i, i = 0..hours).
absl::StatusOr<std::vector<TrialResult>> SimulateTrajectoryVsPlacebo(const TrialPatient& patient,
                                                                      const std::vector<Regimen>& regimens,
                                                                      int hours);

// Standard-dose regimen of a library drug (its standard dose and interval, from t = 0).
Regimen StandardRegimen(std::string_view drug, double dose_multiple = 1.0);

absl::StatusOr<std::vector<ValidationRow>> RunPharmacologyValidation();

}  // namespace healthtwin::models::pharma
