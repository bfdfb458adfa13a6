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
// at or before t, if that newest one is no older than fresh_s. Lowers *oldest_read to the
// oldest sample it read.
std::optional<double> ValueAt(std::span<const TimedValue> s, int64_t t, double fresh_s, int64_t* oldest_read) {
  auto end = std::upper_bound(s.begin(), s.end(), t, [](int64_t x, const TimedValue& v) { return x < v.t_us; });
  if (end == s.begin()) return std::nullopt;
  const int64_t newest = (end - 1)->t_us;
  if (static_cast<double>(t - newest) / 1e6 > fresh_s) return std::nullopt;
  std::vector<double> vals;
  auto it = end;
  for (; it != s.begin() && newest - (it - 1)->t_us <= kSmoothingUs && vals.size() < 301; --it) {
    vals.push_back((it - 1)->value);
  }
  *oldest_read = std::min(*oldest_read, it->t_us);
  std::nth_element(vals.begin(), vals.begin() + vals.size() / 2, vals.end());
  return vals[vals.size() / 2];
}

struct Series5 {
  std::span<const TimedValue> hr, spo2, sbp, temp, rr;
};

// The score at step t over the window read from from_us.
News2Step ScoreStep(const RuleSpec& spec, const PatientInputs& in, const Series5& x, int64_t t, int64_t from_us) {
  News2Step step{.from_us = from_us, .oldest_read_us = INT64_MAX, .result = std::nullopt};
  sc::News2Observation obs;
  obs.heart_rate_bpm = ValueAt(x.hr, t, spec.fresh_hr_s, &step.oldest_read_us);
  obs.spo2_percent = ValueAt(x.spo2, t, spec.fresh_spo2_s, &step.oldest_read_us);
  obs.systolic_mmhg = ValueAt(x.sbp, t, spec.fresh_sbp_s, &step.oldest_read_us);
  obs.temperature_c = ValueAt(x.temp, t, spec.fresh_temp_s, &step.oldest_read_us);
  obs.respiratory_rate_per_min = ValueAt(x.rr, t, spec.fresh_rr_s, &step.oldest_read_us);
  if (!obs.heart_rate_bpm && !obs.spo2_percent && !obs.systolic_mmhg && !obs.temperature_c &&
      !obs.respiratory_rate_per_min)
    return step;
  obs.oxygen = in.settings.supplemental_oxygen ? sc::Oxygen::kSupplemental : sc::Oxygen::kAir;
  auto r = sc::ScoreNews2(obs, in.settings.spo2_scale2 ? sc::Spo2Scale::kScale2 : sc::Spo2Scale::kScale1);
  if (r.ok()) step.result = *std::move(r);  // else an impossible value the ingest should have rejected: not evidence
  return step;
}

}  // namespace

Observation EvaluateNews2(const RuleSpec& spec, const PatientInputs& in, const VitalIndex& idx, int64_t now_us,
                          PatientTrackers* trackers) {
  Observation o = BaseObservation(spec, in.patient_id);
  o.ucum_unit = "{score}";
  const int64_t from = now_us - RuleLookbackUs(spec);
  const Series5 x{.hr = idx.Merged({kHeartRate, kPulseRate}, from),
                  .spo2 = idx.Merged({kSpo2}, from),
                  .sbp = idx.Merged({kSystolicBp}, from),
                  .temp = idx.Merged({kBodyTemperature}, from),
                  .rr = idx.Merged({kRespiratoryRate}, from)};
  const int64_t step_us = static_cast<int64_t>(spec.step_s * kUsPerS);
  const int64_t first = now_us - 6 * 3600 * kUsPerS;
  const int64_t first_step = first - first % step_us + step_us;

  // Steps kept from earlier instants (patient_trackers.h), under the settings they were scored with.
  News2Steps* kept = trackers != nullptr ? &trackers->News2Of(spec.id) : nullptr;
  if (kept != nullptr) {
    if (kept->spo2_scale2 != in.settings.spo2_scale2 || kept->supplemental_oxygen != in.settings.supplemental_oxygen) {
      kept->by_time.clear();
      kept->spo2_scale2 = in.settings.spo2_scale2;
      kept->supplemental_oxygen = in.settings.supplemental_oxygen;
    }
    kept->by_time.erase(kept->by_time.begin(), kept->by_time.lower_bound(first_step));
  }
  std::vector<News2Step> computed;  // the steps scored here without `kept`
  computed.reserve(static_cast<size_t>(std::max<int64_t>(0, (now_us - first_step) / step_us + 1)));
  std::vector<TimedValue> bands;  // risk band ordinal per step, steps with any parameter only
  std::vector<const sc::News2Result*> results;
  // Steps are aligned to multiples of step_s so that consecutive evaluations share them.
  for (int64_t t = first_step; t <= now_us; t += step_us) {
    const News2Step* step = nullptr;
    if (kept != nullptr) {
      auto it = kept->by_time.find(t);
      // A step read the same samples when it did not read back to either window start.
      const bool same = it != kept->by_time.end() && from >= it->second.from_us && it->second.oldest_read_us >= from;
      if (!same) it = kept->by_time.insert_or_assign(t, ScoreStep(spec, in, x, t, from)).first;
      step = &it->second;
    } else {
      step = &computed.emplace_back(ScoreStep(spec, in, x, t, from));
    }
    if (!step->result) continue;
    bands.push_back({t, static_cast<double>(step->result->risk)});
    results.push_back(&*step->result);
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
  const sc::News2Result* shown = results.back();
  if (v.had_episode) {
    for (size_t i = 0; i < results.size(); ++i) {
      if (bands[i].t_us >= v.started_us && (v.active || bands[i].t_us <= v.ended_us) &&
          results[i]->score >= shown->score)
        shown = results[i];
    }
    if (v.active) shown = results.back();
  }
  o.active = v.active;
  const auto newest = [](std::span<const TimedValue> s) { return s.empty() ? int64_t{0} : s.back().t_us; };
  o.observed_us = std::max({newest(x.hr), newest(x.spo2), newest(x.sbp), newest(x.temp), newest(x.rr)});
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
