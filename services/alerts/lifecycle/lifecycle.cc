#include "services/alerts/lifecycle/lifecycle.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace healthtwin::alerts::lifecycle {
namespace {

// healthtwin.alerts.v1.AlertState numbers.
constexpr int kStateOpen = 1;
constexpr int kStateAcknowledged = 2;
constexpr int kStateEscalated = 3;
constexpr int kStateResolved = 4;
constexpr int kStateLatched = 5;
constexpr int kStateSuppressed = 6;

Event Make(const Alert& a, EventKind kind, int64_t now_us, std::string reason, const nlohmann::json& detail = {},
           std::string actor = kSystemActor) {
  return Event{.kind = kind,
               .actor = std::move(actor),
               .at_us = now_us,
               .reason = std::move(reason),
               .detail_json = detail.is_null() ? "{}" : detail.dump(),
               .tier = a.tier};
}

bool Latches(const Observation& obs, const Config& cfg) {
  return obs.priority == Priority::kHigh || cfg.latching_rules.contains(obs.rule_id);
}

void ArmEscalation(Alert& a, const Config& cfg, int64_t now_us) {
  a.next_escalation_us = a.acknowledged_by.empty() ? now_us + cfg.EscalationDelayUs(a.priority) : 0;
}

void Resolve(Alert& a, int64_t now_us, std::string reason, std::vector<Event>& out) {
  a.phase = Phase::kResolved;
  a.resolved_at_us = now_us;
  a.next_escalation_us = 0;
  a.suppressed_by.clear();
  out.push_back(Make(a, EventKind::kResolved, now_us, std::move(reason)));
}

// The condition cleared at data time `ended_us`.
void End(Alert& a, int64_t ended_us, int64_t now_us, std::vector<Event>& out) {
  a.condition_ended_us = ended_us;
  a.phase = Phase::kEnded;
  out.push_back(Make(a, EventKind::kEnded, now_us, "condition cleared", {{"condition_ended_us", ended_us}}));
  if (!a.latched) {
    Resolve(a, now_us, "condition cleared and the alert does not latch", out);
  } else if (!a.acknowledged_by.empty()) {
    Resolve(a, now_us, "condition cleared and already acknowledged", out);
  }
}

// Evidence that does not by itself make an event: last observation, duration, summary.
void TakeEvidence(Alert& a, const Observation& obs) {
  a.last_observed_us = std::max(a.last_observed_us, obs.observed_us);
  a.duration_s = obs.duration_s;
  if (!obs.summary.empty()) a.summary = obs.summary;
  if (!obs.covers.empty()) a.covers = obs.covers;
}

// Priority or peak moved: an `updated` event. Duration alone grows with every reading and is
// kept current silently, or every evaluation round would notify.
void Update(Alert& a, const Observation& obs, const Config& cfg, int64_t now_us, std::vector<Event>& out) {
  const Priority before = a.priority;
  const double peak_before = a.peak_value;
  a.priority = obs.priority;
  a.peak_value = obs.peak_value;
  if (!obs.ucum_unit.empty()) a.ucum_unit = obs.ucum_unit;
  if (Latches(obs, cfg)) a.latched = true;
  TakeEvidence(a, obs);
  if (before == a.priority && peak_before == a.peak_value) return;
  if (a.priority != before && a.next_escalation_us != 0) {
    a.next_escalation_us = std::min(a.next_escalation_us, now_us + cfg.EscalationDelayUs(a.priority));
  }
  out.push_back(Make(a, EventKind::kUpdated, now_us, a.priority != before ? "priority changed" : "new peak",
                     {{"priority_from", static_cast<int>(before)},
                      {"priority_to", static_cast<int>(a.priority)},
                      {"peak_from", peak_before},
                      {"peak_to", a.peak_value}}));
}

Alert Raise(const Observation& obs, const Config& cfg, int64_t now_us) {
  Alert a;
  a.patient_id = obs.patient_id;
  a.rule_id = obs.rule_id;
  a.category = obs.category;
  a.priority = obs.priority;
  a.summary = obs.summary;
  a.covers = obs.covers;
  a.latched = Latches(obs, cfg);
  a.condition_started_us = obs.condition_started_us;
  a.last_observed_us = obs.observed_us;
  a.raised_at_us = now_us;
  a.peak_value = obs.peak_value;
  a.ucum_unit = obs.ucum_unit;
  a.duration_s = obs.duration_s;
  ArmEscalation(a, cfg, now_us);
  return a;
}

// A new alert from `obs`, ended at once when the episode is already over.
Transition RaiseNew(const Observation& obs, const Config& cfg, int64_t ended_us, int64_t now_us) {
  Transition t{.alert = Raise(obs, cfg, now_us), .is_new = true, .events = {}};
  t.events.push_back(Make(t.alert, EventKind::kRaised, now_us, obs.summary,
                          {{"priority", static_cast<int>(obs.priority)}, {"peak_value", obs.peak_value}}));
  if (!obs.active) End(t.alert, ended_us, now_us, t.events);
  return t;
}

absl::Status Validate(const Observation& obs) {
  if (obs.patient_id.empty()) return absl::InvalidArgumentError("patient_id: required");
  if (obs.rule_id.empty()) return absl::InvalidArgumentError("rule_id: required");
  if (obs.priority < Priority::kLow || obs.priority > Priority::kHigh) {
    return absl::InvalidArgumentError("priority: unknown value");
  }
  if (obs.observed_us <= 0) return absl::InvalidArgumentError("observed_us: required");
  if (obs.active && obs.condition_started_us == 0) {
    return absl::InvalidArgumentError("condition_started_us: required for an active observation");
  }
  return absl::OkStatus();
}

}  // namespace

const char* EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kRaised:
      return "raised";
    case EventKind::kUpdated:
      return "updated";
    case EventKind::kEscalated:
      return "escalated";
    case EventKind::kAcknowledged:
      return "acknowledged";
    case EventKind::kShelved:
      return "shelved";
    case EventKind::kUnshelved:
      return "unshelved";
    case EventKind::kSuppressed:
      return "suppressed";
    case EventKind::kUnsuppressed:
      return "unsuppressed";
    case EventKind::kEnded:
      return "ended";
    case EventKind::kResolved:
      return "resolved";
    case EventKind::kReopened:
      return "reopened";
  }
  return "unknown";
}

int LegacyState(const Alert& a) {
  if (a.phase == Phase::kResolved) return kStateResolved;
  if (!a.suppressed_by.empty()) return kStateSuppressed;
  if (!a.acknowledged_by.empty()) return kStateAcknowledged;
  if (a.phase == Phase::kEnded) return kStateLatched;
  if (a.tier > 1) return kStateEscalated;
  return kStateOpen;
}

absl::StatusOr<Transition> ApplyObservation(const Observation& obs, const Alert* latest, const Config& cfg,
                                            int64_t now_us) {
  if (auto s = Validate(obs); !s.ok()) return s;
  Transition t;
  const int64_t ended_us = obs.condition_ended_us != 0 ? obs.condition_ended_us : obs.observed_us;
  // An inactive verdict without an episode in its history says nothing about any alert.
  const bool has_episode = obs.active || obs.condition_started_us != 0;
  if (latest == nullptr) {
    if (!has_episode) return t;
    return RaiseNew(obs, cfg, ended_us, now_us);
  }
  t.alert = *latest;
  Alert& a = t.alert;
  // Older than what the alert already rests on: a redelivery or a re-evaluation of old data.
  if (obs.observed_us < a.last_observed_us || !has_episode) return t;
  // An active verdict on data no newer than what ended the alert: a re-evaluation of part of
  // that data (the rule saw the run but not yet the reading that ended it), not a re-trigger.
  if (a.phase != Phase::kActive && obs.active && obs.observed_us <= a.last_observed_us) return t;

  if (a.phase == Phase::kActive) {
    Update(a, obs, cfg, now_us, t.events);
    if (!obs.active) End(a, ended_us, now_us, t.events);
    return t;
  }
  // The alert's condition had ended. A verdict about an occurrence that began after that end
  // is a re-trigger; one that began before it is about the alert's own episode.
  const bool new_occurrence = obs.condition_started_us > a.condition_ended_us;
  if (new_occurrence && obs.condition_started_us - a.condition_ended_us > cfg.reopen_window_us) {
    return RaiseNew(obs, cfg, ended_us, now_us);
  }
  if (!new_occurrence && !obs.active) {
    TakeEvidence(a, obs);  // the same ended episode again: nothing to tell anyone
    return t;
  }
  const int64_t gap_us = obs.condition_started_us - a.condition_ended_us;
  const bool was_resolved = a.phase == Phase::kResolved;
  a.phase = Phase::kActive;
  a.condition_ended_us = 0;
  a.resolved_at_us = 0;
  // The recipients who acknowledged this episode need not hear of it again; if nobody had,
  // escalation restarts (a latched, unacknowledged alert kept its timer).
  if (was_resolved && a.acknowledged_by.empty()) ArmEscalation(a, cfg, now_us);
  t.events.push_back(Make(a, EventKind::kReopened, now_us,
                          new_occurrence ? "re-triggered within the reopen window" : "condition present again",
                          {{"gap_s", static_cast<double>(std::max<int64_t>(gap_us, 0)) / 1e6}}));
  Update(a, obs, cfg, now_us, t.events);
  if (!obs.active) End(a, ended_us, now_us, t.events);
  return t;
}

std::vector<Event> UpdateSuppression(Alert& a, const std::vector<Alert>& others, const Config& cfg, int64_t now_us) {
  std::vector<Event> out;
  if (a.phase == Phase::kResolved) return out;
  const Alert* by = nullptr;
  if (a.phase == Phase::kActive) {
    for (const Alert& o : others) {
      if (o.alert_id == a.alert_id || o.patient_id != a.patient_id || o.phase != Phase::kActive ||
          !o.suppressed_by.empty() || o.priority <= a.priority) {
        continue;
      }
      auto rule = cfg.suppresses.find(o.rule_id);
      if (rule == cfg.suppresses.end()) continue;
      const bool covered =
          std::any_of(a.covers.begin(), a.covers.end(), [&](const std::string& c) { return rule->second.contains(c); });
      if (!covered) continue;
      if (by == nullptr || o.priority > by->priority ||
          (o.priority == by->priority && o.raised_at_us < by->raised_at_us)) {
        by = &o;
      }
    }
  }
  if (by != nullptr) {
    if (a.suppressed_by == by->alert_id) return out;
    a.suppressed_by = by->alert_id;
    a.next_escalation_us = 0;  // held alerts call nobody
    out.push_back(Make(a, EventKind::kSuppressed, now_us, "held by a higher-priority alert of " + by->rule_id,
                       {{"suppressed_by", by->alert_id}, {"suppressor_rule", by->rule_id}}));
    return out;
  }
  if (a.suppressed_by.empty()) return out;
  const std::string was = a.suppressed_by;
  a.suppressed_by.clear();
  if (a.acknowledged_by.empty()) ArmEscalation(a, cfg, now_us);
  out.push_back(
      Make(a, EventKind::kUnsuppressed, now_us, "the suppressing alert is no longer active", {{"suppressed_by", was}}));
  return out;
}

std::vector<Event> Acknowledge(Alert& a, const std::string& recipient, const std::string& note, int64_t now_us) {
  std::vector<Event> out;
  if (!a.acknowledged_by.try_emplace(recipient, now_us).second) return out;
  a.next_escalation_us = 0;
  out.push_back(Make(a, EventKind::kAcknowledged, now_us, note, {{"recipient", recipient}}, recipient));
  if (a.phase == Phase::kEnded) Resolve(a, now_us, "latched alert acknowledged after its condition cleared", out);
  return out;
}

absl::StatusOr<std::vector<Event>> Shelve(Alert& a, const std::string& recipient, int64_t duration_us,
                                          const std::string& reason, const Config& cfg, int64_t now_us) {
  if (recipient.empty()) return absl::InvalidArgumentError("recipient: required");
  if (duration_us <= 0) return absl::InvalidArgumentError("duration: must be positive");
  if (duration_us > cfg.max_shelve_us) {
    return absl::InvalidArgumentError(absl::StrCat("duration: at most ", cfg.max_shelve_us / 1'000'000,
                                                   " s (asked for ", duration_us / 1'000'000, " s)"));
  }
  if (reason.empty()) return absl::InvalidArgumentError("reason: required");
  if (a.phase == Phase::kResolved) return absl::FailedPreconditionError("alert_id: the alert is resolved");
  Shelf& shelf = a.shelves[recipient];
  shelf = Shelf{.shelved_at_us = now_us, .until_us = now_us + duration_us, .reason = reason};
  if (a.next_escalation_us != 0) a.next_escalation_us = std::max(a.next_escalation_us, shelf.until_us);
  return std::vector<Event>{Make(a, EventKind::kShelved, now_us, reason,
                                 {{"recipient", recipient},
                                  {"shelved_until_us", shelf.until_us},
                                  {"duration_s", static_cast<double>(duration_us) / 1e6}},
                                 recipient)};
}

std::vector<Event> Tick(Alert& a, const std::vector<int>& tiers, const Config& cfg, int64_t now_us) {
  std::vector<Event> out;
  for (auto it = a.shelves.begin(); it != a.shelves.end();) {
    if (it->second.until_us > now_us) {
      ++it;
      continue;
    }
    out.push_back(Make(a, EventKind::kUnshelved, now_us, "shelf expired",
                       {{"recipient", it->first}, {"shelved_until_us", it->second.until_us}}));
    it = a.shelves.erase(it);
  }
  if (a.next_escalation_us == 0 || a.next_escalation_us > now_us) return out;
  if (a.phase == Phase::kResolved || !a.acknowledged_by.empty() || !a.suppressed_by.empty()) {
    a.next_escalation_us = 0;
    return out;
  }
  int next = 0;
  for (int t : tiers) {
    if (t > a.tier && (next == 0 || t < next)) next = t;
  }
  if (next == 0) {  // the last tier keeps the alert
    a.next_escalation_us = 0;
    return out;
  }
  const int from = a.tier;
  a.tier = next;
  const bool more = std::any_of(tiers.begin(), tiers.end(), [&](int t) { return t > next; });
  a.next_escalation_us = more ? now_us + cfg.EscalationDelayUs(a.priority) : 0;
  out.push_back(
      Make(a, EventKind::kEscalated, now_us,
           absl::StrCat("unacknowledged for ", cfg.EscalationDelayUs(a.priority) / 1'000'000, " s at tier ", from),
           {{"tier_from", from}, {"tier_to", next}}));
  return out;
}

}  // namespace healthtwin::alerts::lifecycle
