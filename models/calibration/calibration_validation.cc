#include "models/calibration/calibration_validation.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/calibration/prior.h"
#include "models/calibration/synthetic.h"
#include "models/calibration/twin.h"

namespace healthtwin::models::calibration {
namespace {

constexpr std::int64_t kDayS = 86400;
constexpr Vital kModelled[] = {Vital::kHeartRate, Vital::kSystolic, Vital::kDiastolic, Vital::kWeight};

struct Archetype {
  ModelParams nominal;
  std::shared_ptr<const ObservationModel> model;
  PriorInputs prior_inputs;
};

bool Usable(const Sample& s) {
  if (s.flagged) return false;
  switch (s.vital) {  // the same plausibility the twin applies
    case Vital::kHeartRate: return s.value >= 20 && s.value <= 250;
    case Vital::kSystolic: return s.value >= 50 && s.value <= 280;
    case Vital::kDiastolic: return s.value >= 20 && s.value <= 180;
    case Vital::kWeight: return s.value >= 10 && s.value <= 400;
    default: return true;
  }
}

}  // namespace

absl::StatusOr<CalibrationValidationResult> RunCalibrationValidation(int n_patients, std::uint64_t seed,
                                                                     const CalibrationValidationOptions& o) {
  if (n_patients < 1) return absl::InvalidArgumentError("validation: n_patients must be >= 1");
  if (o.fit_days < 2 || o.fit_days >= o.total_days) {
    return absl::InvalidArgumentError("validation: need 2 <= fit_days < total_days");
  }
  if (o.archetypes.empty()) return absl::InvalidArgumentError("validation: archetypes is empty");
  std::vector<Archetype> archetypes;
  for (const std::vector<Condition>& conditions : o.archetypes) {
    Archetype a;
    a.nominal = StandardAdult();
    for (Condition c : conditions) {
      if (absl::Status s = ApplyCondition(c, a.nominal); !s.ok()) return s;
    }
    absl::StatusOr<std::shared_ptr<const ObservationModel>> m = ObservationModel::Create(a.nominal);
    if (!m.ok()) return m.status();
    a.model = *m;
    a.prior_inputs.conditions = conditions;
    archetypes.push_back(std::move(a));
  }

  CalibrationValidationResult r;
  std::array<std::vector<double>, kNumTwinParams> err, post_sd, prior_sd;
  std::array<int, kNumTwinParams> covered{}, covered_ukf{};
  std::array<double, 4> sq_twin{}, sq_naive{};
  std::array<int, 4> in_interval{};
  long hr_total = 0, hr_rejected = 0, bp_total = 0, bp_rejected = 0;
  double iterations = 0.0, delay_sum = 0.0;
  for (int i = 0; i < n_patients; ++i) {
    const Archetype& a = archetypes[i % archetypes.size()];
    const bool drift = i % 4 == 3;
    const PopulationPrior prior = PriorFor(a.prior_inputs);
    SyntheticOptions so;
    so.days = o.total_days;
    so.hr_every_minutes = o.hr_every_minutes;
    if (drift) {
      so.drift_start_day = o.fit_days;
      so.drift_per_day = o.drift_per_day;
    }
    absl::StatusOr<SyntheticPatient> p = SimulatePatient(a.nominal, *a.model, prior, seed + 7919 * i, so);
    if (!p.ok()) return p.status();
    const std::int64_t split = so.start_unix_s + o.fit_days * kDayS;
    const auto mid = std::find_if(p->samples.begin(), p->samples.end(),
                                  [&](const Sample& s) { return s.measured_at_unix_s >= split; });
    const std::span<const Sample> fit(p->samples.data(), static_cast<std::size_t>(mid - p->samples.begin()));
    const std::span<const Sample> held(&*mid, static_cast<std::size_t>(p->samples.end() - mid));

    absl::StatusOr<Twin> twin = Twin::Create(a.model, {prior, so.weight_kg, so.weight_ref_sd_kg});
    if (!twin.ok()) return twin.status();
    absl::StatusOr<FitQuality> q = twin->Calibrate(fit);
    if (!q.ok()) return absl::InternalError(absl::StrCat("validation patient ", i, ": ", q.status().message()));
    ++r.patients;
    iterations += q->iterations;
    r.extrapolated += q->extrapolated ? 1 : 0;
    hr_total += q->n_used[0] + q->n_rejected[0];
    hr_rejected += q->n_rejected[0];
    bp_total += q->n_used[1] + q->n_rejected[1];
    bp_rejected += q->n_rejected[1];

    if (!drift) {
      ++r.static_patients;
      const std::vector<ParameterEstimate> est = twin->Estimates();
      for (int k = 0; k < kNumTwinParams; ++k) {
        err[k].push_back(est[k].mean - p->truth[k]);
        post_sd[k].push_back(est[k].sd);
        prior_sd[k].push_back(est[k].prior_sd);
        covered[k] += (p->truth[k] >= est[k].lo90 && p->truth[k] <= est[k].hi90) ? 1 : 0;
      }
      // Held-back days: daily means against the predicted level, readings against the interval.
      const double horizon_h =
          std::ceil(static_cast<double>(p->samples.back().measured_at_unix_s - twin->Snapshot().state_time_unix_s) /
                    3600.0) + 1.0;
      absl::StatusOr<std::vector<PredictionPoint>> pred = twin->Predict(horizon_h, 1.0);
      if (!pred.ok()) return pred.status();
      const std::int64_t t_state = twin->Snapshot().state_time_unix_s;
      auto point_at = [&](std::int64_t t, Vital v) -> const PredictionPoint& {
        const long hour = std::clamp<long>(std::lround(static_cast<double>(t - t_state) / 3600.0), 1,
                                           static_cast<long>(pred->size() / kNumVitals));
        return (*pred)[(hour - 1) * kNumVitals + static_cast<int>(v)];
      };
      std::map<std::pair<int, std::int64_t>, std::pair<double, int>> daily;
      std::array<std::vector<double>, 4> fit_values;
      for (const Sample& s : fit) {
        if (Usable(s) && IsModelled(s.vital)) fit_values[static_cast<int>(s.vital)].push_back(s.value);
      }
      for (const Sample& s : held) {
        if (!Usable(s) || !IsModelled(s.vital)) continue;
        const int v = static_cast<int>(s.vital);
        const PredictionPoint& pt = point_at(s.measured_at_unix_s, s.vital);
        ++r.prediction[v].readings;
        in_interval[v] += (s.value >= pt.reading_lo90 && s.value <= pt.reading_hi90) ? 1 : 0;
        auto& d = daily[{v, s.measured_at_unix_s / kDayS}];
        d.first += s.value;
        ++d.second;
      }
      for (const auto& [key, sum_n] : daily) {
        const int v = key.first;
        const double mean = sum_n.first / sum_n.second;
        const PredictionPoint& pt = point_at(key.second * kDayS + kDayS / 2, static_cast<Vital>(v));
        std::vector<double>& fv = fit_values[v];
        std::nth_element(fv.begin(), fv.begin() + fv.size() / 2, fv.end());
        const double naive = fv.empty() ? pt.mean : fv[fv.size() / 2];
        sq_twin[v] += (mean - pt.mean) * (mean - pt.mean);
        sq_naive[v] += (mean - naive) * (mean - naive);
        ++r.prediction[v].days;
      }
    } else {
      ++r.drift_patients;
    }
    // Held-back days through the UKF and the drift detector.
    bool weight_found = false, composite_found = false;
    std::int64_t detected = 0;
    for (const Sample& s : held) {
      if (absl::StatusOr<Twin::UpdateResult> u = twin->Update(s); !u.ok()) return u.status();
    }
    twin->CloseDay();
    for (const TwinEvent& e : twin->TakeEvents()) {
      if (!drift) {
        ++r.false_alarm_events;
        continue;
      }
      if (e.type == "weight_rising" && !weight_found) {
        weight_found = true;
        detected = e.detected_unix_s;
      }
      composite_found |= e.type == "weight_gain_with_rising_hr";
    }
    if (!drift) {
      r.static_patient_days += static_cast<double>(o.total_days - o.fit_days);
      const std::vector<ParameterEstimate> est = twin->Estimates();
      for (int k = 0; k < kNumTwinParams; ++k) {
        covered_ukf[k] += (p->truth[k] >= est[k].lo90 && p->truth[k] <= est[k].hi90) ? 1 : 0;
      }
    } else {
      r.drift_detected_weight += weight_found ? 1 : 0;
      r.drift_detected_composite += composite_found ? 1 : 0;
      if (weight_found) delay_sum += static_cast<double>(detected - split) / kDayS;
    }
  }
  const double ns = std::max(1, r.static_patients);
  for (int k = 0; k < kNumTwinParams; ++k) {
    ParamValidation& pv = r.params[k];
    for (std::size_t j = 0; j < err[k].size(); ++j) {
      pv.bias += err[k][j] / ns;
      pv.mae += std::abs(err[k][j]) / ns;
      pv.rmse += err[k][j] * err[k][j] / ns;
      pv.posterior_sd += post_sd[k][j] / ns;
      pv.prior_sd += prior_sd[k][j] / ns;
    }
    pv.rmse = std::sqrt(pv.rmse);
    pv.coverage90 = covered[k] / ns;
    pv.coverage90_after_ukf = covered_ukf[k] / ns;
  }
  for (int v = 0; v < 4; ++v) {
    VitalPrediction& vp = r.prediction[v];
    if (vp.days > 0) {
      vp.twin_rmse = std::sqrt(sq_twin[v] / vp.days);
      vp.naive_rmse = std::sqrt(sq_naive[v] / vp.days);
    }
    if (vp.readings > 0) vp.reading_coverage90 = static_cast<double>(in_interval[v]) / vp.readings;
  }
  r.rejected_fraction_hr = hr_total ? static_cast<double>(hr_rejected) / hr_total : 0.0;
  r.rejected_fraction_bp = bp_total ? static_cast<double>(bp_rejected) / bp_total : 0.0;
  r.mean_iterations = iterations / r.patients;
  if (r.drift_detected_weight > 0) r.mean_detection_delay_days = delay_sum / r.drift_detected_weight;
  return r;
}

std::string RenderCalibrationValidationMarkdown(const CalibrationValidationResult& r, int n_patients,
                                                std::uint64_t seed, const CalibrationValidationOptions& o) {
  std::string md = "## Twin calibration\n\n";
  absl::StrAppend(&md, absl::StrFormat(
      "Generated by `healthtwin-twin-validate --patients %d --seed %d` (models/calibration/calibration_validation.h). "
      "%d synthetic patients (archetypes cycled: %d), truth drawn from the population prior and simulated with the "
      "beat-resolved engine; %d days of wearable data each (minute HR, cuff BP 1-4 a day on 85 %% of days, daily "
      "weight, noise, AR(1) day effects, time-of-day swings, gaps, artefacts, flagged readings). Calibrated on the "
      "first %d days, predicted and tracked (UKF) over the last %d. %d static patients for recovery, coverage and "
      "prediction; %d with a heart-failure style drift from day %d (blood volume %+.1f %%/day, heart-rate factor "
      "%+.1f %%/day) for the drift detector.\n\n",
      n_patients, seed, r.patients, static_cast<int>(o.archetypes.size()), o.total_days,
      o.fit_days, o.total_days - o.fit_days, r.static_patients, r.drift_patients,
      o.fit_days + 1, 100.0 * o.drift_per_day[1], 100.0 * o.drift_per_day[3]));
  absl::StrAppend(&md,
                  "| Parameter | identifiable | bias | MAE | RMSE | mean posterior SD | prior SD | 90 % coverage "
                  "(batch) | 90 % coverage (after UKF) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (int k = 0; k < kNumTwinParams; ++k) {
    const ParamValidation& p = r.params[k];
    absl::StrAppend(&md, absl::StrFormat("| `%s` | %s | %+.3f | %.3f | %.3f | %.3f | %.3f | %.0f %% | %.0f %% |\n",
                                         std::string(ParamName(kTwinParams[k])),
                                         k < kNumIdentifiableParams ? "yes" : "consider", p.bias, p.mae, p.rmse,
                                         p.posterior_sd, p.prior_sd, 100.0 * p.coverage90,
                                         100.0 * p.coverage90_after_ukf));
  }
  absl::StrAppend(&md, "\nLog parameters are natural-log factors (0.1 ≈ 10 %); the set-point offset is in mmHg.\n\n");
  absl::StrAppend(&md,
                  "| Held-back days | daily-mean RMSE, twin | daily-mean RMSE, window median | readings in 90 % "
                  "interval | days / readings |\n|---|---:|---:|---:|---:|\n");
  const char* units[] = {"bpm", "mmHg", "mmHg", "kg"};
  for (int v = 0; v < 4; ++v) {
    const VitalPrediction& p = r.prediction[v];
    absl::StrAppend(&md, absl::StrFormat("| %s | %.2f %s | %.2f %s | %.1f %% | %d / %d |\n",
                                         std::string(VitalName(kModelled[v])), p.twin_rmse, units[v], p.naive_rmse,
                                         units[v], 100.0 * p.reading_coverage90, p.days, p.readings));
  }
  absl::StrAppend(&md, absl::StrFormat(
      "\nFit: %.1f LM iterations on average (two passes), %.2f %% of HR samples and %.2f %% of SBP readings rejected "
      "as artefacts or outliers, %d estimates outside the map's grid.\n\n",
      r.mean_iterations, 100.0 * r.rejected_fraction_hr, 100.0 * r.rejected_fraction_bp, r.extrapolated));
  absl::StrAppend(&md, absl::StrFormat(
      "Drift detector (CUSUM k = 0.5, h = 4 on daily residuals against the calibration): %d events in %.0f "
      "static patient-days (%.2f per patient-month); drift patients: `weight_rising` in %d / %d (mean %.1f days "
      "after the drift began), `weight_gain_with_rising_hr` in %d / %d.\n",
      r.false_alarm_events, r.static_patient_days,
      r.static_patient_days > 0 ? 30.0 * r.false_alarm_events / r.static_patient_days : 0.0, r.drift_detected_weight,
      r.drift_patients, r.mean_detection_delay_days, r.drift_detected_composite, r.drift_patients));
  return md;
}

absl::StatusOr<std::string> RenderCalibrationValidationMarkdown(int n_patients, std::uint64_t seed) {
  const CalibrationValidationOptions o;
  absl::StatusOr<CalibrationValidationResult> r = RunCalibrationValidation(n_patients, seed, o);
  if (!r.ok()) return r.status();
  return RenderCalibrationValidationMarkdown(*r, n_patients, seed, o);
}

}  // namespace healthtwin::models::calibration
