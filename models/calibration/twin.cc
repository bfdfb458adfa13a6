#include "models/calibration/twin.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <Eigen/Dense>

#include "absl/strings/str_cat.h"
#include "models/calibration/batch_fit.h"

namespace healthtwin::models::calibration {
namespace {

using internal::DayGroup;
using internal::FitVector;

// State: the twin parameters, the weight reference (kg), and the day-level bias of HR, SBP,
// DBP and weight (Ornstein-Uhlenbeck).
constexpr int kWeightRef = kNumTwinParams;
constexpr int kBias0 = kNumTwinParams + 1;
constexpr int kStateDim = kNumTwinParams + 5;
using StateVector = Eigen::Matrix<double, kStateDim, 1>;
using StateMatrix = Eigen::Matrix<double, kStateDim, kStateDim>;

constexpr double kZ90 = 1.6448536269514722;
constexpr std::int64_t kDayS = 86400;
// Population defaults for the unmodelled vitals until data sets a baseline.
constexpr double kDefaultSpo2 = 97.0;
constexpr double kDefaultTemperatureC = 36.8;

int Idx(Vital v) { return static_cast<int>(v); }
bool ValidVital(Vital v) { return Idx(v) >= 0 && Idx(v) < kNumVitals; }
int BiasIndex(Vital v) {
  switch (v) {
    case Vital::kHeartRate: return kBias0;
    case Vital::kSystolic: return kBias0 + 1;
    case Vital::kDiastolic: return kBias0 + 2;
    default: return kBias0 + 3;
  }
}

std::int64_t UnixDay(std::int64_t t) { return t >= 0 ? t / kDayS : -((-t + kDayS - 1) / kDayS); }

// Physiologically possible ranges; values outside are artefacts (rejected, counted).
bool Plausible(Vital v, double x) {
  switch (v) {
    case Vital::kHeartRate: return x >= 20.0 && x <= 250.0;
    case Vital::kSystolic: return x >= 50.0 && x <= 280.0;
    case Vital::kDiastolic: return x >= 20.0 && x <= 180.0;
    case Vital::kWeight: return x >= 10.0 && x <= 400.0;
    case Vital::kSpo2: return x >= 50.0 && x <= 100.0;
    case Vital::kTemperature: return x >= 30.0 && x <= 44.0;
  }
  return false;
}

std::string SampleWhere(std::size_t i, const Sample& s) {
  return absl::StrCat("sample ", i, " (", std::string(VitalName(s.vital)), " at ", s.measured_at_unix_s, ")");
}

absl::Status CheckSample(const Sample& s, const std::string& where) {
  if (!ValidVital(s.vital)) return absl::InvalidArgumentError(absl::StrCat(where, ": vital is not a known kind"));
  if (!s.flagged && !std::isfinite(s.value)) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": value is not finite"));
  }
  return absl::OkStatus();
}

StateVector LoadMean(const TwinSnapshot& s) { return Eigen::Map<const StateVector>(s.mean.data()); }
StateMatrix LoadCov(const TwinSnapshot& s) {
  return Eigen::Map<const Eigen::Matrix<double, kStateDim, kStateDim, Eigen::RowMajor>>(s.covariance.data());
}
void Store(const StateVector& x, const StateMatrix& p, TwinSnapshot& s) {
  s.mean.assign(x.data(), x.data() + kStateDim);
  s.covariance.resize(kStateDim * kStateDim);
  for (int i = 0; i < kStateDim; ++i) {
    for (int j = 0; j < kStateDim; ++j) s.covariance[i * kStateDim + j] = 0.5 * (p(i, j) + p(j, i));
  }
}

ParamVector Params(const StateVector& x) {
  ParamVector p;
  for (int i = 0; i < kNumTwinParams; ++i) p[i] = x(i);
  return p;
}

// Modelled HR, SBP, DBP, weight (without the biases) at a state.
Eigen::Vector4d Modelled(const ObservationModel& model, const StateVector& x) {
  const ModelledVitals v = model.At(Params(x));
  return {v.heart_rate_bpm, v.sbp_mmhg, v.dbp_mmhg, x(kWeightRef) + kWeightKgPerMlBlood * v.blood_volume_change_ml};
}
int Row(Vital v) { return BiasIndex(v) - kBias0; }

// Scaled unscented transform (Wan & van der Merwe 2000): alpha 0.5, beta 2, kappa 0, i.e.
// sigma points at +-1.58 SD, which keeps them inside the map's grid for typical posteriors.
struct SigmaPoints {
  std::vector<StateVector> points;
  double wm0, wc0, wi;
};
SigmaPoints MakeSigmaPoints(const StateVector& x, const StateMatrix& p) {
  constexpr double kAlpha = 0.5, kBeta = 2.0;
  constexpr double n = kStateDim;
  const double lambda = kAlpha * kAlpha * n - n;
  Eigen::LLT<StateMatrix> llt((n + lambda) * p);
  StateMatrix l;
  if (llt.info() == Eigen::Success) {
    l = llt.matrixL();
  } else {  // not positive definite to round-off: fall back to the diagonal
    l = ((n + lambda) * p.diagonal().cwiseMax(1e-12)).cwiseSqrt().asDiagonal();
  }
  SigmaPoints s;
  s.points.reserve(2 * kStateDim + 1);
  s.points.push_back(x);
  for (int i = 0; i < kStateDim; ++i) {
    s.points.push_back(x + l.col(i));
    s.points.push_back(x - l.col(i));
  }
  s.wm0 = lambda / (n + lambda);
  s.wc0 = s.wm0 + (1.0 - kAlpha * kAlpha + kBeta);
  s.wi = 1.0 / (2.0 * (n + lambda));
  return s;
}

// Linear time propagation: random walk on the parameters, OU on the biases.
void Propagate(StateVector& x, StateMatrix& p, double dt_h, const TwinOptions& o) {
  if (dt_h <= 0.0) return;
  const double phi = std::exp(-dt_h / o.bias_time_constant_h);
  StateMatrix f = StateMatrix::Identity();
  for (int i = kBias0; i < kStateDim; ++i) f(i, i) = phi;
  x = f * x;
  p = f * p * f.transpose();
  for (int i = 0; i < kNumTwinParams; ++i) {
    p(i, i) += o.random_walk_per_sqrt_day[i] * o.random_walk_per_sqrt_day[i] * dt_h / 24.0;
  }
  const Vital biased[] = {Vital::kHeartRate, Vital::kSystolic, Vital::kDiastolic, Vital::kWeight};
  for (Vital v : biased) {
    const double d = o.noise.day_sd[Idx(v)];
    p(BiasIndex(v), BiasIndex(v)) += d * d * (1.0 - phi * phi);
  }
}

// Mean and variance of the four modelled vitals (with biases) under N(x, p).
void Unscented(const ObservationModel& model, const StateVector& x, const StateMatrix& p, Eigen::Vector4d& mean,
               Eigen::Vector4d& var, std::vector<Eigen::Vector4d>* ys = nullptr, SigmaPoints* sp_out = nullptr) {
  SigmaPoints sp = MakeSigmaPoints(x, p);
  std::vector<Eigen::Vector4d> y(sp.points.size());
  for (std::size_t i = 0; i < sp.points.size(); ++i) {
    y[i] = Modelled(model, sp.points[i]) + sp.points[i].segment<4>(kBias0);
  }
  mean = sp.wm0 * y[0];
  for (std::size_t i = 1; i < y.size(); ++i) mean += sp.wi * y[i];
  var = sp.wc0 * (y[0] - mean).cwiseAbs2();
  for (std::size_t i = 1; i < y.size(); ++i) var += sp.wi * (y[i] - mean).cwiseAbs2();
  var = var.cwiseMax(0.0);
  if (ys) *ys = std::move(y);
  if (sp_out) *sp_out = std::move(sp);
}

std::vector<double> PerVital(double v) { return std::vector<double>(kNumVitals, v); }

}  // namespace

double ReadingCeiling(Vital v) {
  return v == Vital::kSpo2 ? 100.0 : std::numeric_limits<double>::infinity();
}

NoiseModel::NoiseModel() {
  // Single readings. HR: optical wrist HR at rest is within ~3-5 bpm of ECG, and minute values
  // also carry posture and activity: 5 bpm. SBP/DBP: cuff devices pass validation at a mean
  // error within +-5 mmHg with SD <= 8 (ISO 81060-2:2018), plus within-day variability: 7 / 5.
  // Weight: scale, clothes and meals: 0.3 kg. SpO2: pulse oximeters' accuracy ~ +-2 % (ISO
  // 80601-2-61 Arms <= 4 %): 1.5. Temperature: 0.3 C. All our choices within those sources.
  reading_sd[Idx(Vital::kHeartRate)] = 5.0;
  reading_sd[Idx(Vital::kSystolic)] = 7.0;
  reading_sd[Idx(Vital::kDiastolic)] = 5.0;
  reading_sd[Idx(Vital::kWeight)] = 0.3;
  reading_sd[Idx(Vital::kSpo2)] = 1.5;
  reading_sd[Idx(Vital::kTemperature)] = 0.3;
  // Day-to-day variation of the daily level that a resting model does not explain (activity,
  // sleep, salt, hydration, the surrogate's own error). Our choices.
  day_sd[Idx(Vital::kHeartRate)] = 3.0;
  day_sd[Idx(Vital::kSystolic)] = 5.0;
  day_sd[Idx(Vital::kDiastolic)] = 3.5;
  day_sd[Idx(Vital::kWeight)] = 0.4;
  day_sd[Idx(Vital::kSpo2)] = 0.7;
  day_sd[Idx(Vital::kTemperature)] = 0.2;
}

absl::StatusOr<Twin> Twin::Create(std::shared_ptr<const ObservationModel> model, const TwinPrior& prior,
                                  const TwinOptions& options) {
  if (model == nullptr) return absl::InvalidArgumentError("twin: observation model is null");
  for (int i = 0; i < kNumTwinParams; ++i) {
    const ParamPrior& pp = prior.population.of(kTwinParams[i]);
    if (!std::isfinite(pp.mean) || !(pp.sd > 0.0) || !std::isfinite(pp.sd)) {
      return absl::InvalidArgumentError(
          absl::StrCat("twin prior: ", std::string(ParamName(kTwinParams[i])), " needs a finite mean and a positive SD"));
    }
  }
  if (prior.reference_weight_kg &&
      (!std::isfinite(*prior.reference_weight_kg) || *prior.reference_weight_kg < 10.0 ||
       *prior.reference_weight_kg > 400.0 || !(prior.reference_weight_sd_kg > 0.0))) {
    return absl::InvalidArgumentError("twin prior: reference_weight_kg must be 10-400 kg with a positive SD");
  }
  Twin t(std::move(model), options);
  TwinSnapshot& s = t.snapshot_;
  s.model_version = std::string(kTwinModelVersion);
  s.reason = "create";
  for (Param p : kTwinParams) s.state_names.emplace_back(ParamName(p));
  s.state_names.insert(s.state_names.end(), {"weight_reference_kg", "bias_heart_rate_bpm", "bias_systolic_mmhg",
                                             "bias_diastolic_mmhg", "bias_weight_kg"});
  for (Param p : kTwinParams) {
    s.prior_mean.push_back(prior.population.of(p).mean);
    s.prior_sd.push_back(prior.population.of(p).sd);
  }
  s.prior_mean.push_back(prior.reference_weight_kg.value_or(75.0));
  s.prior_sd.push_back(prior.reference_weight_kg ? prior.reference_weight_sd_kg : 30.0);
  StateVector x = StateVector::Zero();
  StateMatrix p = StateMatrix::Zero();
  for (int i = 0; i <= kWeightRef; ++i) {
    x(i) = s.prior_mean[i];
    p(i, i) = s.prior_sd[i] * s.prior_sd[i];
  }
  for (Vital v : {Vital::kHeartRate, Vital::kSystolic, Vital::kDiastolic, Vital::kWeight}) {
    p(BiasIndex(v), BiasIndex(v)) = options.noise.day_sd[Idx(v)] * options.noise.day_sd[Idx(v)];
  }
  Store(x, p, s);
  s.reference_mean = PerVital(0.0);
  s.reference_sd = PerVital(0.0);
  s.reference_set.assign(kNumVitals, false);
  s.cusum_pos = s.cusum_neg = PerVital(0.0);
  s.cusum_pos_start.assign(kNumVitals, 0);
  s.cusum_neg_start.assign(kNumVitals, 0);
  s.last_alarm_up.assign(kNumVitals, 0);
  s.last_alarm_down.assign(kNumVitals, 0);
  s.last_rejected_side.assign(kNumVitals, 0);
  s.day_sum = PerVital(0.0);
  s.day_count.assign(kNumVitals, 0);
  t.SetReferenceFromState();
  return t;
}

absl::StatusOr<Twin> Twin::Restore(std::shared_ptr<const ObservationModel> model, const TwinSnapshot& s,
                                   const TwinOptions& options) {
  if (model == nullptr) return absl::InvalidArgumentError("twin snapshot: observation model is null");
  auto bad = [](std::string_view field, std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("twin snapshot: ", std::string(field), " ", std::string(why)));
  };
  if (s.model_version != kTwinModelVersion) {
    return bad("model_version", absl::StrCat("is '", s.model_version, "', expected '", std::string(kTwinModelVersion), "'"));
  }
  if (s.state_names.size() != kStateDim) return bad("state_names", absl::StrCat("must have ", kStateDim, " entries"));
  for (int i = 0; i < kNumTwinParams; ++i) {
    if (s.state_names[i] != ParamName(kTwinParams[i])) return bad("state_names", absl::StrCat("entry ", i, " is wrong"));
  }
  if (s.mean.size() != kStateDim) return bad("mean", absl::StrCat("must have ", kStateDim, " entries"));
  if (s.covariance.size() != kStateDim * kStateDim) return bad("covariance", "must be 10 x 10");
  if (s.prior_mean.size() != kWeightRef + 1 || s.prior_sd.size() != kWeightRef + 1) {
    return bad("prior_mean/prior_sd", "must have 6 entries");
  }
  for (const std::vector<double>* v : {&s.mean, &s.covariance, &s.prior_mean, &s.prior_sd}) {
    for (double d : *v) {
      if (!std::isfinite(d)) return bad("mean/covariance/prior", "holds a non-finite value");
    }
  }
  for (int i = 0; i < kStateDim; ++i) {
    if (!(s.covariance[i * kStateDim + i] > 0.0)) return bad("covariance", "needs a positive diagonal");
  }
  for (std::size_t n : {s.reference_mean.size(), s.reference_sd.size(), s.reference_set.size(), s.cusum_pos.size(),
                        s.cusum_neg.size(), s.cusum_pos_start.size(), s.cusum_neg_start.size(),
                        s.last_alarm_up.size(), s.last_alarm_down.size(), s.last_rejected_side.size(),
                        s.day_sum.size(), s.day_count.size()}) {
    if (n != kNumVitals) return bad("per-vital vectors", absl::StrCat("must have ", kNumVitals, " entries"));
  }
  Twin t(std::move(model), options);
  t.snapshot_ = s;
  return t;
}

double Twin::ReadingSd(Vital v) const { return options_.noise.reading_sd[Idx(v)]; }

double Twin::PredictedLevel(Vital v) const {
  if (!IsModelled(v)) {
    if (snapshot_.reference_set[Idx(v)]) return snapshot_.reference_mean[Idx(v)];
    return v == Vital::kSpo2 ? kDefaultSpo2 : kDefaultTemperatureC;
  }
  const StateVector x = LoadMean(snapshot_);
  return Modelled(*model_, x)(Row(v)) + x(BiasIndex(v));
}

void Twin::SetReferenceFromState() {
  const StateVector x = LoadMean(snapshot_);
  StateMatrix p = LoadCov(snapshot_);
  // The reference is the expected daily level without today's bias: drop the bias states.
  StateVector x0 = x;
  x0.segment<4>(kBias0).setZero();
  p.block<4, kStateDim>(kBias0, 0).setZero();
  p.block<kStateDim, 4>(0, kBias0).setZero();
  for (int i = kBias0; i < kStateDim; ++i) p(i, i) = 1e-12;
  Eigen::Vector4d mean, var;
  Unscented(*model_, x0, p, mean, var);
  for (Vital v : {Vital::kHeartRate, Vital::kSystolic, Vital::kDiastolic, Vital::kWeight}) {
    const double d = options_.noise.day_sd[Idx(v)];
    snapshot_.reference_mean[Idx(v)] = mean(Row(v));
    snapshot_.reference_sd[Idx(v)] = std::sqrt(var(Row(v)) + d * d);
    snapshot_.reference_set[Idx(v)] = true;
  }
}

absl::StatusOr<FitQuality> Twin::Calibrate(std::span<const Sample> window) {
  if (window.empty()) return absl::InvalidArgumentError("calibrate: empty window (no samples)");
  for (std::size_t i = 0; i < window.size(); ++i) {
    if (absl::Status st = CheckSample(window[i], SampleWhere(i, window[i])); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("calibrate: ", st.message()));
    }
  }
  FitQuality q;
  // Usable readings per vital and calendar day.
  struct Reading {
    std::int64_t day;
    double value;
    bool rejected;
  };
  std::array<std::vector<Reading>, kNumVitals> by_vital;
  std::int64_t t0 = std::numeric_limits<std::int64_t>::max(), t1 = std::numeric_limits<std::int64_t>::min();
  for (const Sample& s : window) {
    if (s.flagged) {
      ++q.n_flagged;
      continue;
    }
    if (!Plausible(s.vital, s.value)) {
      ++q.n_rejected[Idx(s.vital)];
      continue;
    }
    by_vital[Idx(s.vital)].push_back({UnixDay(s.measured_at_unix_s), s.value, false});
    t0 = std::min(t0, s.measured_at_unix_s);
    t1 = std::max(t1, s.measured_at_unix_s);
  }
  auto days_of = [&](Vital v) {
    std::vector<std::int64_t> d;
    for (const Reading& r : by_vital[Idx(v)]) d.push_back(r.day);
    std::sort(d.begin(), d.end());
    return static_cast<int>(std::unique(d.begin(), d.end()) - d.begin());
  };
  const int n_sbp = static_cast<int>(by_vital[Idx(Vital::kSystolic)].size());
  const int n_dbp = static_cast<int>(by_vital[Idx(Vital::kDiastolic)].size());
  const int n_hr = static_cast<int>(by_vital[Idx(Vital::kHeartRate)].size());
  const int bp_days = std::min(days_of(Vital::kSystolic), days_of(Vital::kDiastolic));
  if (std::min(n_sbp, n_dbp) < options_.min_bp_readings || bp_days < options_.min_bp_days ||
      n_hr < options_.min_hr_samples) {
    return absl::FailedPreconditionError(absl::StrCat(
        "calibrate: too little data: ", n_sbp, " systolic and ", n_dbp, " diastolic readings on ", bp_days,
        " days and ", n_hr, " heart-rate samples usable (need at least ", options_.min_bp_readings,
        " blood-pressure readings on ", options_.min_bp_days, " different days and ", options_.min_hr_samples,
        " heart-rate samples); the twin keeps its previous state"));
  }
  q.days = static_cast<int>(UnixDay(t1) - UnixDay(t0) + 1);

  const NoiseModel& noise = options_.noise;
  auto make_groups = [&]() {
    std::vector<DayGroup> groups;
    for (Vital v : {Vital::kHeartRate, Vital::kSystolic, Vital::kDiastolic, Vital::kWeight}) {
      std::vector<Reading>& rs = by_vital[Idx(v)];
      std::sort(rs.begin(), rs.end(), [](const Reading& a, const Reading& b) { return a.day < b.day; });
      for (std::size_t i = 0; i < rs.size();) {
        std::size_t j = i;
        double sum = 0.0;
        int n = 0;
        for (; j < rs.size() && rs[j].day == rs[i].day; ++j) {
          if (!rs[j].rejected) {
            sum += rs[j].value;
            ++n;
          }
        }
        if (n > 0) {
          const double r = noise.reading_sd[Idx(v)], d = noise.day_sd[Idx(v)];
          groups.push_back({v, sum / n, n, std::sqrt(d * d + r * r / n)});
        }
        i = j;
      }
    }
    return groups;
  };
  FitVector mu, sd;
  for (int i = 0; i <= kWeightRef; ++i) {
    mu(i) = snapshot_.prior_mean[i];
    sd(i) = snapshot_.prior_sd[i];
  }
  // Without a known weight, start the weight reference at the data's median.
  FitVector start = mu;
  if (std::vector<Reading>& w = by_vital[Idx(Vital::kWeight)]; !w.empty() && sd(kWeightRef) > 10.0) {
    std::vector<double> vals;
    for (const Reading& r : w) vals.push_back(r.value);
    std::nth_element(vals.begin(), vals.begin() + vals.size() / 2, vals.end());
    start(kWeightRef) = vals[vals.size() / 2];
  }
  internal::MapFit fit = internal::FitMap(*model_, make_groups(), mu, sd, start, options_);
  int total_iterations = fit.iterations;
  if (fit.converged) {
    // Reject outliers against the day's median (5 or more readings) or the first fit.
    const Eigen::Vector4d f = Modelled(*model_, [&] {
      StateVector x = StateVector::Zero();
      x.head<kWeightRef + 1>() = fit.theta;
      return x;
    }());
    for (Vital v : {Vital::kHeartRate, Vital::kSystolic, Vital::kDiastolic, Vital::kWeight}) {
      std::vector<Reading>& rs = by_vital[Idx(v)];
      const double r = noise.reading_sd[Idx(v)], d = noise.day_sd[Idx(v)];
      for (std::size_t i = 0; i < rs.size();) {
        std::size_t j = i;
        while (j < rs.size() && rs[j].day == rs[i].day) ++j;
        double centre = f(Row(v)), scale = std::sqrt(r * r + d * d);
        if (j - i >= 5) {
          std::vector<double> vals;
          for (std::size_t k = i; k < j; ++k) vals.push_back(rs[k].value);
          std::nth_element(vals.begin(), vals.begin() + vals.size() / 2, vals.end());
          centre = vals[vals.size() / 2];
          scale = r;
        }
        for (std::size_t k = i; k < j; ++k) {
          rs[k].rejected = std::abs(rs[k].value - centre) > options_.outlier_z * scale;
        }
        i = j;
      }
    }
    fit = internal::FitMap(*model_, make_groups(), mu, sd, fit.theta, options_);
    total_iterations += fit.iterations;
  }
  q.iterations = total_iterations;
  q.converged = fit.converged;
  if (!fit.converged) {
    return absl::FailedPreconditionError(absl::StrCat(
        "calibrate: the MAP fit did not converge in ", options_.max_iterations,
        " iterations; the twin keeps its previous state"));
  }
  // Commit: everything below succeeds.
  StateVector x = StateVector::Zero();
  StateMatrix p = StateMatrix::Zero();
  x.head<kWeightRef + 1>() = fit.theta;
  p.topLeftCorner<kWeightRef + 1, kWeightRef + 1>() = fit.covariance;
  for (Vital v : {Vital::kHeartRate, Vital::kSystolic, Vital::kDiastolic, Vital::kWeight}) {
    p(BiasIndex(v), BiasIndex(v)) = noise.day_sd[Idx(v)] * noise.day_sd[Idx(v)];
  }
  const Eigen::Vector4d f = Modelled(*model_, x);
  q.extrapolated = model_->At(Params(x)).extrapolated;
  for (Vital v : kAllVitals) {
    double ss = 0.0;
    int n = 0;
    const double centre = IsModelled(v) ? f(Row(v)) : 0.0;
    std::vector<double> vals;
    for (const Reading& r : by_vital[Idx(v)]) {
      if (r.rejected) {
        ++q.n_rejected[Idx(v)];
        continue;
      }
      vals.push_back(r.value);
      ss += (r.value - centre) * (r.value - centre);
      ++n;
    }
    q.n_used[Idx(v)] = n;
    if (!IsModelled(v) && n > 0) {
      // Baseline of SpO2 / temperature: the window's median.
      std::nth_element(vals.begin(), vals.begin() + vals.size() / 2, vals.end());
      const double med = vals[vals.size() / 2];
      ss = 0.0;
      for (double y : vals) ss += (y - med) * (y - med);
      snapshot_.reference_mean[Idx(v)] = med;
      snapshot_.reference_sd[Idx(v)] = noise.day_sd[Idx(v)];
      snapshot_.reference_set[Idx(v)] = true;
    }
    q.rmse[Idx(v)] = n > 0 ? std::sqrt(ss / n) : 0.0;
  }
  Store(x, p, snapshot_);
  snapshot_.window_start_unix_s = t0;
  snapshot_.window_end_unix_s = t1;
  snapshot_.state_time_unix_s = std::max(snapshot_.state_time_unix_s, t1);
  snapshot_.calibrated = true;
  snapshot_.samples_absorbed = 0;
  ++snapshot_.version;
  snapshot_.reason = "calibrate";
  SetReferenceFromState();
  return q;
}

absl::StatusOr<Twin::UpdateResult> Twin::Update(const Sample& sample) {
  if (absl::Status st = CheckSample(sample, SampleWhere(0, sample)); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("update: ", st.message()));
  }
  UpdateResult result;
  if (sample.flagged) return result;
  if (snapshot_.state_time_unix_s != 0 && sample.measured_at_unix_s < snapshot_.state_time_unix_s) {
    return absl::InvalidArgumentError(absl::StrCat("update: ", SampleWhere(0, sample), " is older than the twin's state (",
                                                   snapshot_.state_time_unix_s, ")"));
  }
  const Vital v = sample.vital;
  StateVector x = LoadMean(snapshot_);
  StateMatrix p = LoadCov(snapshot_);
  const double dt_h = snapshot_.state_time_unix_s == 0
                          ? 0.0
                          : static_cast<double>(sample.measured_at_unix_s - snapshot_.state_time_unix_s) / 3600.0;
  Propagate(x, p, dt_h, options_);
  const double r = ReadingSd(v);
  int next_rejected_side = snapshot_.last_rejected_side[Idx(v)];
  result.residual.vital = v;
  result.residual.observed = sample.value;
  bool accepted = Plausible(v, sample.value);
  if (IsModelled(v)) {
    Eigen::Vector4d mean, var;
    std::vector<Eigen::Vector4d> ys;
    SigmaPoints sp;
    Unscented(*model_, x, p, mean, var, &ys, &sp);
    const int row = Row(v);
    const double s_pred = var(row) + r * r;
    const double innovation = sample.value - mean(row);
    const double z = innovation / std::sqrt(s_pred);
    result.residual.predicted = mean(row);
    result.residual.residual = innovation;
    result.residual.standardised = z;
    const int side = z > 0.0 ? 1 : -1;
    const bool repeated = snapshot_.last_rejected_side[Idx(v)] == side;
    const bool gated = std::abs(z) > options_.outlier_z && !repeated;
    accepted = accepted && !gated;
    if (Plausible(v, sample.value)) next_rejected_side = gated ? side : 0;
    if (accepted) {
      StateVector c = sp.wc0 * (sp.points[0] - x) * (ys[0](row) - mean(row));
      for (std::size_t i = 1; i < sp.points.size(); ++i) c += sp.wi * (sp.points[i] - x) * (ys[i](row) - mean(row));
      // Huber: readings beyond huber_k SD get a proportionally inflated variance.
      const double s_eff = s_pred * std::max(1.0, std::abs(z) / options_.huber_k);
      const StateVector gain = c / s_eff;
      x += gain * innovation;
      p -= gain * c.transpose();
      internal::ClampToBox(x.data());
      p = 0.5 * (p + p.transpose()).eval();
      for (int i = 0; i < kStateDim; ++i) p(i, i) = std::max(p(i, i), 1e-12);
    }
  } else {
    const double level = PredictedLevel(v);
    const double sd = std::sqrt(options_.noise.day_sd[Idx(v)] * options_.noise.day_sd[Idx(v)] + r * r);
    result.residual.predicted = level;
    result.residual.residual = sample.value - level;
    result.residual.standardised = result.residual.residual / sd;
    accepted = accepted && (!snapshot_.reference_set[Idx(v)] || std::abs(result.residual.standardised) <= options_.outlier_z);
  }
  if (!x.allFinite() || !p.allFinite()) {
    return absl::InternalError("update: the filter produced a non-finite state; the twin keeps its previous state");
  }
  // Commit.
  Store(x, p, snapshot_);
  snapshot_.state_time_unix_s = sample.measured_at_unix_s;
  snapshot_.last_rejected_side[Idx(v)] = next_rejected_side;
  ++snapshot_.samples_absorbed;
  ++snapshot_.version;
  snapshot_.reason = "update";
  result.accepted = accepted;
  if (accepted) AccumulateForDrift(sample);
  return result;
}

Residual Twin::ResidualOf(const Sample& s) const {
  Residual r;
  r.vital = s.vital;
  r.observed = s.value;
  if (!ValidVital(s.vital)) return r;
  double var = 0.0;
  if (IsModelled(s.vital)) {
    Eigen::Vector4d mean, v;
    Unscented(*model_, LoadMean(snapshot_), LoadCov(snapshot_), mean, v);
    r.predicted = mean(Row(s.vital));
    var = v(Row(s.vital));
  } else {
    r.predicted = PredictedLevel(s.vital);
    var = options_.noise.day_sd[Idx(s.vital)] * options_.noise.day_sd[Idx(s.vital)];
  }
  r.residual = s.value - r.predicted;
  r.standardised = r.residual / std::sqrt(var + ReadingSd(s.vital) * ReadingSd(s.vital));
  return r;
}

absl::StatusOr<std::vector<PredictionPoint>> Twin::Predict(double horizon_h, double step_h) const {
  if (!std::isfinite(horizon_h) || horizon_h <= 0.0 || horizon_h > 24.0 * 30.0) {
    return absl::InvalidArgumentError("predict: horizon_h must be in (0, 720] hours");
  }
  if (!std::isfinite(step_h) || step_h <= 0.0 || step_h > horizon_h) {
    return absl::InvalidArgumentError("predict: step_h must be in (0, horizon_h]");
  }
  std::vector<PredictionPoint> out;
  StateVector x = LoadMean(snapshot_);
  StateMatrix p = LoadCov(snapshot_);
  double t_h = 0.0;
  const int steps = static_cast<int>(std::floor(horizon_h / step_h + 1e-9));
  for (int k = 1; k <= steps; ++k) {
    Propagate(x, p, step_h, options_);
    t_h += step_h;
    const std::int64_t at = snapshot_.state_time_unix_s + static_cast<std::int64_t>(std::llround(t_h * 3600.0));
    Eigen::Vector4d mean, var;
    Unscented(*model_, x, p, mean, var);
    for (Vital v : kAllVitals) {
      PredictionPoint pt;
      pt.at_unix_s = at;
      pt.vital = v;
      double level_var;
      if (IsModelled(v)) {
        pt.mean = mean(Row(v));
        level_var = var(Row(v));
      } else {
        pt.mean = PredictedLevel(v);
        const double d = options_.noise.day_sd[Idx(v)];
        level_var = snapshot_.reference_set[Idx(v)] ? d * d : 4.0 * d * d;
      }
      const double level_sd = std::sqrt(level_var);
      const double reading_sd = std::sqrt(level_var + ReadingSd(v) * ReadingSd(v));
      pt.level_lo90 = pt.mean - kZ90 * level_sd;
      pt.level_hi90 = pt.mean + kZ90 * level_sd;
      pt.reading_lo90 = pt.mean - kZ90 * reading_sd;
      pt.reading_hi90 = pt.mean + kZ90 * reading_sd;
      out.push_back(pt);
    }
  }
  return out;
}

void Twin::AccumulateForDrift(const Sample& s) {
  const std::int64_t day = UnixDay(s.measured_at_unix_s);
  if (snapshot_.open_day >= 0 && day != snapshot_.open_day) CloseDay();
  snapshot_.open_day = day;
  snapshot_.day_sum[Idx(s.vital)] += s.value;
  ++snapshot_.day_count[Idx(s.vital)];
}

void Twin::CloseDay() {
  TwinSnapshot& s = snapshot_;
  if (s.open_day < 0) return;
  const std::int64_t day_start = s.open_day * kDayS;
  const std::int64_t day_end = day_start + kDayS;
  const double k = options_.cusum_k, h = options_.cusum_h;
  for (Vital v : kAllVitals) {
    const int i = Idx(v);
    const int n = s.day_count[i];
    if (n == 0) continue;
    const double mean = s.day_sum[i] / n;
    if (!s.reference_set[i]) {  // SpO2 / temperature before any baseline: the first day sets it
      s.reference_mean[i] = mean;
      s.reference_sd[i] = options_.noise.day_sd[i];
      s.reference_set[i] = true;
      continue;
    }
    const double r = ReadingSd(v);
    const double sd = std::sqrt(s.reference_sd[i] * s.reference_sd[i] + r * r / n);
    const double z = (mean - s.reference_mean[i]) / sd;
    auto step = [&](double& c, std::int64_t& start, double zz, bool up) {
      if (c == 0.0) start = day_start;
      c = std::max(0.0, c + zz - k);
      if (c == 0.0) return;
      if (c > h) {
        const double days = std::max(1.0, static_cast<double>(day_end - start) / kDayS);
        const double shift_sd = k + c / days;  // the CUSUM's estimate of the shift
        TwinEvent e;
        e.type = absl::StrCat(std::string(VitalName(v)), up ? "_rising" : "_falling");
        e.vitals = {v};
        e.start_unix_s = start;
        e.detected_unix_s = day_end;
        e.magnitude_sd = up ? shift_sd : -shift_sd;
        e.magnitude = e.magnitude_sd * sd;
        events_.push_back(e);
        (up ? s.last_alarm_up : s.last_alarm_down)[i] = day_end;
        // Heart failure: weight gain with rising heart rate.
        const int w = Idx(Vital::kWeight), hr = Idx(Vital::kHeartRate);
        if (up && (i == w || i == hr)) {
          const int other = i == w ? hr : w;
          const std::int64_t other_alarm = s.last_alarm_up[other];
          if (other_alarm != 0 && day_end - other_alarm <= options_.composite_window_days * kDayS) {
            TwinEvent c2;
            c2.type = "weight_gain_with_rising_hr";
            c2.vitals = {Vital::kWeight, Vital::kHeartRate};
            c2.start_unix_s = std::min(start, i == w ? s.cusum_pos_start[hr] : s.cusum_pos_start[w]);
            if (c2.start_unix_s == 0) c2.start_unix_s = start;
            c2.detected_unix_s = day_end;
            c2.magnitude = i == w ? e.magnitude : 0.0;
            c2.magnitude_sd = e.magnitude_sd;
            events_.push_back(c2);
          }
        }
        c = 0.0;
      }
    };
    step(s.cusum_pos[i], s.cusum_pos_start[i], z, true);
    step(s.cusum_neg[i], s.cusum_neg_start[i], -z, false);
  }
  std::fill(s.day_sum.begin(), s.day_sum.end(), 0.0);
  std::fill(s.day_count.begin(), s.day_count.end(), 0);
  s.open_day = -1;
}

std::vector<TwinEvent> Twin::TakeEvents() { return std::exchange(events_, {}); }

std::vector<ParameterEstimate> Twin::Estimates() const {
  std::vector<ParameterEstimate> out;
  for (int i = 0; i < kNumTwinParams; ++i) {
    ParameterEstimate e;
    e.name = std::string(ParamName(kTwinParams[i]));
    e.mean = snapshot_.mean[i];
    e.sd = std::sqrt(snapshot_.covariance[i * kStateDim + i]);
    e.lo90 = e.mean - kZ90 * e.sd;
    e.hi90 = e.mean + kZ90 * e.sd;
    e.prior_sd = snapshot_.prior_sd[i];
    e.identifiable = i < kNumIdentifiableParams;
    out.push_back(e);
  }
  return out;
}

TwinSnapshot Twin::Snapshot() const { return snapshot_; }

TwinPosterior ToTwinPosterior(const Twin& twin) {
  const TwinSnapshot s = twin.Snapshot();
  TwinPosterior p;
  for (int i = 0; i < kNumTwinParams; ++i) {
    p.names.push_back(s.state_names[i]);
    p.mean.push_back(s.mean[i]);
    for (int j = 0; j < kNumTwinParams; ++j) p.covariance.push_back(s.covariance[i * kStateDim + j]);
  }
  p.version = s.version;
  if (!s.calibrated && s.samples_absorbed == 0) {
    p.source = "prior:models/README.md#identifiability-and-calibration";
  } else if (!s.calibrated) {
    p.source = "calibration:ukf";
  } else {
    p.source = s.samples_absorbed > 0 ? "calibration:map-laplace+ukf" : "calibration:map-laplace";
  }
  return p;
}

}  // namespace healthtwin::models::calibration
