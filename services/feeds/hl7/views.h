// What the HL7 encoder reads: plain structs that mirror, field for field, what the feed
// service reads from PostgreSQL (alerts + alert_events, vitals) and what
// healthtwin.alerts.v1.AlertEvent / healthtwin.vitals.v1.Sample carry. The library does not
// depend on generated protobuf code or on the alerts service's code (only on the lifecycle's
// event kinds); the feed service fills these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "services/alerts/lifecycle/lifecycle.h"
#include "services/common/vital_type.h"

namespace healthtwin::feeds::hl7 {

// The alert event kinds are the lifecycle's own (the numbers of
// healthtwin.alerts.v1.AlertEvent.Kind and alert_events.kind), not a copy of them.
using AlertEventKind = alerts::lifecycle::EventKind;

// Same numbers as healthtwin.alerts.v1.Priority.
enum class AlertPriority : int { kLow = 1, kMedium = 2, kHigh = 3 };

// IEC 60601-1-8: physiological (the patient) or technical (the equipment).
enum class AlertCategory : int { kPhysiological = 1, kTechnical = 2 };

// MDC_ATTR_EVENT_PHASE: the first message of an alert is "start", its last "end".
enum class EventPhase : int { kStart = 1, kContinue = 2, kEnd = 3 };

// MDC_ATTR_ALARM_STATE. kLatched: the condition has ended but the alert stays visible until
// acknowledged (lifecycle phase kEnded).
enum class AlarmState : int { kActive = 1, kInactive = 2, kLatched = 3 };

// MDC_ATTR_ALARM_INACTIVATION_STATE. A shelf (a recipient silencing the alert for a stated
// time) is sent as audio-paused.
enum class InactivationState : int { kEnabled = 1, kAcknowledged = 2, kAudioPaused = 3 };

// The observation that triggered the alert, in the canonical unit of the rule's input.
struct TriggerObservation {
  // The physiology the rule reads: a healthtwin vital type name ("heart_rate", "spo2", ...)
  // is sent with its MDC code; anything else ("news2", "battery") with a local code.
  std::string type;
  double value = 0;
  std::string ucum_unit;
  int64_t observed_at_us = 0;  // data time, microseconds since the Unix epoch
};

// One row of alert_events joined with its alert.
struct AlertEventView {
  std::string alert_id;  // stable over every transition of the alert
  int64_t event_seq = 0;
  AlertEventKind kind = AlertEventKind::kRaised;
  std::string actor;        // "system" or the recipient
  int64_t event_at_us = 0;  // wall clock of the transition
  std::string patient_id;
  std::string rule_id;
  AlertPriority priority = AlertPriority::kLow;
  AlertCategory category = AlertCategory::kPhysiological;
  std::string text;  // the alert's one-line summary
  EventPhase phase = EventPhase::kStart;
  AlarmState alarm_state = AlarmState::kActive;
  InactivationState inactivation = InactivationState::kEnabled;
  std::optional<TriggerObservation> trigger;
  // NEWS2 and other aggregates: the score is a lower bound because inputs were missing.
  bool partial = false;
};

// One row of the vitals table.
struct VitalSampleView {
  std::string patient_id;
  std::string device_id;
  common::VitalType type = common::VitalType::kUnspecified;
  double value = 0;
  std::string ucum_unit;
  int64_t measured_at_us = 0;
};

// The per-feed identity placed in MSH (from the feed's configuration).
struct FeedIdentity {
  std::string sending_application = "HEALTHTWIN";
  std::string sending_facility;
  std::string receiving_application;
  std::string receiving_facility;
  // Enhanced acknowledgement mode: MSH-15 "AL" (always send a commit ACK) and MSH-16 "NE"
  // (no application ACK), so the receiver answers CA/CE/CR. Off: original mode, AA/AE/AR.
  bool enhanced_ack = false;
  std::string processing_id = "P";  // MSH-11: P production, D debugging, T training
};

// What makes one message: the feed, its control id and its time.
struct MessageContext {
  FeedIdentity identity;
  // MSH-10, stable per outbox row so that a resend carries the same id: 1..199 characters
  // of [A-Za-z0-9._-].
  std::string control_id;
  int64_t created_at_us = 0;  // MSH-7
};

}  // namespace healthtwin::feeds::hl7
