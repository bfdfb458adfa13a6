#include "services/alerts/lifecycle/pg_store.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/alerts/sql_arrays.h"
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

// The alert in AlertColumns() order from column `first` of `r`.
Alert FromRow(const pqxx::row& r, int first = 0) {
  Alert a;
  a.alert_id = r[first + 0].as<std::string>();
  a.patient_id = r[first + 1].as<std::string>();
  a.rule_id = r[first + 2].as<std::string>();
  a.category = static_cast<AlarmCategory>(r[first + 3].as<int>());
  a.priority = static_cast<Priority>(r[first + 4].as<int>());
  a.summary = r[first + 5].as<std::string>();
  const std::string covers = r[first + 6].as<std::string>();
  if (!covers.empty()) a.covers = absl::StrSplit(covers, ',');
  a.phase = static_cast<Phase>(r[first + 7].as<int>());
  a.latched = r[first + 8].as<bool>();
  a.condition_started_us = r[first + 9].as<int64_t>();
  a.condition_ended_us = r[first + 10].as<int64_t>();
  a.last_observed_us = r[first + 11].as<int64_t>();
  a.raised_at_us = r[first + 12].as<int64_t>();
  a.resolved_at_us = r[first + 13].as<int64_t>();
  a.peak_value = r[first + 14].as<double>();
  a.ucum_unit = r[first + 15].as<std::string>();
  a.duration_s = r[first + 16].as<double>();
  a.suppressed_by = r[first + 17].as<std::string>();
  a.tier = r[first + 18].as<int>();
  a.next_escalation_us = r[first + 19].as<int64_t>();
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

namespace {

// The alert each of `batch` would continue, as committed (ApplyLockedInTx's choice: the
// newest of its patient and rule that began by its newest input), with acknowledgements and
// current shelves, locked; by index in `batch`.
std::vector<const Alert*> LoadContinued(pqxx::work& tx, const std::vector<const Observation*>& batch,
                                        std::map<std::string, Alert>& alerts) {
  std::vector<std::string> patients, rules;
  std::vector<int64_t> observed;
  for (const Observation* o : batch) {
    patients.push_back(o->patient_id);
    rules.push_back(o->rule_id);
    observed.push_back(o->observed_us);
  }
  std::vector<std::string> found(batch.size());
  for (const auto& r :
       tx.exec_params("SELECT q.i, " + AlertColumns() +
                          " FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS q(qp, qr, qo, i)"
                          " CROSS JOIN LATERAL (SELECT * FROM alerts x WHERE x.patient_id = q.qp AND x.rule_id = q.qr"
                          "   AND x.condition_started_at <= (CASE WHEN q.qo = 0 THEN NULL ELSE"
                          "     timestamptz 'epoch' + q.qo * interval '1 microsecond' END)"
                          "   ORDER BY x.condition_started_at DESC LIMIT 1) a",
                      TextArrayLiteral(patients), TextArrayLiteral(rules), NumberArray(observed))) {
    Alert a = FromRow(r, 1);
    found[r[0].as<size_t>() - 1] = a.alert_id;
    alerts.emplace(a.alert_id, std::move(a));
  }
  std::vector<std::string> ids;
  for (const auto& [id, _] : alerts) ids.push_back(id);
  if (!ids.empty()) {
    const std::string any = TextArrayLiteral(ids);
    tx.exec_params("SELECT 1 FROM alerts WHERE alert_id = ANY($1::uuid[]) FOR UPDATE", any);
    for (const auto& r : tx.exec_params("SELECT alert_id::text, recipient, " + Us("acknowledged_at") +
                                            " FROM alert_acknowledgements WHERE alert_id = ANY($1::uuid[])",
                                        any)) {
      alerts[r[0].as<std::string>()].acknowledged_by[r[1].as<std::string>()] = r[2].as<int64_t>();
    }
    for (const auto& r :
         tx.exec_params("SELECT alert_id::text, recipient, " + Us("shelved_at") + ", " + Us("shelved_until") +
                            ", reason FROM alert_shelves WHERE alert_id = ANY($1::uuid[])"
                            " AND unshelved_at IS NULL",
                        any)) {
      alerts[r[0].as<std::string>()].shelves[r[1].as<std::string>()] =
          Shelf{.shelved_at_us = r[2].as<int64_t>(), .until_us = r[3].as<int64_t>(), .reason = r[4].as<std::string>()};
    }
  }
  std::vector<const Alert*> out(batch.size(), nullptr);
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!found[i].empty()) out[i] = &alerts.at(found[i]);
  }
  return out;
}

// Writes the alerts `ids` of `alerts` as Save's UPDATE does, in one statement.
void SaveEvidence(pqxx::work& tx, const std::map<std::string, Alert>& alerts, const std::set<std::string>& ids,
                  int64_t now_us) {
  if (ids.empty()) return;
  std::vector<std::string> id, summary, unit, covers, suppressed_by;
  std::vector<int> priority, state, phase, tier;
  std::vector<double> peak, duration;
  std::vector<bool> latched;
  std::vector<int64_t> ended, observed, resolved, next_escalation;
  for (const std::string& alert_id : ids) {
    const Alert& a = alerts.at(alert_id);
    id.push_back(a.alert_id);
    priority.push_back(static_cast<int>(a.priority));
    state.push_back(LegacyState(a));
    summary.push_back(a.summary);
    peak.push_back(a.peak_value);
    unit.push_back(a.ucum_unit);
    duration.push_back(a.duration_s);
    phase.push_back(static_cast<int>(a.phase));
    latched.push_back(a.latched);
    covers.push_back(absl::StrJoin(a.covers, ","));
    ended.push_back(a.condition_ended_us);
    observed.push_back(a.last_observed_us);
    resolved.push_back(a.resolved_at_us);
    suppressed_by.push_back(a.suppressed_by);
    tier.push_back(a.tier);
    next_escalation.push_back(a.next_escalation_us);
  }
  auto ts = [](const std::string& column) {
    return "(CASE WHEN u." + column + " = 0 THEN NULL ELSE timestamptz 'epoch' + u." + column +
           " * interval '1 microsecond' END)";
  };
  tx.exec_params(
      "UPDATE alerts a SET priority = u.priority, state = u.state, summary = u.summary, updated_at = " + Ts(1) +
          ", peak_value = u.peak, ucum_unit = u.unit, duration_s = u.duration, phase = u.phase,"
          " latched = u.latched, covers = string_to_array(u.covers, ','), ended_at = " +
          ts("ended") + ", last_observed_at = " + ts("observed") + ", resolved_at = " + ts("resolved") +
          ", suppressed_by = nullif(u.sup, '')::uuid, tier = u.tier, next_escalation_at = " + ts("next_escalation") +
          " FROM unnest($2::uuid[], $3::int[], $4::int[], $5::text[], $6::float8[], $7::text[],"
          " $8::float8[], $9::int[], $10::bool[], $11::text[], $12::bigint[], $13::bigint[],"
          " $14::bigint[], $15::text[], $16::int[], $17::bigint[]) AS u(id, priority, state, summary,"
          " peak, unit, duration, phase, latched, covers, ended, observed, resolved, sup, tier,"
          " next_escalation) WHERE a.alert_id = u.id",
      now_us, TextArrayLiteral(id), NumberArray(priority), NumberArray(state), TextArrayLiteral(summary),
      DoubleArray(peak), TextArrayLiteral(unit), DoubleArray(duration), NumberArray(phase), BoolArray(latched),
      TextArrayLiteral(covers), NumberArray(ended), NumberArray(observed), NumberArray(resolved),
      TextArrayLiteral(suppressed_by), NumberArray(tier), NumberArray(next_escalation));
}

}  // namespace

PgLifecycleStore::BatchResult PgLifecycleStore::ApplyBatchLockedInTx(
    pqxx::work& tx, const std::vector<const Observation*>& batch) const {
  BatchResult out;
  if (batch.empty()) return out;
  const int64_t now_us = clock_.NowUs();
  std::map<std::string, Alert> alerts;  // alert id -> as committed, then as the batch left it
  const std::vector<const Alert*> continued = LoadContinued(tx, batch, alerts);
  std::set<std::string> pending;              // alert ids whose evidence changed, not yet written
  std::set<std::string> one_by_one_patients;  // patients with a transition in this batch
  for (size_t i = 0; i < batch.size(); ++i) {
    const Observation& obs = *batch[i];
    if (!one_by_one_patients.contains(obs.patient_id)) {
      const Alert* before = continued[i];
      auto t = ApplyObservation(obs, before, cfg_, now_us);
      if (!t.ok()) {
        out.refused.emplace_back(i, t.status());
        continue;
      }
      // ApplyLockedInTx's "nothing to write".
      if (t->events.empty() &&
          (before == nullptr || t->is_new || t->alert.last_observed_us == before->last_observed_us)) {
        continue;
      }
      if (t->events.empty()) {
        alerts[before->alert_id] = std::move(t->alert);  // `before` now points at the new evidence
        pending.insert(before->alert_id);
        continue;
      }
      // A transition: from here on this patient's verdicts go one by one, on what is stored.
      one_by_one_patients.insert(obs.patient_id);
      std::set<std::string> mine;
      for (const std::string& id : pending) {
        if (alerts.at(id).patient_id == obs.patient_id) mine.insert(id);
      }
      SaveEvidence(tx, alerts, mine, now_us);
      for (const std::string& id : mine) pending.erase(id);
    }
    ++out.one_by_one;
    auto n = ApplyLockedInTx(tx, obs);
    if (!n.ok()) {
      out.refused.emplace_back(i, n.status());
    } else {
      out.appended += *n;
    }
  }
  out.evidence_updates = static_cast<int>(pending.size());
  SaveEvidence(tx, alerts, pending, now_us);
  return out;
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
