// The IHE PCD alarm status of an alert after one of its events: how the alarm lifecycle
// (services/alerts/lifecycle/lifecycle.h) maps onto MDC_ATTR_EVENT_PHASE,
// MDC_ATTR_ALARM_STATE and MDC_ATTR_ALARM_INACTIVATION_STATE. Pure; the feed service calls it
// with what it read of the alert row as of the event, and copies the result into an
// AlertEventView.
#pragma once

#include "services/feeds/hl7/views.h"

namespace healthtwin::feeds::hl7 {

// The lifecycle's Phase (alerts.phase): the condition holds; it cleared but the latched alert
// waits for an acknowledgement; closed.
using LifecyclePhase = alerts::lifecycle::Phase;

struct AlarmStatus {
  EventPhase phase = EventPhase::kStart;
  AlarmState state = AlarmState::kActive;
  InactivationState inactivation = InactivationState::kEnabled;
};

// - phase: "start" for the event that raised the alert, "end" for the one that resolved it,
//   "continue" for everything in between (a reopen continues the same alert, whose start the
//   receiver already has).
// - state: active while the condition holds, latched once it ended but the alert stays
//   visible (IEC 60601-1-8 latching), inactive when resolved.
// - inactivation: audio-paused while any recipient's shelf runs (a shelf silences, it does
//   not acknowledge), else alert-acknowledged once anyone acknowledged, else enabled.
AlarmStatus StatusAfter(AlertEventKind kind, LifecyclePhase phase, bool any_acknowledgement, bool any_active_shelf);

}  // namespace healthtwin::feeds::hl7
