#include "models/calibration/synthetic.h"

#include <cmath>
#include <numbers>
#include <random>

#include "models/steady_state_map.h"

namespace healthtwin::models::calibration {
namespace {

constexpr std::int64_t kDayS = 86400;

bool InsideGrid(const ParamVector& t) {
  auto in = [](double x, double lo, double hi) { return x > lo && x < hi; };
  const auto& v = SteadyStateMap::kVolumeFactors;
  const auto& s = SteadyStateMap::kSetPointOffsetsMmhg;
  const auto& r = SteadyStateMap::kResistanceFactors;
  const auto& h = SteadyStateMap::kHeartRateFactors;
  const auto& c = SteadyStateMap::kContractilityFactors;
  return in(std::exp(t[0]), r.front(), r.back()) && in(std::exp(t[1]), v.front(), v.back()) &&
         in(t[2], s.front(), s.back()) && in(std::exp(t[3]), h.front(), h.back()) &&
         in(std::exp(t[4]), c.front(), c.back());
}

}  // namespace

absl::StatusOr<SyntheticPatient> SimulatePatient(const ModelParams& nominal, const ObservationModel& model,
                                                 const PopulationPrior& prior, std::uint64_t seed,
                                                 const SyntheticOptions& o) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n01(0.0, 1.0);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  SyntheticPatient p;
  do {
    for (int i = 0; i < kNumTwinParams; ++i) {
      const ParamPrior& pp = prior.of(kTwinParams[i]);
      p.truth[i] = pp.mean + pp.sd * n01(rng);
    }
  } while (!InsideGrid(p.truth));
  p.weight_ref_kg = o.weight_kg + o.weight_ref_sd_kg * n01(rng);
  // The engine at the truth.
  EffectorModifiers m;
  m.systemic_resistance_factor = std::exp(p.truth[0]);
  m.heart_rate_factor = std::exp(p.truth[3]);
  m.contractility_factor = std::exp(p.truth[4]);
  absl::StatusOr<Haemodynamics> h =
      EngineSteadyState(nominal, nominal.circulation.total_blood_volume_ml * std::exp(p.truth[1]),
                        nominal.baroreflex.set_point_mmhg + p.truth[2], m);
  if (!h.ok()) return h.status();
  p.resting_hr_bpm = h->heart_rate_bpm;
  p.resting_sbp_mmhg = h->sbp_mmhg;
  p.resting_dbp_mmhg = h->dbp_mmhg;
  const ModelledVitals at0 = model.At(p.truth);

  double b_hr = 0, b_sbp = 0, b_dbp = 0, b_w = 0;
  constexpr double kRho = 0.3;
  const double innov = std::sqrt(1.0 - kRho * kRho);
  for (int d = 0; d < o.days; ++d) {
    const std::int64_t day0 = o.start_unix_s + d * kDayS;
    b_hr = kRho * b_hr + innov * 2.5 * n01(rng);
    b_sbp = kRho * b_sbp + innov * 4.0 * n01(rng);
    b_dbp = kRho * b_dbp + innov * 3.0 * n01(rng);
    b_w = kRho * b_w + innov * 0.35 * n01(rng);
    // Today's truth (drift scaled by the map around the engine's value).
    ParamVector today = p.truth;
    if (o.drift_start_day >= 0 && d >= o.drift_start_day) {
      for (int k = 0; k < kNumTwinParams; ++k) today[k] += o.drift_per_day[k] * (d - o.drift_start_day + 1);
    }
    const ModelledVitals mt = model.At(today);
    const double hr = p.resting_hr_bpm * mt.heart_rate_bpm / at0.heart_rate_bpm;
    const double sbp = p.resting_sbp_mmhg * mt.sbp_mmhg / at0.sbp_mmhg;
    const double dbp = p.resting_dbp_mmhg * mt.dbp_mmhg / at0.dbp_mmhg;
    const double weight = p.weight_ref_kg + kWeightKgPerMlBlood * mt.blood_volume_change_ml;
    auto tod = [](double t_h, double peak_h) { return std::cos(2.0 * std::numbers::pi * (t_h - peak_h) / 24.0); };
    // HR every minute of the worn hours, one activity bout.
    const int bout_start_min = 8 * 60 + static_cast<int>(u01(rng) * 12 * 60);
    for (int hour = 0; hour < 24; ++hour) {
      if (u01(rng) > 0.75) continue;
      for (int minute = 0; minute < 60; minute += o.hr_every_minutes) {
        const int mm = hour * 60 + minute;
        double y = hr + b_hr + 4.0 * tod(mm / 60.0, 15.0) + 4.0 * n01(rng);
        if (mm >= bout_start_min && mm < bout_start_min + 20) y += 25.0;
        if (u01(rng) < 0.01) y = 40.0 + 150.0 * u01(rng);
        p.samples.push_back({day0 + mm * 60, Vital::kHeartRate, std::round(y), false});
      }
    }
    // Cuff BP.
    if (u01(rng) < 0.85) {
      const int n = 1 + static_cast<int>(u01(rng) * 4);
      for (int k = 0; k < n; ++k) {
        const double t_h = 7.0 + 15.0 * u01(rng);
        const std::int64_t at = day0 + static_cast<std::int64_t>(t_h * 3600.0);
        double ys = sbp + b_sbp + 5.0 * tod(t_h, 11.0) + 5.0 * n01(rng);
        double yd = dbp + b_dbp + 3.0 * tod(t_h, 11.0) + 4.0 * n01(rng);
        bool flagged = false;
        const double u = u01(rng);
        if (u < 0.03) {
          ys += 35.0;
          yd += 20.0;
        } else if (u < 0.05) {
          flagged = true;
          ys = 300.0;
          yd = 10.0;
        }
        p.samples.push_back({at, Vital::kSystolic, std::round(ys), flagged});
        p.samples.push_back({at, Vital::kDiastolic, std::round(yd), flagged});
      }
    }
    if (u01(rng) < 0.85) {
      double y = weight + b_w + 0.2 * n01(rng);
      if (u01(rng) < 0.02) y += 4.0;
      p.samples.push_back({day0 + 7 * 3600, Vital::kWeight, std::round(y * 10.0) / 10.0, false});
    }
    for (int k = 0; k < 2; ++k) {
      p.samples.push_back({day0 + (9 + 10 * k) * 3600, Vital::kSpo2, std::min(100.0, std::round(97.0 + n01(rng))), false});
    }
    p.samples.push_back({day0 + 8 * 3600, Vital::kTemperature, std::round((36.7 + 0.25 * n01(rng)) * 10.0) / 10.0, false});
  }
  std::stable_sort(p.samples.begin(), p.samples.end(),
                   [](const Sample& a, const Sample& b) { return a.measured_at_unix_s < b.measured_at_unix_s; });
  return p;
}

}  // namespace healthtwin::models::calibration
