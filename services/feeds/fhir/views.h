// What the FHIR resource builders read: plain structs mirroring our rows (vitals; alerts joined
// with alert_events), so the feed service and the clinician API's FHIR read endpoints fill them
// from their own queries. No database, gRPC or HTTP types.
#pragma once

#include <cstdint>
#include <string>

#include "services/alerts/lifecycle/lifecycle.h"
#include "services/common/vital_type.h"

namespace healthtwin::feeds::fhir {

// One row of the vitals table. ingest_seq is the row's identity (resource ids derive from it).
struct VitalSample {
  int64_t ingest_seq = 0;
  std::string patient_id;
  std::string device_id;
  common::VitalType type = common::VitalType::kUnspecified;
  double value = 0;
  std::string ucum_unit;
  int64_t measured_at_us = 0;  // data time, microseconds since the Unix epoch
};

// One alert_events row with its alert (migrations 0002, 0009).
struct AlertEvent {
  int64_t event_seq = 0;
  std::string alert_id;  // stable over every transition of the alert
  alerts::lifecycle::EventKind kind = alerts::lifecycle::EventKind::kRaised;
  std::string actor;  // "system" or the care-team member
  int64_t event_at_us = 0;
  std::string patient_id;
  std::string rule_id;
  int priority = 1;  // healthtwin.alerts.v1.Priority: 1 low, 2 medium, 3 high
  int category = 1;  // 1 physiological, 2 technical
  int phase = 1;     // alerts.state: 1 active, 2 ended, 3 resolved
  std::string summary;
  double peak_value = 0;
  std::string ucum_unit;
  // The first physiology the rule covers ("heart_rate", "news2", ...), or "".
  std::string covers;
};

}  // namespace healthtwin::feeds::fhir
