// The alert rule catalogue: every rule's parameters as data (deploy/config/alert_rules.toml),
// loaded and validated once. A bad catalogue is InvalidArgument naming the key and the
// allowed range, e.g. "alert_rules.toml: rules.hr_high.threshold: 400 is outside 20..300".
//
// Unknown keys and unknown rule kinds are errors, so a typo never silently becomes a default.
// Immutable after loading; thread-safe to share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/alerts/observation.h"
#include "services/alerts/rules/settings.h"

namespace healthtwin::alerts::rules {

enum class RuleKind {
  kThresholdHigh,  // a vital above a threshold, sustained
  kThresholdLow,   // a vital below a threshold, sustained
  kRelativeDrop,   // a vital below the patient's own baseline by `rise`, sustained
  kWeightGain,     // body weight gain over a window of days
  kRestingHrRise,  // resting heart rate over days above the patient's own baseline
  kNews2,          // NEWS2 from the latest value of each parameter
  kTwinDrift,      // twin_events rows
  kBatteryLow,     // technical
  kContactLost,    // technical
  kDeviceSilent,   // technical
  kClockSkew,      // technical
  kGatewaySilent,  // technical
  kQuarantine,     // technical
};

struct RuleSpec {
  std::string id;  // the TOML table name, e.g. "hr_high"
  RuleKind kind = RuleKind::kThresholdHigh;
  bool enabled = true;
  AlarmCategory category = AlarmCategory::kPhysiological;
  Priority priority = Priority::kMedium;
  // Raised to high while the evidence is beyond this (threshold rules: the robust peak;
  // technical: the level). Unset: the priority never rises.
  std::optional<double> high_priority_threshold;
  std::vector<std::string> covers;
  std::vector<std::string> suppresses;

  // Threshold rules. `vital` names the input ("heart_rate" reads VitalType 1 and 10).
  std::string vital;
  double threshold = 0;
  std::optional<double> threshold_scale2;     // spo2_low on NEWS2 scale 2
  double override_min = 0, override_max = 0;  // PatientAlertSettings range
  double min_duration_s = 0;                  // data time the condition must span before it fires
  int min_samples = 1;                        // and at least this many consecutive samples beyond it
  double hysteresis = 0;                      // clears only beyond threshold -/+ hysteresis ...
  double clear_duration_s = 0;                // ... held for this long in data time
  double stale_after_s = 0;                   // the verdict holds at most this long after the last sample

  // Trend rules.
  double window_days = 0;       // weight_gain: gain window; resting_hr_rise, relative_drop: baseline days
  double rise = 0;              // kg (weight_gain), /min (resting_hr_rise), the vital's unit (relative_drop)
  double exclude_recent_s = 0;  // relative_drop: the baseline ends this long before now

  // NEWS2: a parameter's value counts while younger than its freshness window.
  double fresh_hr_s = 0, fresh_spo2_s = 0, fresh_sbp_s = 0, fresh_temp_s = 0, fresh_rr_s = 0;
  double step_s = 0;  // news2: re-scored every step_s across the lookback

  // Twin drift: the twin_events types this rule raises on.
  std::vector<std::string> event_types;

  // Technical rules: `level` is the battery % / skew s / silence multiple / count.
  double level = 0;
};

class Catalogue {
 public:
  // Parses and validates `toml`; `source_name` prefixes every error ("alert_rules.toml").
  static absl::StatusOr<Catalogue> FromToml(std::string_view toml, std::string_view source_name);

  const std::vector<RuleSpec>& rules() const { return rules_; }
  const RuleSpec* Find(std::string_view id) const;

 private:
  std::vector<RuleSpec> rules_;
};

// InvalidArgument naming the field ("threshold_overrides.hr_high: 400 is outside 60..200",
// "threshold_overrides.news2: not a threshold rule") when `settings` does not fit `catalogue`.
absl::Status ValidatePatientSettings(const PatientAlertSettings& settings, const Catalogue& catalogue);

// The threshold a rule uses for this patient: the override, else the scale-2 threshold on
// scale 2, else the catalogue's.
double EffectiveThreshold(const RuleSpec& spec, const PatientAlertSettings& settings);

}  // namespace healthtwin::alerts::rules
