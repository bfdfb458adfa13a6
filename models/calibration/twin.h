// One patient's twin: a Gaussian belief over the twin parameters, kept current from wearable
// vitals, with predictions, residuals and drift events.
//
//   Twin::Create(model, prior)   the population prior of this patient (no data yet)
//   twin.Calibrate(window)       batch MAP over a data window (Levenberg-Marquardt on the prior
//                                plus a robust hierarchical likelihood), Laplace covariance
//   twin.Update(sample)          sequential update (unscented Kalman filter) with random-walk
//                                process noise on the identifiable parameters
//   twin.Predict(horizon_h)      expected vitals with 90 % intervals
//   twin.ResidualOf(sample)      observed - predicted, standardised
//   twin.TakeEvents()            drift events (two-sided CUSUM per vital on daily residuals)
//   twin.Snapshot() / Restore()  a plain struct the service persists (JSON / bytea)
//   ToTwinPosterior(twin)        the what-if engine's contract (models/twin_posterior.h)
//
// Likelihood (batch and sequential share it): a reading y of vital k on day d is
//   y = f_k(theta) + b_k(d) + e,  e ~ N(0, reading_sd_k^2),  b_k ~ N(0, day_sd_k^2)
// where b is the day-to-day variation a resting steady-state model does not explain (activity,
// sleep, meals, cuff position, the surrogate's own error). The batch fit collapses each
// (vital, day) to the mean of its accepted readings, with variance day_sd^2 + reading_sd^2 / n,
// and uses a Huber loss on those daily residuals; readings further than outlier_z SD from
// their day's median (or from the model when a day has fewer than 5) are rejected. The UKF
// carries b as Ornstein-Uhlenbeck states (time constant bias_time_constant_h). Without that
// term 43,200 minute HR samples a month would make the posterior absurdly tight.
//
// Bad input never corrupts the twin: every fallible call either succeeds completely or returns
// a Status and leaves the twin exactly as it was.
// Threads: a Twin is a single-threaded value (copyable); the ObservationModel it holds is shared
// and immutable.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/calibration/observation_model.h"
#include "models/calibration/parameters.h"
#include "models/calibration/prior.h"
#include "models/twin_posterior.h"

namespace healthtwin::models::calibration {

// Version of the twin's model; stored in every snapshot.
inline constexpr std::string_view kTwinModelVersion = "healthtwin-twin/1 (ursino98 steady-state map; MAP+UKF)";

struct Sample {
  std::int64_t measured_at_unix_s = 0;
  Vital vital = Vital::kHeartRate;
  double value = 0.0;  // in VitalUnit(vital)
  bool flagged = false;  // flagged by ingest: excluded from fitting, counted
};

// Per-vital noise, indexed by static_cast<int>(Vital). Defaults and their reasons: twin.cc.
struct NoiseModel {
  std::array<double, kNumVitals> reading_sd;
  std::array<double, kNumVitals> day_sd;
  NoiseModel();
};

struct TwinOptions {
  NoiseModel noise;
  // Random-walk SD per sqrt(day) of each twin parameter (kTwinParams order): about 1 % (0.5
  // mmHg) a day; blood volume 1.5 % (0.4 kg of weight), so a heart-failure gain of 2 kg in 3
  // days is followed within days. The heart-rate factor drifts too (sympathetic drive, fitness, illness): with
  // dense minute HR and no random walk on it, a rising HR would be forced onto the volume (the
  // reflex lowers HR as volume rises) against the weight. Contractility is held as a trait.
  ParamVector random_walk_per_sqrt_day = {0.01, 0.015, 0.5, 0.01, 0.0};
  double bias_time_constant_h = 8.0;
  double huber_k = 2.0;             // on standardised daily residuals
  double outlier_z = 4.5;           // readings beyond this are rejected ...
  // ... unless the previous reading of the same vital was rejected on the same side: a real
  // step change (e.g. rapid weight gain) must not lock the filter out. That second reading is
  // absorbed with the Huber-inflated variance.
  int max_iterations = 60;
  // Minimum data for a batch fit: systolic and diastolic readings on at least this many days,
  // and in total, and heart-rate samples in total.
  int min_bp_days = 2;
  int min_bp_readings = 3;
  int min_hr_samples = 3;
  // Drift detector: two-sided CUSUM on standardised daily residuals, reference k, threshold h
  // (k = 0.5, h = 4: in-control run length ~ 170 days per vital and side, a 2 SD shift found
  // in ~3 days; Montgomery, Introduction to Statistical Quality Control, ch. 9).
  double cusum_k = 0.5;
  double cusum_h = 4.0;
  // Composite events (e.g. weight gain with rising HR) pair alarms this close in time.
  double composite_window_days = 3.0;
};

struct TwinPrior {
  PopulationPrior population;
  // The patient's usual weight (patient file); without it the weight reference is learnt from
  // the data (prior SD 30 kg).
  std::optional<double> reference_weight_kg;
  double reference_weight_sd_kg = 3.0;
};

struct ParameterEstimate {
  std::string name;  // kParam*
  double mean = 0.0;
  double sd = 0.0;
  double lo90 = 0.0, hi90 = 0.0;
  double prior_sd = 0.0;
  bool identifiable = false;  // in the identifiable set (the others are consider parameters)
};

struct FitQuality {
  bool converged = false;
  int iterations = 0;
  std::array<double, kNumVitals> rmse{};       // per vital, accepted readings, observed - fitted
  std::array<int, kNumVitals> n_used{};
  std::array<int, kNumVitals> n_rejected{};    // outliers and implausible values
  int n_flagged = 0;                           // excluded because ingest flagged them
  int days = 0;                                // calendar days spanned by the window
  bool extrapolated = false;                   // the estimate sits outside the map's grid
};

// The intervals are Gaussian and may pass a reading's ceiling (ReadingCeiling): cut them there
// where they are shown, after any rescaling to another level.
struct PredictionPoint {
  std::int64_t at_unix_s = 0;
  Vital vital = Vital::kHeartRate;
  double mean = 0.0;
  double level_lo90 = 0.0, level_hi90 = 0.0;      // the expected (day) level
  double reading_lo90 = 0.0, reading_hi90 = 0.0;  // a single reading
};

// The highest value a reading of `v` can show: 100 for SpO2, a saturation; +infinity for the
// others, which have plausible ranges but no hard ceiling. A reading is the latent Gaussian
// value censored at the ceiling, so an interval cut there still holds at least its share of
// readings (the demo's SpO2 forecast showed an upper bound of 100.7 % before).
double ReadingCeiling(Vital v);

struct Residual {
  Vital vital = Vital::kHeartRate;
  double observed = 0.0;
  double predicted = 0.0;
  double residual = 0.0;       // observed - predicted
  double standardised = 0.0;   // residual / predictive SD of a single reading
};

struct TwinEvent {
  std::string type;            // e.g. "weight_rising", "heart_rate_falling", "weight_gain_with_rising_hr"
  std::vector<Vital> vitals;
  std::int64_t start_unix_s = 0;       // first day of the shift (the CUSUM's last zero + 1 day)
  std::int64_t detected_unix_s = 0;    // end of the day whose data raised the alarm
  double magnitude = 0.0;              // estimated shift of the first vital, in its unit
  double magnitude_sd = 0.0;           // the same in standardised daily units
};

// Everything needed to restore a twin; plain values only. Vectors of per-vital values are
// indexed by static_cast<int>(Vital).
struct TwinSnapshot {
  std::string model_version;
  std::uint64_t version = 0;
  std::string reason;                      // "create", "calibrate", "update", ...
  std::vector<std::string> state_names;    // kParam* names, then weight_reference_kg, bias_*
  std::vector<double> mean;
  std::vector<double> covariance;          // row-major
  std::vector<double> prior_mean;          // twin params + weight reference
  std::vector<double> prior_sd;
  std::int64_t window_start_unix_s = 0;    // last batch calibration's window (0 = none)
  std::int64_t window_end_unix_s = 0;
  std::int64_t state_time_unix_s = 0;      // time of the newest sample absorbed (0 = none)
  bool calibrated = false;
  std::uint64_t samples_absorbed = 0;      // sequential updates since the last calibration
  // Drift detector.
  std::vector<double> reference_mean;      // expected daily level per vital
  std::vector<double> reference_sd;        // its predictive SD for a daily mean of one reading
  std::vector<bool> reference_set;
  std::vector<double> cusum_pos, cusum_neg;
  std::vector<std::int64_t> cusum_pos_start, cusum_neg_start;
  std::vector<std::int64_t> last_alarm_up, last_alarm_down;  // 0 = never
  std::vector<int> last_rejected_side;     // sequential outlier gate: +1 high, -1 low, 0 accepted
  std::int64_t open_day = -1;              // unix day index of the accumulating day (-1 none)
  std::vector<double> day_sum;
  std::vector<int> day_count;
};

class Twin {
 public:
  static absl::StatusOr<Twin> Create(std::shared_ptr<const ObservationModel> model, const TwinPrior& prior,
                                     const TwinOptions& options = {});
  // Fails with InvalidArgument naming the field when the snapshot is malformed or from another
  // model version.
  static absl::StatusOr<Twin> Restore(std::shared_ptr<const ObservationModel> model, const TwinSnapshot& snapshot,
                                      const TwinOptions& options = {});

  // Batch MAP over `window` (any order). Errors, each leaving the twin unchanged:
  //   InvalidArgument     empty window; a non-finite value or a vital out of enum range (names
  //                       the sample index, vital and time)
  //   FailedPrecondition  too little data (states the minimum), or no convergence
  // The fit starts from the population prior, not from the current state.
  absl::StatusOr<FitQuality> Calibrate(std::span<const Sample> window);

  // One sequential update. Flagged samples only feed the counters; an outlier (|z| >
  // outlier_z) is rejected and returned as such (OK status, `accepted` false). Errors, leaving
  // the twin unchanged: InvalidArgument for a non-finite value or a sample older than the state.
  struct UpdateResult {
    bool accepted = false;
    Residual residual;  // against the prediction before the update
  };
  absl::StatusOr<UpdateResult> Update(const Sample& sample);

  // Expected vitals every `step_h` hours for `horizon_h` hours after the newest sample
  // (InvalidArgument for non-positive or non-finite horizon/step, or more than 30 days).
  // No time-of-day effect: the model is a resting steady state.
  absl::StatusOr<std::vector<PredictionPoint>> Predict(double horizon_h, double step_h = 1.0) const;

  // Observed - predicted for one sample at the current state (no update).
  Residual ResidualOf(const Sample& sample) const;

  // Closes the accumulating day (the service calls this at midnight; Update does it when a
  // sample of a later day arrives) and runs the drift detector on it.
  void CloseDay();
  std::vector<TwinEvent> TakeEvents();

  std::vector<ParameterEstimate> Estimates() const;
  TwinSnapshot Snapshot() const;
  const TwinOptions& options() const { return options_; }
  std::uint64_t version() const { return snapshot_.version; }
  bool calibrated() const { return snapshot_.calibrated; }

 private:
  Twin(std::shared_ptr<const ObservationModel> model, const TwinOptions& options)
      : model_(std::move(model)), options_(options) {}
  double PredictedLevel(Vital v) const;
  double ReadingSd(Vital v) const;
  void AccumulateForDrift(const Sample& s);
  void SetReferenceFromState();

  std::shared_ptr<const ObservationModel> model_;
  TwinOptions options_;
  TwinSnapshot snapshot_;  // the whole mutable state lives here, so Snapshot() is a copy
  std::vector<TwinEvent> events_;
};

TwinPosterior ToTwinPosterior(const Twin& twin);

}  // namespace healthtwin::models::calibration
