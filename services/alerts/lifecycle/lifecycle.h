// The alarm lifecycle of one alert: one episode of one condition in one patient, from the
// Observations a rule emits and the actions of the people it is addressed to. Pure: no I/O,
// and the time (`now_us`, wall clock, microseconds since the Unix epoch) is always passed in,
// so every transition can be replayed and tested. The PostgreSQL store (pg_store.h) loads an
// Alert, calls one of these functions under the alert-events lock and writes back the result
// and its events.
//
// Phases: kActive (the condition holds) -> kEnded (it cleared, but the alert latched and nobody
// acknowledged it, so it stays visible; IEC 60601-1-8 latching alarm signals) ->
// kResolved (closed). A non-latched alert goes from kActive straight to kResolved when its
// condition clears. A re-trigger within Config::reopen_window_us of the end (data time)
// reopens the same alert instead of raising a new one.
//
// Every function is idempotent against redelivery: applying what the alert already records
// changes nothing and returns no event.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/alerts/lifecycle/config.h"
#include "services/alerts/observation.h"

namespace healthtwin::alerts::lifecycle {

enum class Phase : int { kActive = 1, kEnded = 2, kResolved = 3 };

// Same numbers as healthtwin.alerts.v1.AlertEvent.Kind and alert_events.kind. 1 and 2 predate
// the lifecycle (raised; updated, which old acknowledgements also used).
enum class EventKind : int {
  kRaised = 1,
  kUpdated = 2,
  kEscalated = 3,
  kAcknowledged = 4,
  kShelved = 5,
  kUnshelved = 6,
  kSuppressed = 7,
  kUnsuppressed = 8,
  kEnded = 9,
  kResolved = 10,
  kReopened = 11,
};
const char* EventKindName(EventKind kind);

inline constexpr char kSystemActor[] = "system";

struct Event {
  EventKind kind = EventKind::kUpdated;
  std::string actor = kSystemActor;  // "system" or the recipient
  int64_t at_us = 0;
  std::string reason;
  std::string detail_json = "{}";  // a small JSON object
  int tier = 0;                    // the alert's escalation tier after the event
};

struct Shelf {
  int64_t shelved_at_us = 0;
  int64_t until_us = 0;
  std::string reason;
};

struct Alert {
  std::string alert_id;  // empty until stored
  std::string patient_id;
  std::string rule_id;
  AlarmCategory category = AlarmCategory::kPhysiological;
  Priority priority = Priority::kLow;
  std::string summary;
  std::vector<std::string> covers;
  Phase phase = Phase::kActive;
  bool latched = false;
  // Data times.
  int64_t condition_started_us = 0;
  int64_t condition_ended_us = 0;  // 0 while the condition holds
  int64_t last_observed_us = 0;
  // Wall-clock times.
  int64_t raised_at_us = 0;
  int64_t resolved_at_us = 0;
  double peak_value = 0;
  std::string ucum_unit;
  double duration_s = 0;
  std::string suppressed_by;  // alert id of the alert holding this one; empty when not held
  int tier = 1;
  int64_t next_escalation_us = 0;                  // 0: no escalation pending
  std::map<std::string, int64_t> acknowledged_by;  // recipient -> when
  std::map<std::string, Shelf> shelves;            // recipient -> current shelf
};

// The healthtwin.alerts.v1.AlertState that clients written before the lifecycle understand.
int LegacyState(const Alert& alert);

// The new or changed alert and the events of the transition, in order. `alert` is the stored
// one (or the new one when `is_new`); events empty means nothing changed.
struct Transition {
  Alert alert;
  bool is_new = false;
  std::vector<Event> events;
};

// Applies a rule's verdict to the newest alert of the same patient and rule (`latest`, null
// when there is none): raises, updates, ends, reopens, or (stale or already known) leaves it.
absl::StatusOr<Transition> ApplyObservation(const Observation& obs, const Alert* latest, const Config& cfg,
                                            int64_t now_us);

// Holds `alert` behind the highest-priority active alert among `others` (same patient) whose rule
// suppresses one of its covers, or releases it when none is left. Returns the events.
std::vector<Event> UpdateSuppression(Alert& alert, const std::vector<Alert>& others, const Config& cfg, int64_t now_us);

// Acknowledgement by one recipient: does not clear the condition; stops escalation; a latched
// alert whose condition has ended resolves. Acknowledging twice is a no-op.
std::vector<Event> Acknowledge(Alert& alert, const std::string& recipient, const std::string& note, int64_t now_us);

// Shelves the alert for one recipient for `duration_us` (at most cfg.max_shelve_us), with a
// reason. The alert stays visible; escalation waits for the shelf to expire.
absl::StatusOr<std::vector<Event>> Shelve(Alert& alert, const std::string& recipient, int64_t duration_us,
                                          const std::string& reason, const Config& cfg, int64_t now_us);

// Fires what is due at `now_us`: expired shelves (unshelved) and the escalation timer. `tiers`
// are the escalation tiers present in the patient's care team (any order); the alert moves to
// the next one above its own, and stays at the last.
std::vector<Event> Tick(Alert& alert, const std::vector<int>& tiers, const Config& cfg, int64_t now_us);

}  // namespace healthtwin::alerts::lifecycle
