#include "services/alerts/evaluation_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/alerts/rules/inputs.h"
#include "services/alerts/rules/physio_rules.h"
#include "services/alerts/rules/vital_index.h"

namespace healthtwin::alerts {
namespace {

bool IsHeartRate(int type) { return type == rules::kHeartRate || type == rules::kPulseRate; }

// The types one rule reads.
std::vector<int> TypesOf(const rules::RuleSpec& r) {
  switch (r.kind) {
    case rules::RuleKind::kThresholdHigh:
    case rules::RuleKind::kThresholdLow:
    case rules::RuleKind::kRelativeDrop:
      return rules::VitalTypesOf(r.vital);
    case rules::RuleKind::kWeightGain:
      return {rules::kBodyWeight};
    case rules::RuleKind::kRestingHrRise:
      return {rules::kHeartRate, rules::kPulseRate};
    case rules::RuleKind::kNews2:
      return {rules::kHeartRate,  rules::kPulseRate,       rules::kSpo2,
              rules::kSystolicBp, rules::kBodyTemperature, rules::kRespiratoryRate};
    default:
      return {};
  }
}

}  // namespace

bool JudgedAtDataInstants(rules::RuleKind kind) {
  switch (kind) {
    case rules::RuleKind::kThresholdHigh:
    case rules::RuleKind::kThresholdLow:
    case rules::RuleKind::kRelativeDrop:
    case rules::RuleKind::kWeightGain:
    case rules::RuleKind::kRestingHrRise:
    case rules::RuleKind::kNews2:
      return true;
    default:
      return false;
  }
}

std::set<int> VitalTypesRead(const rules::Catalogue& catalogue) {
  std::set<int> types;
  for (const rules::RuleSpec& r : catalogue.rules()) {
    if (!r.enabled) continue;
    for (int t : TypesOf(r)) types.insert(t);
  }
  return types;
}

int64_t HeartRateLookbackUs(const rules::Catalogue& catalogue) {
  int64_t lookback = 0;
  for (const rules::RuleSpec& r : catalogue.rules()) {
    if (!r.enabled || r.kind == rules::RuleKind::kRestingHrRise) continue;
    const auto types = TypesOf(r);
    if (std::none_of(types.begin(), types.end(), IsHeartRate)) continue;
    // NEWS2 scores the last 6 h (news2_rule.cc) with heart rates at most fresh_hr_s old; its
    // RuleLookbackUs is longer for the slower parameters' freshness.
    const int64_t rule_us = r.kind == rules::RuleKind::kNews2 ? static_cast<int64_t>((6 * 3600 + r.fresh_hr_s) * 1e6)
                                                              : rules::RuleLookbackUs(r);
    lookback = std::max(lookback, rule_us);
  }
  return lookback;
}

absl::Status CheckInstantSpacing(const rules::Catalogue& catalogue) {
  for (const rules::RuleSpec& r : catalogue.rules()) {
    if (!r.enabled || r.kind == rules::RuleKind::kRestingHrRise || r.kind == rules::RuleKind::kWeightGain) continue;
    const auto types = TypesOf(r);
    if (std::none_of(types.begin(), types.end(), IsHeartRate)) continue;
    const double shortest_s = std::min(r.min_duration_s, r.clear_duration_s);
    if (shortest_s * 1e6 < static_cast<double>(kHeartRateInstantStepUs)) {
      return absl::FailedPreconditionError(
          absl::StrCat("rules.", r.id, ": min(min_duration_s, clear_duration_s) = ", shortest_s,
                       " s is shorter than the evaluator's heart-rate instant step (",
                       kHeartRateInstantStepUs / 1'000'000, " s), so an episode could fall between two instants"));
    }
  }
  return absl::OkStatus();
}

std::vector<int64_t> EvaluationInstants(const std::vector<SampleTime>& samples, int64_t from_us) {
  std::vector<int64_t> out;
  int64_t last_hr = 0;
  bool any_hr = false;
  for (const SampleTime& s : samples) {
    if (s.t_us < from_us) continue;
    if (!IsHeartRate(s.vital_type)) {
      out.push_back(s.t_us);
    } else if (!any_hr || s.t_us - last_hr >= kHeartRateInstantStepUs) {
      out.push_back(s.t_us);
      last_hr = s.t_us;
      any_hr = true;
    }
  }
  if (!samples.empty() && samples.back().t_us >= from_us) out.push_back(samples.back().t_us);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

uint32_t EngineFlags(uint32_t /*stored_flags*/, bool contact_lost_at_sample) {
  return contact_lost_at_sample ? rules::kFlagSensorContactLost : 0u;
}

}  // namespace healthtwin::alerts
