// The alarm-burden measurement: runs the rule engine over a simulated cohort the way the
// evaluator would (every `every_min` simulated minutes), models the lifecycle minimally (one
// episode per rule per patient while its verdict is active; a re-trigger within 30 min of
// the end is the same episode) and scores the alerts against the injected ground truth.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "services/alerts/bench/simulator.h"
#include "services/alerts/rules/engine.h"

namespace healthtwin::alerts::bench {

struct BurdenResult {
  int patients = 0, days = 0;
  int episodes = 0, episodes_detected = 0;
  std::map<std::string, int> episodes_by_type, detected_by_type;
  std::map<std::string, double> median_delay_min_by_type;  // first alert after episode start
  int physiological_alerts = 0, physiological_true = 0;
  int technical_alerts = 0, technical_true = 0;
  std::map<std::string, int> alerts_by_rule, false_alerts_by_rule;
  int motion_spikes = 0, error_frames = 0, contact_lost_samples = 0;
  // One line per missed episode: patient, type, start, and the vitals of its type inside it.
  std::vector<std::string> missed;
  double sensitivity() const { return episodes ? static_cast<double>(episodes_detected) / episodes : 0; }
  double ppv() const {
    const int all = physiological_alerts + technical_alerts;
    return all ? static_cast<double>(physiological_true + technical_true) / all : 0;
  }
  double physiological_ppv() const {
    return physiological_alerts ? static_cast<double>(physiological_true) / physiological_alerts : 0;
  }
  double physiological_per_patient_day() const {
    return patients > 0 && days > 0 ? static_cast<double>(physiological_alerts) / (patients * days) : 0;
  }
};

// An alert belongs to an episode when raised between its start and 6 h after its end.
inline constexpr int64_t kAttributionGraceUs = 6LL * 3600 * 1'000'000;

BurdenResult RunBurden(const SimConfig& cfg, const rules::RuleEngine& engine, int every_min);

}  // namespace healthtwin::alerts::bench
