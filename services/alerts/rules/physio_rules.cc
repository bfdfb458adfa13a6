#include "services/alerts/rules/physio_rules.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace healthtwin::alerts::rules {
namespace {

constexpr int64_t kUsPerS = 1'000'000;
constexpr int64_t kDayUs = 86'400 * kUsPerS;
// Threshold rules read at least this much history, so an episode that began hours ago keeps
// its start; a cuff's two readings need twice its staleness limit.
constexpr double kMinThresholdLookbackS = 6 * 3600;

std::string Minutes(double s) {
  if (s >= 5400) return absl::StrFormat("%.1f h", s / 3600);
  return absl::StrFormat("%.0f min", s / 60);
}

}  // namespace

Observation BaseObservation(const RuleSpec& spec, const std::string& patient_id) {
  Observation o;
  o.patient_id = patient_id;
  o.rule_id = spec.id;
  o.category = spec.category;
  o.priority = spec.priority;
  o.covers = spec.covers;
  return o;
}

int64_t RuleLookbackUs(const RuleSpec& spec) {
  switch (spec.kind) {
    case RuleKind::kThresholdHigh:
    case RuleKind::kThresholdLow:
      return static_cast<int64_t>(
          std::max(kMinThresholdLookbackS, 2 * spec.stale_after_s + spec.min_duration_s + spec.clear_duration_s) *
          kUsPerS);
    case RuleKind::kWeightGain:
      return static_cast<int64_t>(spec.window_days * kDayUs + 2 * spec.stale_after_s * kUsPerS);
    case RuleKind::kRelativeDrop:
      return static_cast<int64_t>(spec.window_days * kDayUs);
    case RuleKind::kRestingHrRise:
      return static_cast<int64_t>((spec.window_days + 2) * kDayUs);
    case RuleKind::kNews2:
      return 6 * 3600 * kUsPerS + static_cast<int64_t>(std::max({spec.fresh_hr_s, spec.fresh_spo2_s, spec.fresh_sbp_s,
                                                                 spec.fresh_temp_s, spec.fresh_rr_s}) *
                                                       kUsPerS);
    default:
      return 0;
  }
}

namespace {

// A sustained threshold over every device's series of spec.vital read from `from_us`.
Observation Sustained(const RuleSpec& spec, const PatientInputs& in, const VitalIndex& idx, int64_t now_us, bool above,
                      double threshold, int64_t from_us, PatientTrackers* trackers) {
  Observation o = BaseObservation(spec, in.patient_id);
  SustainedParams p{.above = above,
                    .threshold = threshold,
                    .hysteresis = spec.hysteresis,
                    .min_samples = spec.min_samples,
                    .min_duration_s = spec.min_duration_s,
                    .clear_duration_s = spec.clear_duration_s,
                    .stale_after_s = spec.stale_after_s};
  const auto types = VitalTypesOf(spec.vital);
  o.ucum_unit = UcumOf(spec.vital);
  SustainedVerdict best;
  bool any = false;
  for (const auto& [device, series] : idx.ByDevice(types, from_us)) {
    SustainedVerdict v = trackers != nullptr ? trackers->Of(spec.id, device).Evaluate(series, p, now_us)
                                             : EvaluateSustained(series, p, now_us);
    o.observed_us = std::max(o.observed_us, v.last_sample_us);
    if (!v.had_episode) continue;
    const bool better = !any || (v.active && !best.active) ||
                        (v.active && best.active && v.started_us < best.started_us) ||
                        (!v.active && !best.active && v.ended_us > best.ended_us);
    if (better) best = v;
    any = true;
  }
  const char* label = LabelOf(spec.vital);
  const std::string side = above ? "above" : "below";
  if (!any) {
    o.summary = absl::StrCat(label, " not sustained ", side, " ", p.threshold, " ", o.ucum_unit);
    return o;
  }
  o.active = best.active;
  o.condition_started_us = best.started_us;
  o.condition_ended_us = best.active ? 0 : best.ended_us;
  o.peak_value = best.peak;
  const int64_t end = best.active ? o.observed_us : best.ended_us;
  o.duration_s = static_cast<double>(end - best.started_us) / 1e6;
  if (spec.high_priority_threshold &&
      (above ? best.peak > *spec.high_priority_threshold : best.peak < *spec.high_priority_threshold)) {
    o.priority = Priority::kHigh;
  }
  o.summary = absl::StrCat(label, " ", side, " ", p.threshold, " ", o.ucum_unit, " for ", Minutes(o.duration_s),
                           " (peak ", absl::StrFormat("%g", std::round(best.peak * 10) / 10), " ", o.ucum_unit, ")");
  if (!best.active) absl::StrAppend(&o.summary, best.stale ? "; ended: no data" : "; cleared");
  return o;
}

}  // namespace

Observation EvaluateThreshold(const RuleSpec& spec, const PatientInputs& in, const VitalIndex& idx, int64_t now_us,
                              PatientTrackers* trackers) {
  return Sustained(spec, in, idx, now_us, spec.kind == RuleKind::kThresholdHigh, EffectiveThreshold(spec, in.settings),
                   now_us - RuleLookbackUs(spec), trackers);
}

Observation EvaluateRelativeDrop(const RuleSpec& spec, const PatientInputs& in, const VitalIndex& idx, int64_t now_us) {
  constexpr size_t kMinBaselineSamples = 6;
  const int64_t from = now_us - RuleLookbackUs(spec);
  const int64_t baseline_end = now_us - static_cast<int64_t>(spec.exclude_recent_s * kUsPerS);
  std::vector<double> base;
  for (const TimedValue& s : idx.Merged(VitalTypesOf(spec.vital), from)) {
    if (s.t_us < baseline_end) base.push_back(s.value);
  }
  if (base.size() < kMinBaselineSamples) {
    Observation o = BaseObservation(spec, in.patient_id);
    o.ucum_unit = UcumOf(spec.vital);
    o.summary = absl::StrCat(LabelOf(spec.vital), ": not enough readings for a baseline");
    return o;
  }
  std::nth_element(base.begin(), base.begin() + base.size() / 2, base.end());
  const double baseline = base[base.size() / 2];
  // No tracker: the threshold moves with the baseline at every instant (and readings are sparse).
  Observation o = Sustained(spec, in, idx, now_us, /*above=*/false, baseline - spec.rise, baseline_end, nullptr);
  absl::StrAppend(&o.summary, absl::StrFormat(" (baseline %.0f %s, drop %g)", baseline, o.ucum_unit, spec.rise));
  return o;
}

Observation EvaluateWeightGain(const RuleSpec& spec, const PatientInputs& in, const VitalIndex& idx, int64_t now_us) {
  Observation o = BaseObservation(spec, in.patient_id);
  o.ucum_unit = "kg";
  const auto w = idx.Merged({kBodyWeight}, now_us - RuleLookbackUs(spec));
  // Daily weighings are taken at roughly, not exactly, the same time: "in 3 days" compares
  // with the weighing 3 days ago even when that one was taken a few hours later in the day.
  constexpr int64_t kWeighingToleranceUs = 6 * 3600 * kUsPerS;
  const int64_t window_us = static_cast<int64_t>(spec.window_days * kDayUs) + kWeighingToleranceUs;
  int64_t start = 0, ended = 0;
  bool active = false;
  double peak = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    double lowest = INFINITY;
    for (size_t j = i; j-- > 0 && w[i].t_us - w[j].t_us <= window_us;) lowest = std::min(lowest, w[j].value);
    const double gain = w[i].value - lowest;  // -inf when there is no earlier weighing
    if (gain > spec.rise) {
      if (!active) start = w[i].t_us, peak = 0, ended = 0;
      active = true;
      peak = std::max(peak, gain);
    } else if (active) {
      active = false;
      ended = w[i].t_us;
    }
  }
  if (!w.empty()) o.observed_us = w.back().t_us;
  if (active && static_cast<double>(now_us - w.back().t_us) / 1e6 > spec.stale_after_s) {
    active = false;
    ended = w.back().t_us;
  }
  o.active = active;
  o.condition_started_us = start;
  o.condition_ended_us = active ? 0 : ended;
  o.peak_value = peak;
  o.duration_s = start ? static_cast<double>((active ? o.observed_us : ended) - start) / 1e6 : 0;
  o.summary = start ? absl::StrFormat("Weight up %.1f kg within %g days%s", peak, spec.window_days,
                                      active ? "" : " (no longer)")
                    : absl::StrFormat("No weight gain above %.1f kg within %g days", spec.rise, spec.window_days);
  return o;
}

Observation EvaluateRestingHrRise(const RuleSpec& spec, const PatientInputs& in, const VitalIndex& idx,
                                  int64_t now_us) {
  constexpr size_t kMinSamplesPerDay = 30;
  constexpr double kPercentile = 0.10;
  constexpr int kMinBaselineDays = 3;
  Observation o = BaseObservation(spec, in.patient_id);
  o.ucum_unit = "/min";
  const int64_t today = now_us / kDayUs;  // data-time (UTC) day number
  const int days = static_cast<int>(spec.window_days);
  // Resting heart rate of day `today - k` for k = 1 (yesterday) .. days + 1; NaN without data.
  std::vector<double> resting(days + 2, NAN);
  if (in.resting_hr_days_given) {
    for (const DailyRestingHr& d : in.resting_hr_days) {
      const int64_t k = today - d.day;
      if (k >= 1 && k <= days + 1 && d.samples >= static_cast<int64_t>(kMinSamplesPerDay)) resting[k] = d.p10_bpm;
    }
  }
  std::vector<std::vector<double>> by_day(in.resting_hr_days_given ? 0 : days + 2);
  if (!in.resting_hr_days_given) {
    for (const TimedValue& s : idx.Merged({kHeartRate, kPulseRate}, (today - days - 1) * kDayUs)) {
      const int64_t k = today - s.t_us / kDayUs;
      if (k >= 1 && k <= days + 1) by_day[k].push_back(s.value);
    }
  }
  for (int k = 1; k < static_cast<int>(by_day.size()); ++k) {
    auto& v = by_day[k];
    if (v.size() < kMinSamplesPerDay) continue;
    // percentile_disc(0.10): the smallest value with at least 10 % of the samples at or below
    // it, so that the SQL summary (DailyRestingHr) and this give the same number.
    const auto rank = static_cast<long>(std::ceil(kPercentile * static_cast<double>(v.size()))) - 1;
    auto nth = v.begin() + std::max(0L, rank);
    std::nth_element(v.begin(), nth, v.end());
    resting[k] = *nth;
  }
  o.observed_us = idx.Newest({kHeartRate, kPulseRate});
  std::vector<double> baseline;
  for (int k = 2; k <= days + 1; ++k) {
    if (!std::isnan(resting[k])) baseline.push_back(resting[k]);
  }
  if (std::isnan(resting[1]) || static_cast<int>(baseline.size()) < kMinBaselineDays) {
    o.summary = "Resting heart rate trend: not enough days of heart-rate data";
    return o;
  }
  std::nth_element(baseline.begin(), baseline.begin() + baseline.size() / 2, baseline.end());
  const double base = baseline[baseline.size() / 2];
  const double rise = resting[1] - base;
  o.peak_value = resting[1];
  o.active = rise >= spec.rise && static_cast<double>(now_us - o.observed_us) / 1e6 <= spec.stale_after_s;
  if (o.active) {
    o.condition_started_us = (today - 1) * kDayUs;
    o.duration_s = static_cast<double>(now_us - o.condition_started_us) / 1e6;
  }
  o.summary = absl::StrFormat("Resting heart rate %.0f /min yesterday, %+.0f /min against the %d-day median %.0f /min",
                              resting[1], rise, days, base);
  return o;
}

}  // namespace healthtwin::alerts::rules
