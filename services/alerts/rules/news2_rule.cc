// NEWS2 continuous (RCP 2017, scored by models/scores/news2.h).
//
// At a time T each parameter's value is its newest valid sample no older than the rule's
// freshness window for that parameter (a cuff reading counts for hours, a strap's heart rate
// for minutes); to ignore a single implausible sample, the value is the median of that
// parameter's samples in the 5 minutes up to its newest (a spot reading is its own median).
// Parameters without a fresh value are missing: the score is partial (a lower bound) and the
// Observation lists them. Consciousness is never measured by a wearable, so every score here
// is partial; respiratory rate is missing unless a device sends it.
//
// The score is computed every step_s across the lookback and the series of risk bands goes
// through EvaluateSustained: the condition is a band of low-medium (a single parameter
// scoring 3) or more, held for min_duration_s, cleared after clear_duration_s below it. A step
// with no fresh parameter at all ends the condition (nothing is known any more). The
// priority follows the band now (or the episode's worst band when ended): high for NEWS2 >= 7,
// medium for 5-6 and for a single 3 (RCP: urgent ward-based response).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "models/scores/news2.h"
#include "services/alerts/rules/physio_rules.h"

namespace healthtwin::alerts::rules {
namespace {

namespace sc = healthtwin::models::scores;
constexpr int64_t kUsPerS = 1'000'000;
constexpr int64_t kSmoothingUs = 5 * 60 * kUsPerS;

// The robust value of `s` at time t: median of the samples in the 5 min up to the newest one
// at or before t, if that newest one is no older than fresh_s.
std::optional<double> ValueAt(std::span<const TimedValue> s, int64_t t, double fresh_s) {
  auto end = std::upper_bound(s.begin(), s.end(), t, [](int64_t x, const TimedValue& v) { return x < v.t_us; });
  if (end == s.begin()) return std::nullopt;
  const int64_t newest = (end - 1)->t_us;
  if (static_cast<double>(t - newest) / 1e6 > fresh_s) return std::nullopt;
  std::vector<double> vals;
  for (auto it = end; it != s.begin() && newest - (it - 1)->t_us <= kSmoothingUs && vals.size() < 301; --it) {
    vals.push_back((it - 1)->value);
  }
  std::nth_element(vals.begin(), vals.begin() + vals.size() / 2, vals.end());
  return vals[vals.size() / 2];
}

}  // namespace

Observation EvaluateNews2(const RuleSpec& spec, const PatientInputs& in, const VitalIndex& idx, int64_t now_us) {
  Observation o = BaseObservation(spec, in.patient_id);
  o.ucum_unit = "{score}";
  const int64_t from = now_us - RuleLookbackUs(spec);
  const auto hr = idx.Merged({kHeartRate, kPulseRate}, from);
  const auto spo2 = idx.Merged({kSpo2}, from);
  const auto sbp = idx.Merged({kSystolicBp}, from);
  const auto temp = idx.Merged({kBodyTemperature}, from);
  const auto rr = idx.Merged({kRespiratoryRate}, from);
  const auto scale = in.settings.spo2_scale2 ? sc::Spo2Scale::kScale2 : sc::Spo2Scale::kScale1;
  const int64_t step_us = static_cast<int64_t>(spec.step_s * kUsPerS);
  const int64_t first = now_us - 6 * 3600 * kUsPerS;

  std::vector<TimedValue> bands;  // risk band ordinal per step, steps with any parameter only
  std::vector<sc::News2Result> results;
  // Steps are aligned to multiples of step_s so that consecutive evaluations share them.
  for (int64_t t = first - first % step_us + step_us; t <= now_us; t += step_us) {
    sc::News2Observation obs;
    obs.heart_rate_bpm = ValueAt(hr, t, spec.fresh_hr_s);
    obs.spo2_percent = ValueAt(spo2, t, spec.fresh_spo2_s);
    obs.systolic_mmhg = ValueAt(sbp, t, spec.fresh_sbp_s);
    obs.temperature_c = ValueAt(temp, t, spec.fresh_temp_s);
    obs.respiratory_rate_per_min = ValueAt(rr, t, spec.fresh_rr_s);
    if (!obs.heart_rate_bpm && !obs.spo2_percent && !obs.systolic_mmhg && !obs.temperature_c &&
        !obs.respiratory_rate_per_min)
      continue;
    obs.oxygen = in.settings.supplemental_oxygen ? sc::Oxygen::kSupplemental : sc::Oxygen::kAir;
    auto r = sc::ScoreNews2(obs, scale);
    if (!r.ok()) continue;  // an impossible value the ingest should have rejected: not evidence
    bands.push_back({t, static_cast<double>(r->risk)});
    results.push_back(*r);
  }
  if (results.empty()) {
    o.summary = "NEWS2: no fresh vital signs";
    o.partial = true;
    return o;
  }
  const SustainedParams p{.above = true,
                          .threshold = static_cast<double>(sc::News2Risk::kLow) + 0.5,
                          .hysteresis = 0,
                          .min_samples = 1,
                          .min_duration_s = spec.min_duration_s,
                          .clear_duration_s = spec.clear_duration_s,
                          .stale_after_s = spec.step_s};  // a step with nothing fresh ends it
  const SustainedVerdict v = EvaluateSustained(bands, p, now_us);
  // The episode's worst score, or the newest score when there is no episode.
  const sc::News2Result* shown = &results.back();
  if (v.had_episode) {
    for (size_t i = 0; i < results.size(); ++i) {
      if (bands[i].t_us >= v.started_us && (v.active || bands[i].t_us <= v.ended_us) &&
          results[i].score >= shown->score)
        shown = &results[i];
    }
    if (v.active) shown = &results.back();
  }
  o.active = v.active;
  o.observed_us =
      std::max({hr.empty() ? 0 : hr.back().t_us, spo2.empty() ? 0 : spo2.back().t_us, sbp.empty() ? 0 : sbp.back().t_us,
                temp.empty() ? 0 : temp.back().t_us, rr.empty() ? 0 : rr.back().t_us});
  o.condition_started_us = v.had_episode ? v.started_us : 0;
  o.condition_ended_us = v.had_episode && !v.active ? v.ended_us : 0;
  o.duration_s = v.had_episode ? static_cast<double>((v.active ? now_us : v.ended_us) - v.started_us) / 1e6 : 0;
  o.peak_value = shown->score;
  o.partial = shown->partial;
  for (auto m : shown->missing) o.missing.emplace_back(sc::News2ParameterName(m));
  if (shown->risk == sc::News2Risk::kHigh) o.priority = Priority::kHigh;
  o.summary = absl::StrCat("NEWS2 ", shown->score, " (", sc::News2RiskName(shown->risk),
                           shown->partial ? "; partial, missing " + absl::StrJoin(o.missing, ", ") : "", ")");
  return o;
}

}  // namespace healthtwin::alerts::rules
