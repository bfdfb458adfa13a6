// The physiological rules over vitals: sustained thresholds, heart-failure weight gain,
// rising resting heart rate, NEWS2. Each is a pure function of the rule's spec, the
// patient's inputs and `now`, returning that rule's verdict (active or not). What each rule
// ignores, and why, is written beside it and in deploy/config/alert_rules.toml.
#pragma once

#include <cstdint>

#include "services/alerts/observation.h"
#include "services/alerts/rules/catalogue.h"
#include "services/alerts/rules/inputs.h"
#include "services/alerts/rules/patient_trackers.h"
#include "services/alerts/rules/vital_index.h"

namespace healthtwin::alerts::rules {

// The verdict's skeleton: ids, category, configured priority and covers.
Observation BaseObservation(const RuleSpec& spec, const std::string& patient_id);

// How far back each rule reads.
int64_t RuleLookbackUs(const RuleSpec& spec);

// threshold_high / threshold_low: per device, EvaluateSustained (sustained.h); the patient's
// condition is active when any device's is (started at the earliest), else the latest ended
// episode. Devices are judged apart so that one device's artefact never joins another's run.
// With `trackers`, each device's series is judged by its SustainedTracker (the same verdict).
Observation EvaluateThreshold(const RuleSpec& spec, const PatientInputs& in, const VitalIndex& idx, int64_t now_us,
                              PatientTrackers* trackers = nullptr);

// relative_drop: the baseline is the median of the vital's valid samples from window_days
// before now up to exclude_recent_s before now (at least 6 of them); the condition is the
// vital below baseline - rise, judged like a threshold_low rule (EvaluateSustained).
Observation EvaluateRelativeDrop(const RuleSpec& spec, const PatientInputs& in, const VitalIndex& idx, int64_t now_us);

// weight_gain: the newest weighing minus the lowest weighing of the preceding window_days
// (plus 6 h, as daily weighings drift in time of day) exceeds `rise` kg. Active over the
// consecutive weighings that exceed it; holds at most stale_after_s after the newest weighing.
Observation EvaluateWeightGain(const RuleSpec& spec, const PatientInputs& in, const VitalIndex& idx, int64_t now_us);

// resting_hr_rise: resting heart rate of a data-time (UTC) day = 10th percentile of its valid
// heart-rate samples (at least 30). The last complete day against the median of the
// window_days complete days before it (at least 3 of them with data).
Observation EvaluateRestingHrRise(const RuleSpec& spec, const PatientInputs& in, const VitalIndex& idx, int64_t now_us);

// news2: see news2_rule.cc.
Observation EvaluateNews2(const RuleSpec& spec, const PatientInputs& in, const VitalIndex& idx, int64_t now_us,
                          PatientTrackers* trackers = nullptr);

}  // namespace healthtwin::alerts::rules
