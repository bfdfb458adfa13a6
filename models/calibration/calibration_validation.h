// Validation of twin calibration on synthetic patients (synthetic.h): parameter recovery,
// coverage of the 90 % intervals, prediction error on held-back days, and the drift detector.
//
// Protocol per patient: simulate `total_days`; Calibrate on the first `fit_days`; predict the
// held-back days from the calibrated twin; then feed the held-back days to Update (the UKF and
// the drift detector). A quarter of the patients (every 4th) instead get a blood-volume drift
// starting on the first held-back day (heart-failure decompensation: blood volume +2 %/day and
// sympathetic heart-rate drive +2.5 %/day, `drift_per_day`)
// and are used only for the detector's sensitivity; the others give its false alarms.
//
// Deterministic for (options, seed). Stateless.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/calibration/observation_model.h"
#include "models/patient.h"

namespace healthtwin::models::calibration {

struct CalibrationValidationOptions {
  int total_days = 30;
  int fit_days = 24;
  // Archetypes cycled over the patients (each builds one SteadyStateMap).
  std::vector<std::vector<Condition>> archetypes = {{}, {Condition::kHypertensionStage2}, {Condition::kHfref}};
  int hr_every_minutes = 1;          // thin the minute HR stream (unit tests)
  ParamVector drift_per_day = {0.0, 0.02, 0.0, 0.025, 0.0};
};

struct ParamValidation {
  double bias = 0.0, mae = 0.0, rmse = 0.0;
  double coverage90 = 0.0;          // fraction of truths inside the batch 90 % interval
  double coverage90_after_ukf = 0.0;
  double posterior_sd = 0.0;        // mean
  double prior_sd = 0.0;            // mean
};

struct VitalPrediction {
  double twin_rmse = 0.0;           // daily means of held-back days vs the twin's level
  double naive_rmse = 0.0;          // vs the window median of the fit days
  double reading_coverage90 = 0.0;  // held-back readings inside the 90 % reading interval
  int days = 0, readings = 0;
};

struct CalibrationValidationResult {
  int patients = 0;                 // calibrated (static + drift)
  int static_patients = 0, drift_patients = 0;
  std::array<ParamValidation, kNumTwinParams> params{};      // static patients, kTwinParams order
  std::array<VitalPrediction, 4> prediction{};               // HR, SBP, DBP, weight
  double rejected_fraction_hr = 0.0, rejected_fraction_bp = 0.0;
  double mean_iterations = 0.0;
  int extrapolated = 0;
  // Drift detector over the held-back days.
  int false_alarm_events = 0;       // any event in static patients
  double static_patient_days = 0.0;
  int drift_detected_weight = 0;    // weight_rising in drift patients
  int drift_detected_composite = 0; // weight_gain_with_rising_hr
  double mean_detection_delay_days = 0.0;  // weight_rising, from drift start to detection
};

absl::StatusOr<CalibrationValidationResult> RunCalibrationValidation(int n_patients, std::uint64_t seed,
                                                                     const CalibrationValidationOptions& options = {});
std::string RenderCalibrationValidationMarkdown(const CalibrationValidationResult& result, int n_patients,
                                                std::uint64_t seed, const CalibrationValidationOptions& options);
// The section for models/VALIDATION.md, starting with "## Twin calibration".
absl::StatusOr<std::string> RenderCalibrationValidationMarkdown(int n_patients, std::uint64_t seed);
// The study models/VALIDATION.md reports (healthtwin-model-validate's defaults; its golden test).
inline constexpr int kValidationMdPatients = 100;
inline constexpr std::uint64_t kValidationMdSeed = 1;

}  // namespace healthtwin::models::calibration
