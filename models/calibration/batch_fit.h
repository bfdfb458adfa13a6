// Internal to Twin::Calibrate: the robust hierarchical MAP fit over (vital, day) groups.
// Exposed as a header only so twin.cc and the tests can share it; not part of the service API.
#pragma once

#include <vector>

#include <Eigen/Dense>

#include "models/calibration/observation_model.h"
#include "models/calibration/twin.h"

namespace healthtwin::models::calibration::internal {

// Fit vector: the twin parameters then the weight reference (kg).
inline constexpr int kFitDim = kNumTwinParams + 1;
using FitVector = Eigen::Matrix<double, kFitDim, 1>;
using FitMatrix = Eigen::Matrix<double, kFitDim, kFitDim>;

// Accepted readings of one vital on one calendar (UTC) day.
struct DayGroup {
  Vital vital = Vital::kHeartRate;
  double mean = 0.0;
  int n = 0;
  double sd = 0.0;  // sqrt(day_sd^2 + reading_sd^2 / n)
};

struct MapFit {
  FitVector theta;
  FitMatrix covariance;
  int iterations = 0;
  bool converged = false;
};

// Levenberg-Marquardt on 0.5 |(theta - mu) / sd|^2 + sum_g huber_k((mean_g - f(theta)) / sd_g);
// covariance from the Laplace approximation with the Huber (IRLS) weights at the optimum.
MapFit FitMap(const ObservationModel& model, const std::vector<DayGroup>& groups, const FitVector& prior_mean,
              const FitVector& prior_sd, const FitVector& start, const TwinOptions& options);

// Clamps a fit vector into the box the map can answer sensibly (log factors within +-1,
// set point within +-40 mmHg, weight reference 10-400 kg).
void ClampToBox(double* theta_and_weight);

}  // namespace healthtwin::models::calibration::internal
