// The beat-resolved closed-loop circulation with a carotid baroreflex, after Ursino 1998.
//
// CardiovascularEngine integrates 13 haemodynamic states (compartment volumes and the two
// inertial flows) plus the baroreceptor's filtered pressure with a fixed-step solver, and
// advances the reflex effectors (pure delays + first-order lags) once per step. Blood volume is
// conserved to round-off: the states are volumes, so every flow leaves one compartment and
// enters another; only RemoveBlood/InfuseBlood change the total.
//
// Determinism: the same ModelParams and EngineOptions give bit-identical outputs (the AF RR
// sequence comes from a seeded generator of our own, not from <random> distributions).
//
// Threads: an engine is a single-threaded object; distinct engines share nothing.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "models/beat_summary.h"
#include "models/circulation_params.h"
#include "models/ode_solver.h"

namespace healthtwin::models {

struct EngineOptions {
  double dt_s = 0.001;
  SolverKind solver = SolverKind::kRk4;
  // 0 records no waveform; otherwise samples at this rate (rounded to whole steps).
  double waveform_sample_hz = 0.0;
};

// Hooks for a pharmacology layer: multiplicative or additive modifiers applied on top of the
// reflex output. Neutral values leave the model unchanged.
struct EffectorModifiers {
  double heart_rate_factor = 1.0;          // multiplies HR (divides the heart period)
  double contractility_factor = 1.0;       // multiplies both ventricles' Emax
  double systemic_resistance_factor = 1.0; // multiplies R_sp and R_ep
  double venous_unstressed_delta_ml = 0.0; // added to venous unstressed volume (split sv/ev)
};

class CardiovascularEngine {
 public:
  // Fails with InvalidArgument when a parameter is non-physical (non-positive compliance,
  // resistance, dt, or a blood volume below the unstressed volume of the loop).
  static absl::StatusOr<CardiovascularEngine> Create(const ModelParams& params,
                                                      const EngineOptions& options = {});
  CardiovascularEngine(CardiovascularEngine&&) noexcept;
  CardiovascularEngine& operator=(CardiovascularEngine&&) noexcept;
  ~CardiovascularEngine();

  // Advances by whole steps until at least `seconds` more have been simulated.
  void AdvanceSeconds(double seconds);
  // Advances until `beats` more beats have completed.
  void AdvanceBeats(int beats);

  // Completed beats since the last Take; the engine keeps no other copy.
  std::vector<BeatSummary> TakeBeats();
  std::vector<WaveformSample> TakeWaveform();

  // Loses (negative) or gains (positive) `volume_ml` of blood at a constant rate over
  // `duration_s`, through the extrasplanchnic veins.
  void ExchangeBlood(double volume_ml, double duration_s);
  void SetModifiers(const EffectorModifiers& modifiers);
  // Freezes the reflex effectors at their current values (an "open-loop" experiment).
  void SetBaroreflexClamped(bool clamped);
  const EffectorModifiers& modifiers() const;

  double time_s() const;
  double total_blood_volume_ml() const;
  // Blood added minus blood removed so far through ExchangeBlood.
  double net_exchanged_volume_ml() const;
  double baroreflex_set_point_mmhg() const;
  // Current reflex-controlled heart period before AF jitter and modifiers.
  double reflex_heart_period_s() const;
  const ModelParams& params() const;

 private:
  struct Impl;
  explicit CardiovascularEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Runs `settle_s` then averages the beats completed in the following `average_s`.
BeatSummary SettleAndAverage(CardiovascularEngine& engine, double settle_s, double average_s);

}  // namespace healthtwin::models
