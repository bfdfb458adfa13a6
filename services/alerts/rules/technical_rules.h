// Technical rules over device and gateway status (AlarmCategory::kTechnical), and the twin
// drift rule over twin_events. One Observation per rule per patient: when several devices
// meet a condition the summary names them all and the priority is the worst.
#pragma once

#include <cstdint>

#include "services/alerts/observation.h"
#include "services/alerts/rules/catalogue.h"
#include "services/alerts/rules/inputs.h"

namespace healthtwin::alerts::rules {

// battery_low: a device reports battery <= level %; high priority at <= high_priority_threshold.
// contact_lost: a device's sensor has been out of contact for min_duration_s.
// device_silent: a device with an expected cadence has sent nothing for
//   max(min_duration_s, level x expected_interval_s).
// clock_skew: |device clock - gateway clock| > level s (data time of its samples is wrong).
// gateway_silent: no gateway heartbeat for min_duration_s (every device of the patient is
//   then unheard; it suppresses device_silent and contact_lost).
// quarantine: more than `level` samples quarantined by the ingest in the last 24 h.
Observation EvaluateTechnical(const RuleSpec& spec, const PatientInputs& in, int64_t now_us);

// twin_drift: active while an open twin event of one of event_types (detected at or before
// now, not ended) exists; started at the earliest open event's started_at; peak = largest
// magnitude. Ended events give the last episode's bounds.
Observation EvaluateTwinDrift(const RuleSpec& spec, const PatientInputs& in, int64_t now_us);

}  // namespace healthtwin::alerts::rules
