// What a rule says about one patient at one moment: the contract between the rules
// (services/alerts/rules, which read vitals, device status and twin events) and the alarm
// lifecycle (services/alerts/lifecycle, which turns verdicts into episodes, events,
// escalations and notifications). Rules are stateless over the history they are given, so a
// verdict can be computed again after a restart and give the same answer; the lifecycle
// keeps the state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace healthtwin::alerts {

// Same numbers as healthtwin.alerts.v1.Priority.
enum class Priority : int { kLow = 1, kMedium = 2, kHigh = 3 };

// IEC 60601-1-8 keeps technical alarm conditions (the equipment) apart from physiological
// ones (the patient).
enum class AlarmCategory : int { kPhysiological = 1, kTechnical = 2 };

struct Observation {
  std::string patient_id;
  std::string rule_id;  // stable, e.g. "hr_high"
  AlarmCategory category = AlarmCategory::kPhysiological;
  // The priority now; it may rise (or fall) while the condition continues.
  Priority priority = Priority::kLow;
  // Whether the condition holds at observed_us, after the rule's delay and hysteresis: a rule
  // reports active = false only once its clearing condition is met.
  bool active = false;
  // Data time (microseconds since the Unix epoch) the condition began; for an inactive
  // verdict, when the last episode began (0 when there was none in the history).
  int64_t condition_started_us = 0;
  // Data time the condition cleared (inactive verdicts with an episode in the history).
  int64_t condition_ended_us = 0;
  // Data time of the newest input the verdict rests on.
  int64_t observed_us = 0;
  // Evidence: the extreme value in the canonical unit of the rule's input.
  double peak_value = 0;
  std::string ucum_unit;
  double duration_s = 0;
  // One line for a clinician, e.g. "Heart rate above 120 /min for 6 min (peak 142 /min)".
  std::string summary;
  // NEWS2 and other aggregates: the score is a lower bound when inputs were missing.
  bool partial = false;
  std::vector<std::string> missing;
  // The physiology the rule covers ("heart_rate", "spo2", "news2", ...). A higher-priority
  // open alert of the same patient whose rule suppresses one of these holds this one.
  std::vector<std::string> covers;
};

}  // namespace healthtwin::alerts
