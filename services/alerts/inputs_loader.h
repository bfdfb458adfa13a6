// Loads what the rule engine reads for one patient from PostgreSQL (rules/inputs.h), inside
// the caller's transaction. The evaluator's only SQL for rule inputs.
//
// Cost bound. The engine's lookback is 9 days (resting_hr_rise: window_days + 2), but only
// sparse types (cuff, scale, oximeter, thermometer, respiration) are read that far back as
// samples. Heart rate and pulse, which a strap sends at 1 Hz, are read as samples only over
// HeartRateLookbackUs (6 h 15 min in the shipped catalogue: NEWS2's 6 h plus heart-rate freshness), and
// resting_hr_rise reads one DailyRestingHr row per completed day instead, computed in SQL
// (percentile_disc(0.10) over the day's valid samples) and cached by the evaluator
// (RestingHrCache). So a patient-round at 1 Hz loads ~22,500 heart-rate rows, not ~780,000.
//
// Sample flags are translated, never passed through (evaluation_plan.h, EngineFlags): a
// sample is contact-lost when its device's status in force at the sample's time (the newest
// device_status_history row observed at or before it) said sensor contact "not detected".
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/alerts/rules/engine.h"
#include "services/alerts/rules/inputs.h"
#include "services/common/pg.h"

namespace healthtwin::alerts {

// Owns the data a PatientInputs views.
struct LoadedInputs {
  std::string patient_id;
  rules::PatientAlertSettings settings;
  std::vector<rules::VitalPoint> vitals;  // sorted by time
  std::vector<rules::TwinEvent> twin_events;
  std::vector<rules::DeviceStatus> devices;
  std::vector<rules::GatewayStatus> gateways;
  int quarantined_last_24h = 0;
  bool resting_hr_days_given = false;
  std::vector<rules::DailyRestingHr> resting_hr_days;

  // Valid while this object lives and is not changed.
  rules::PatientInputs View() const;
};

// Vitals of `types` from `sparse_from_us` (heart rate and pulse from `hr_from_us`) to the
// newest, with translated flags, and the patient's settings.
absl::Status LoadVitals(pqxx::work& tx, const std::string& patient_id, const std::vector<int>& types,
                        int64_t sparse_from_us, int64_t hr_from_us, LoadedInputs& out);

// Daily resting heart rate (DailyRestingHr) of the completed UTC days [first_day, last_day].
std::vector<rules::DailyRestingHr> LoadDailyRestingHr(pqxx::work& tx, const std::string& patient_id, int64_t first_day,
                                                      int64_t last_day);

// The inputs of the timer rules at wall-clock `now_us` of each of `patients` (every one has an
// entry): bound devices with their latest status and newest sample, their gateways'
// heartbeats, samples quarantined in 24 h, twin events of the last `twin_lookback_us`, and the
// settings. One query per kind of input for all of them (`patient_id = ANY($1)`), not one per
// patient: the timer round judges every patient with bound devices.
std::map<std::string, LoadedInputs> LoadTimerInputs(pqxx::work& tx, const std::vector<std::string>& patients,
                                                    int64_t now_us, int64_t twin_lookback_us);

rules::PatientAlertSettings LoadSettingsOrDefaults(pqxx::work& tx, const std::string& patient_id);

}  // namespace healthtwin::alerts
