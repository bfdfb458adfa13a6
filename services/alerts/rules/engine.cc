#include "services/alerts/rules/engine.h"

#include <algorithm>

#include "services/alerts/rules/physio_rules.h"
#include "services/alerts/rules/technical_rules.h"

namespace healthtwin::alerts::rules {

absl::StatusOr<RuleEngine> RuleEngine::FromToml(std::string_view toml, std::string_view source_name) {
  auto cat = Catalogue::FromToml(toml, source_name);
  if (!cat.ok()) return cat.status();
  return RuleEngine(*std::move(cat));
}

RuleEngine::RuleEngine(Catalogue catalogue) : catalogue_(std::move(catalogue)) {
  for (const RuleSpec& r : catalogue_.rules()) lookback_us_ = std::max(lookback_us_, RuleLookbackUs(r));
}

std::vector<Observation> RuleEngine::Evaluate(const PatientInputs& in, int64_t now_us) const {
  return Evaluate(in, now_us, nullptr);
}

std::vector<Observation> RuleEngine::Evaluate(const PatientInputs& in, int64_t now_us,
                                              bool (*include)(RuleKind)) const {
  // Only the window the rules read, up to now: the index then costs what the rules need,
  // whatever the caller passed (an evaluator re-judging an earlier instant passes later rows too).
  auto first = std::lower_bound(in.vitals.begin(), in.vitals.end(), now_us - lookback_us_,
                                [](const VitalPoint& v, int64_t t) { return v.measured_us < t; });
  auto last = std::upper_bound(first, in.vitals.end(), now_us,
                               [](int64_t t, const VitalPoint& v) { return t < v.measured_us; });
  const PreparedVitals prepared(
      in.vitals.subspan(static_cast<size_t>(first - in.vitals.begin()), static_cast<size_t>(last - first)));
  return Evaluate(in, prepared, now_us, include);
}

std::vector<Observation> RuleEngine::Evaluate(const PatientInputs& in, const PreparedVitals& prepared, int64_t now_us,
                                              bool (*include)(RuleKind), PatientTrackers* trackers) const {
  // The window the rules read, up to now.
  const VitalIndex idx(prepared, now_us - lookback_us_, now_us);
  std::vector<Observation> out;
  for (const RuleSpec& r : catalogue_.rules()) {
    if (!r.enabled || (include != nullptr && !include(r.kind))) continue;
    switch (r.kind) {
      case RuleKind::kThresholdHigh:
      case RuleKind::kThresholdLow:
        out.push_back(EvaluateThreshold(r, in, idx, now_us, trackers));
        break;
      case RuleKind::kRelativeDrop:
        out.push_back(EvaluateRelativeDrop(r, in, idx, now_us));
        break;
      case RuleKind::kWeightGain:
        out.push_back(EvaluateWeightGain(r, in, idx, now_us));
        break;
      case RuleKind::kRestingHrRise:
        out.push_back(EvaluateRestingHrRise(r, in, idx, now_us));
        break;
      case RuleKind::kNews2:
        out.push_back(EvaluateNews2(r, in, idx, now_us, trackers));
        break;
      case RuleKind::kTwinDrift:
        out.push_back(EvaluateTwinDrift(r, in, now_us));
        break;
      default:
        out.push_back(EvaluateTechnical(r, in, now_us));
        break;
    }
  }
  return out;
}

std::map<std::string, std::vector<std::string>> RuleEngine::SuppressionTable() const {
  std::map<std::string, std::vector<std::string>> t;
  for (const RuleSpec& r : catalogue_.rules()) {
    if (!r.suppresses.empty()) t[r.id] = r.suppresses;
  }
  return t;
}

}  // namespace healthtwin::alerts::rules
