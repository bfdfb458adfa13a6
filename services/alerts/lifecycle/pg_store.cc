#include "services/alerts/lifecycle/pg_store.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/logging.h"

namespace healthtwin::alerts {

void LockAlertEvents(pqxx::work& tx) { tx.exec("SELECT pg_advisory_xact_lock(7468657274)"); }

}  // namespace healthtwin::alerts

namespace healthtwin::alerts::lifecycle {
namespace {

// SQL for "microseconds since the epoch in parameter $n as timestamptz, NULL for 0".
std::string Ts(int n) {
  const std::string p = "$" + std::to_string(n) + "::bigint";
  return "(CASE WHEN " + p + " = 0 THEN NULL ELSE timestamptz 'epoch' + " + p + " * interval '1 microsecond' END)";
}
std::string Us(const std::string& column) {
  return "coalesce((extract(epoch FROM " + column + ") * 1000000)::bigint, 0)";
}

const std::string& AlertColumns() {
  static const std::string kColumns =
      "alert_id::text, patient_id, rule_id, category, priority, summary, array_to_string(covers, ','), phase, "
      "latched, " +
      Us("condition_started_at") + ", " + Us("ended_at") + ", " + Us("last_observed_at") + ", " + Us("raised_at") +
      ", " + Us("resolved_at") + ", peak_value, ucum_unit, duration_s, coalesce(suppressed_by::text, ''), tier, " +
      Us("next_escalation_at");
  return kColumns;
}

Alert FromRow(const pqxx::row& r) {
  Alert a;
  a.alert_id = r[0].as<std::string>();
  a.patient_id = r[1].as<std::string>();
  a.rule_id = r[2].as<std::string>();
  a.category = static_cast<AlarmCategory>(r[3].as<int>());
  a.priority = static_cast<Priority>(r[4].as<int>());
  a.summary = r[5].as<std::string>();
  const std::string covers = r[6].as<std::string>();
  if (!covers.empty()) a.covers = absl::StrSplit(covers, ',');
  a.phase = static_cast<Phase>(r[7].as<int>());
  a.latched = r[8].as<bool>();
  a.condition_started_us = r[9].as<int64_t>();
  a.condition_ended_us = r[10].as<int64_t>();
  a.last_observed_us = r[11].as<int64_t>();
  a.raised_at_us = r[12].as<int64_t>();
  a.resolved_at_us = r[13].as<int64_t>();
  a.peak_value = r[14].as<double>();
  a.ucum_unit = r[15].as<std::string>();
  a.duration_s = r[16].as<double>();
  a.suppressed_by = r[17].as<std::string>();
  a.tier = r[18].as<int>();
  a.next_escalation_us = r[19].as<int64_t>();
  return a;
}

void LoadRecipients(pqxx::work& tx, Alert& a) {
  for (const auto& r : tx.exec_params(
           "SELECT recipient, " + Us("acknowledged_at") + " FROM alert_acknowledgements WHERE alert_id = $1::uuid",
           a.alert_id)) {
    a.acknowledged_by[r[0].as<std::string>()] = r[1].as<int64_t>();
  }
  for (const auto& r : tx.exec_params("SELECT recipient, " + Us("shelved_at") + ", " + Us("shelved_until") +
                                          ", reason FROM alert_shelves WHERE alert_id = $1::uuid"
                                          " AND unshelved_at IS NULL",
                                      a.alert_id)) {
    a.shelves[r[0].as<std::string>()] =
        Shelf{.shelved_at_us = r[1].as<int64_t>(), .until_us = r[2].as<int64_t>(), .reason = r[3].as<std::string>()};
  }
}

// The alerts matching `where` (with parameters `args`), locked, with their recipients.
template <typename... Args>
std::vector<Alert> LoadWhere(pqxx::work& tx, const std::string& where, const Args&... args) {
  auto rows = tx.exec_params("SELECT " + AlertColumns() + " FROM alerts WHERE " + where + " FOR UPDATE", args...);
  std::vector<Alert> out;
  for (const auto& r : rows) {
    out.push_back(FromRow(r));
    LoadRecipients(tx, out.back());
  }
  return out;
}

// Writes `after` (inserting it when it has no id yet; the id is filled in) and `events`.
// Returns false when the insert met an existing episode (nothing written).
bool Save(pqxx::work& tx, const Alert* before, Alert& after, const std::vector<Event>& events, int64_t now_us) {
  const std::string covers = absl::StrJoin(after.covers, ",");
  const int state = LegacyState(after);
  if (after.alert_id.empty()) {
    auto r = tx.exec_params(
        "INSERT INTO alerts (patient_id, rule_id, priority, state, summary, condition_started_at, raised_at,"
        " updated_at, peak_value, ucum_unit, duration_s, category, phase, latched, covers, ended_at,"
        " last_observed_at, resolved_at, tier, next_escalation_at) VALUES ($1, $2, $3, $4, $5, " +
            Ts(6) + ", " + Ts(7) + ", " + Ts(7) + ", $8, $9, $10, $11, $12, $13, string_to_array($14, ','), " + Ts(15) +
            ", " + Ts(16) + ", " + Ts(17) + ", $18, " + Ts(19) +
            ") ON CONFLICT (patient_id, rule_id, condition_started_at) DO NOTHING RETURNING alert_id::text",
        after.patient_id, after.rule_id, static_cast<int>(after.priority), state, after.summary,
        after.condition_started_us, after.raised_at_us, after.peak_value, after.ucum_unit, after.duration_s,
        static_cast<int>(after.category), static_cast<int>(after.phase), after.latched, covers,
        after.condition_ended_us, after.last_observed_us, after.resolved_at_us, after.tier, after.next_escalation_us);
    if (r.empty()) return false;
    after.alert_id = r[0][0].as<std::string>();
  } else {
    tx.exec_params("UPDATE alerts SET priority = $2, state = $3, summary = $4, updated_at = " + Ts(5) +
                       ", peak_value = $6, ucum_unit = $7, duration_s = $8, phase = $9, latched = $10,"
                       " covers = string_to_array($11, ','), ended_at = " +
                       Ts(12) + ", last_observed_at = " + Ts(13) + ", resolved_at = " + Ts(14) +
                       ", suppressed_by = nullif($15, '')::uuid, tier = $16, next_escalation_at = " + Ts(17) +
                       " WHERE alert_id = $1::uuid",
                   after.alert_id, static_cast<int>(after.priority), state, after.summary, now_us, after.peak_value,
                   after.ucum_unit, after.duration_s, static_cast<int>(after.phase), after.latched, covers,
                   after.condition_ended_us, after.last_observed_us, after.resolved_at_us, after.suppressed_by,
                   after.tier, after.next_escalation_us);
  }
  // Shelves: new or changed ones are written, vanished ones have expired.
  for (const auto& [recipient, shelf] : after.shelves) {
    const Shelf* old = nullptr;
    if (before != nullptr) {
      auto it = before->shelves.find(recipient);
      if (it != before->shelves.end()) old = &it->second;
    }
    if (old != nullptr && old->until_us == shelf.until_us && old->reason == shelf.reason) continue;
    tx.exec_params(
        "INSERT INTO alert_shelves (alert_id, recipient, shelved_at, shelved_until, reason)"
        " VALUES ($1::uuid, $2, " +
            Ts(3) + ", " + Ts(4) +
            ", $5) ON CONFLICT (alert_id, recipient) DO UPDATE SET shelved_at = EXCLUDED.shelved_at,"
            " shelved_until = EXCLUDED.shelved_until, reason = EXCLUDED.reason, unshelved_at = NULL",
        after.alert_id, recipient, shelf.shelved_at_us, shelf.until_us, shelf.reason);
  }
  if (before != nullptr) {
    for (const auto& [recipient, shelf] : before->shelves) {
      if (after.shelves.contains(recipient)) continue;
      tx.exec_params("UPDATE alert_shelves SET unshelved_at = " + Ts(3) +
                         " WHERE alert_id = $1::uuid AND recipient = $2 AND unshelved_at IS NULL",
                     after.alert_id, recipient, now_us);
    }
  }
  for (const Event& e : events) {
    tx.exec_params(
        "INSERT INTO alert_events (alert_id, kind, created_at, actor, reason, detail, tier)"
        " VALUES ($1::uuid, $2, " +
            Ts(3) + ", $4, $5, $6::jsonb, $7)",
        after.alert_id, static_cast<int>(e.kind), e.at_us, e.actor, e.reason, e.detail_json, e.tier);
  }
  if (!events.empty()) {
    tx.exec("SELECT pg_notify('alerts_new', '')");
    // The alert id and the transition only: the patient and the evidence are PHI.
    for (const Event& e : events) {
      // "alerts.raised" (the line operators and the slice test look for), "alerts.escalated", ...
      common::LogInfo(std::string("alerts.") + EventKindName(e.kind),
                      {{"alert_id", after.alert_id}, {"rule", after.rule_id}});
    }
  }
  return true;
}

}  // namespace

std::optional<Alert> LoadAlertForUpdate(pqxx::work& tx, const std::string& alert_id) {
  auto found = LoadWhere(tx, "alert_id = $1::uuid", alert_id);
  if (found.empty()) return std::nullopt;
  return std::move(found[0]);
}

absl::StatusOr<int> PgLifecycleStore::ApplyInTx(pqxx::work& tx, const Observation& obs) const {
  LockAlertEvents(tx);
  return ApplyLockedInTx(tx, obs);
}

absl::StatusOr<int> PgLifecycleStore::ApplyLockedInTx(pqxx::work& tx, const Observation& obs) const {
  const int64_t now_us = clock_.NowUs();
  // The newest alert of this rule in this patient that began by the verdict's newest input: the
  // one a verdict can continue. (An episode whose data arrives after a later one was alerted is
  // judged against the alert before it, not made stale by the later one.)
  auto latest = LoadWhere(tx,
                          "alert_id = (SELECT alert_id FROM alerts WHERE patient_id = $1 AND rule_id = $2"
                          " AND condition_started_at <= " +
                              Ts(3) + " ORDER BY condition_started_at DESC LIMIT 1)",
                          obs.patient_id, obs.rule_id, obs.observed_us);
  const Alert* before = latest.empty() ? nullptr : &latest[0];
  auto t = ApplyObservation(obs, before, cfg_, now_us);
  if (!t.ok()) return t.status();
  if (t->events.empty() && (before == nullptr || t->is_new || t->alert.last_observed_us == before->last_observed_us)) {
    return 0;
  }
  // Evidence (duration, last observation) is kept current even when no event is due.
  if (!Save(tx, t->is_new ? nullptr : before, t->alert, t->events, now_us)) return 0;
  int appended = static_cast<int>(t->events.size());
  if (!t->events.empty() && !cfg_.suppresses.empty()) appended += Resuppress(tx, obs.patient_id, now_us);
  return appended;
}

absl::StatusOr<int> PgLifecycleStore::Apply(const Observation& obs) const {
  absl::StatusOr<int> result = 0;
  auto s = pool_.WithTransaction("apply observation", [&](pqxx::work& tx) { result = ApplyInTx(tx, obs); });
  if (!s.ok()) return s;
  return result;
}

int PgLifecycleStore::Resuppress(pqxx::work& tx, const std::string& patient_id, int64_t now_us) const {
  auto open = LoadWhere(tx, "patient_id = $1 AND phase <> 3 ORDER BY priority DESC, raised_at", patient_id);
  int appended = 0;
  for (std::size_t i = 0; i < open.size(); ++i) {
    const Alert before = open[i];
    auto events = UpdateSuppression(open[i], open, cfg_, now_us);
    if (events.empty()) continue;
    Save(tx, &before, open[i], events, now_us);
    appended += static_cast<int>(events.size());
  }
  return appended;
}

absl::Status PgLifecycleStore::AcknowledgeInTx(pqxx::work& tx, const std::string& alert_id,
                                               const std::string& recipient, const std::string& note,
                                               const std::string& relayed_by) const {
  LockAlertEvents(tx);
  auto alert = LoadAlertForUpdate(tx, alert_id);
  if (!alert) return absl::NotFoundError("alert_id: no such alert");
  const Alert before = *alert;
  const int64_t now_us = clock_.NowUs();
  auto events = Acknowledge(*alert, recipient, note, now_us);
  if (events.empty()) return absl::OkStatus();
  tx.exec_params(
      "INSERT INTO alert_acknowledgements (alert_id, recipient, acknowledged_at, note, relayed_by)"
      " VALUES ($1::uuid, $2, " +
          Ts(3) + ", $4, $5) ON CONFLICT DO NOTHING",
      alert_id, recipient, now_us, note, relayed_by);
  Save(tx, &before, *alert, events, now_us);
  if (alert->phase == Phase::kResolved && !cfg_.suppresses.empty()) Resuppress(tx, alert->patient_id, now_us);
  return absl::OkStatus();
}

absl::Status PgLifecycleStore::ShelveInTx(pqxx::work& tx, const std::string& alert_id, const std::string& recipient,
                                          int64_t duration_us, const std::string& reason) const {
  LockAlertEvents(tx);
  auto alert = LoadAlertForUpdate(tx, alert_id);
  if (!alert) return absl::NotFoundError("alert_id: no such alert");
  const Alert before = *alert;
  const int64_t now_us = clock_.NowUs();
  auto events = Shelve(*alert, recipient, duration_us, reason, cfg_, now_us);
  if (!events.ok()) return events.status();
  Save(tx, &before, *alert, *events, now_us);
  return absl::OkStatus();
}

absl::StatusOr<int> PgLifecycleStore::FireDue(int limit) const {
  int appended = 0;
  auto s = pool_.WithTransaction("fire alert timers", [&](pqxx::work& tx) {
    appended = 0;
    LockAlertEvents(tx);
    const int64_t now_us = clock_.NowUs();
    auto due = tx.exec_params("SELECT alert_id::text FROM alerts WHERE next_escalation_at <= " + Ts(1) +
                                  " UNION SELECT alert_id::text FROM alert_shelves WHERE unshelved_at IS NULL"
                                  " AND shelved_until <= " +
                                  Ts(1) + " LIMIT $2",
                              now_us, limit);
    for (const auto& row : due) {
      auto alert = LoadAlertForUpdate(tx, row[0].as<std::string>());
      if (!alert) continue;
      std::vector<int> tiers;
      for (const auto& t :
           tx.exec_params("SELECT DISTINCT tier FROM care_team WHERE patient_id = $1", alert->patient_id)) {
        tiers.push_back(t[0].as<int>());
      }
      const Alert before = *alert;
      auto events = Tick(*alert, tiers, cfg_, now_us);
      // A timer that found nothing to do (acknowledged, last tier) is cleared all the same.
      if (events.empty() && alert->next_escalation_us == before.next_escalation_us) continue;
      Save(tx, &before, *alert, events, now_us);
      appended += static_cast<int>(events.size());
    }
  });
  if (!s.ok()) return s;
  return appended;
}

}  // namespace healthtwin::alerts::lifecycle
