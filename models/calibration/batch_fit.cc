#include "models/calibration/batch_fit.h"

#include <algorithm>
#include <cmath>

namespace healthtwin::models::calibration::internal {
namespace {

double HuberRho(double z, double k) {
  const double a = std::abs(z);
  return a <= k ? 0.5 * z * z : k * a - 0.5 * k * k;
}
double HuberWeight(double z, double k) {
  const double a = std::abs(z);
  return a <= k ? 1.0 : k / a;
}

ParamVector Params(const FitVector& t) {
  ParamVector p;
  for (int i = 0; i < kNumTwinParams; ++i) p[i] = t(i);
  return p;
}

// Modelled values of HR, SBP, DBP, weight at t.
Eigen::Vector4d Evaluate(const ObservationModel& model, const FitVector& t) {
  const ModelledVitals v = model.At(Params(t));
  return {v.heart_rate_bpm, v.sbp_mmhg, v.dbp_mmhg, t(kNumTwinParams) + kWeightKgPerMlBlood * v.blood_volume_change_ml};
}

int Row(Vital v) {
  switch (v) {
    case Vital::kHeartRate: return 0;
    case Vital::kSystolic: return 1;
    case Vital::kDiastolic: return 2;
    default: return 3;
  }
}

double Cost(const ObservationModel& model, const std::vector<DayGroup>& groups, const FitVector& mu,
            const FitVector& sd, const FitVector& t, double k) {
  const Eigen::Vector4d f = Evaluate(model, t);
  double c = 0.5 * ((t - mu).cwiseQuotient(sd)).squaredNorm();
  for (const DayGroup& g : groups) c += HuberRho((g.mean - f(Row(g.vital))) / g.sd, k);
  return c;
}

}  // namespace

void ClampToBox(double* t) {
  for (int i = 0; i < kNumTwinParams; ++i) {
    const double lim = kTwinParams[i] == Param::kSetPointOffset ? 40.0 : 1.0;
    t[i] = std::clamp(t[i], -lim, lim);
  }
  t[kNumTwinParams] = std::clamp(t[kNumTwinParams], 10.0, 400.0);
}

MapFit FitMap(const ObservationModel& model, const std::vector<DayGroup>& groups, const FitVector& mu,
              const FitVector& sd, const FitVector& start, const TwinOptions& options) {
  const double k = options.huber_k;
  const FitMatrix prior_precision = sd.cwiseInverse().cwiseAbs2().asDiagonal();
  MapFit fit;
  FitVector t = start;
  double cost = Cost(model, groups, mu, sd, t, k);
  double lambda = 1e-3;
  FitMatrix a;
  auto normal_equations = [&](const FitVector& at, FitMatrix& a_out, FitVector& b_out) {
    const Eigen::Vector4d f = Evaluate(model, at);
    // Jacobian of the four modelled values by central differences (the map is piecewise
    // linear, so steps well inside a cell are exact within it).
    Eigen::Matrix<double, 4, kFitDim> j = Eigen::Matrix<double, 4, kFitDim>::Zero();
    for (int i = 0; i < kNumTwinParams; ++i) {
      const double h = kTwinParams[i] == Param::kSetPointOffset ? 1e-2 : 1e-4;
      FitVector up = at, down = at;
      up(i) += h;
      down(i) -= h;
      j.col(i) = (Evaluate(model, up) - Evaluate(model, down)) / (2.0 * h);
    }
    j(3, kNumTwinParams) = 1.0;
    a_out = prior_precision;
    b_out = -prior_precision * (at - mu);
    for (const DayGroup& g : groups) {
      const int r = Row(g.vital);
      const double resid = g.mean - f(r);
      const double w = HuberWeight(resid / g.sd, k) / (g.sd * g.sd);
      a_out.noalias() += w * j.row(r).transpose() * j.row(r);
      b_out.noalias() += w * j.row(r).transpose() * resid;
    }
  };
  for (int it = 1; it <= options.max_iterations; ++it) {
    fit.iterations = it;
    const double cost_before = cost;
    FitVector b;
    normal_equations(t, a, b);
    bool accepted = false;
    FitVector step = FitVector::Zero();
    while (lambda < 1e12) {
      FitMatrix damped = a;
      damped.diagonal() += lambda * a.diagonal();
      step = damped.ldlt().solve(b);
      FitVector trial = t + step;
      ClampToBox(trial.data());
      step = trial - t;
      const double trial_cost = Cost(model, groups, mu, sd, trial, k);
      if (std::isfinite(trial_cost) && trial_cost <= cost) {
        t = trial;
        cost = trial_cost;
        lambda = std::max(lambda / 10.0, 1e-9);
        accepted = true;
        break;
      }
      lambda *= 10.0;
    }
    // Converged: the step is negligible against the prior scale, or the cost no longer falls.
    // When not even a heavily damped (gradient-descent) step lowers the cost we sit at a local
    // minimum to round-off; the map is piecewise linear, so that minimum can be on a cell
    // boundary where the gradient does not vanish.
    if (!accepted) {
      fit.converged = true;
      break;
    }
    const double scaled_step = step.cwiseQuotient(sd).cwiseAbs().maxCoeff();
    if (scaled_step < 1e-6 || (cost_before - cost < 1e-12 * (1.0 + cost) && scaled_step < 1e-4)) {
      fit.converged = true;
      break;
    }
  }
  FitVector b;
  normal_equations(t, a, b);
  fit.theta = t;
  fit.covariance = a.inverse();
  fit.covariance = 0.5 * (fit.covariance + fit.covariance.transpose()).eval();
  if (!fit.theta.allFinite() || !fit.covariance.allFinite()) fit.converged = false;
  return fit;
}

}  // namespace healthtwin::models::calibration::internal
