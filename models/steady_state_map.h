// A steady-state map of the beat-resolved engine, for the long-horizon layer.
//
// SteadyStateMap::Build runs CardiovascularEngine to steady state on a small grid and answers
// "what are MAP, HR, CO, ... once the beats have settled, for this blood volume, this baroreflex
// set point and these effector modifiers" by interpolation, in well under a microsecond. The
// grid is total blood volume (× the patient's own) by set-point offset (mmHg from the patient's
// own), bilinear, plus one-dimensional correction tables for the heart-rate, contractility and
// systemic-resistance modifiers (a separable surrogate: each table is the ratio of the engine's
// steady state with that modifier alone to the neutral one, at the patient's nominal volume and
// set point). Venous tone enters as the equivalent change in stressed volume. Outside the grid
// the interpolation extrapolates linearly and says so.
//
// Consistency with the engine is a tested promise (steady_state_map_test.cc): inside the grid
// MAP and HR agree within 1.5 %, CO within 3 %, for single and combined modifiers.
//
// Ownership and threads: a map is an immutable value after Build; share it freely.
#pragma once

#include <array>
#include <vector>

#include "absl/status/statusor.h"
#include "models/beat_summary.h"
#include "models/cardiovascular_engine.h"
#include "models/circulation_params.h"

namespace healthtwin::models {

// Beat-averaged haemodynamics at steady state.
struct Haemodynamics {
  double map_mmhg = 0.0;
  double sbp_mmhg = 0.0;
  double dbp_mmhg = 0.0;
  double heart_rate_bpm = 0.0;
  double cardiac_output_l_per_min = 0.0;
  double stroke_volume_ml = 0.0;
  double ejection_fraction = 0.0;
  double cvp_mmhg = 0.0;
  double pcwp_mmhg = 0.0;
  // True when the query left the grid (the value is a linear extrapolation).
  bool extrapolated = false;
};

// The engine itself at one point: a fresh engine with this blood volume, set point (resetting
// frozen) and modifiers, settled for 60 s and averaged over the next 8 s. The map is built from
// exactly this, and the agreement tests compare against it.
absl::StatusOr<Haemodynamics> EngineSteadyState(const ModelParams& params, double blood_volume_ml,
                                                double set_point_mmhg, const EffectorModifiers& modifiers);

class SteadyStateMap {
 public:
  // Runs the engine 39 times (about 0.7 s at -O2). Fails when the engine rejects `params`.
  static absl::StatusOr<SteadyStateMap> Build(const ModelParams& params);

  Haemodynamics At(double blood_volume_ml, double set_point_mmhg, const EffectorModifiers& modifiers) const;

  double nominal_blood_volume_ml() const { return nominal_blood_volume_ml_; }
  double nominal_set_point_mmhg() const { return nominal_set_point_mmhg_; }

  // Grid axes, exposed for tests and the README.
  static constexpr std::array<double, 6> kVolumeFactors = {0.80, 0.90, 1.00, 1.10, 1.20, 1.30};
  static constexpr std::array<double, 5> kSetPointOffsetsMmhg = {-24.0, -12.0, 0.0, 12.0, 24.0};
  static constexpr std::array<double, 4> kHeartRateFactors = {0.70, 0.85, 1.00, 1.20};
  static constexpr std::array<double, 4> kContractilityFactors = {0.60, 0.80, 1.00, 1.25};
  static constexpr std::array<double, 4> kResistanceFactors = {0.70, 0.85, 1.00, 1.25};

 private:
  static constexpr int kOutputs = 9;
  using Outputs = std::array<double, kOutputs>;
  SteadyStateMap() = default;

  double nominal_blood_volume_ml_ = 0.0;
  double nominal_set_point_mmhg_ = 0.0;
  // grid_[i * kSetPointOffsetsMmhg.size() + j]: volume i, set point j, neutral modifiers.
  std::vector<Outputs> grid_;
  // Ratios (or, for CVP and PCWP, differences) against the neutral point, one per factor value.
  std::array<Outputs, 4> heart_rate_;
  std::array<Outputs, 4> contractility_;
  std::array<Outputs, 4> resistance_;
};

}  // namespace healthtwin::models
