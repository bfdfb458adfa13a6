#include "services/alerts/evaluator.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "services/common/logging.h"
#include "services/common/pg_listener.h"

namespace healthtwin::alerts {
namespace {

constexpr int kHeartRateType = 1;

// Applies `obs`; a verdict the lifecycle refuses is a bug in this file, logged and skipped so
// the other patients' alerts still go out.
void Apply(const lifecycle::PgLifecycleStore& store, pqxx::work& tx, const Observation& obs) {
  if (auto n = store.ApplyInTx(tx, obs); !n.ok()) {
    common::LogError("alerts.observation_refused", {{"rule", obs.rule_id}, {"error", n.status().message()}});
  }
}

}  // namespace

const lifecycle::Clock& SystemClock() {
  static const lifecycle::SystemClock kClock;
  return kClock;
}

Observation HrObservation(const std::string& patient_id, const HrEpisode& e, bool ongoing, const HrRuleConfig& cfg) {
  Observation o;
  o.patient_id = patient_id;
  o.rule_id = kHrRuleId;
  o.category = AlarmCategory::kPhysiological;
  o.priority = Priority::kHigh;
  o.active = ongoing;
  o.condition_started_us = e.start_us;
  o.condition_ended_us = ongoing ? 0 : e.end_us;
  o.observed_us = e.end_us;
  o.peak_value = e.peak_bpm;
  o.ucum_unit = "/min";
  o.duration_s = e.duration_s();
  char buf[160];
  std::snprintf(buf, sizeof buf, "Heart rate above %.0f /min for %.0f s (peak %.0f /min)", cfg.threshold_bpm,
                e.duration_s(), e.peak_bpm);
  o.summary = buf;
  o.covers = {"heart_rate"};
  return o;
}

Evaluator::Evaluator(common::PgPool& pool, std::string conninfo, HrRuleConfig cfg, lifecycle::Config lifecycle,
                     const lifecycle::Clock& clock)
    : pool_(pool),
      conninfo_(std::move(conninfo)),
      cfg_(cfg),
      store_(pool, std::move(lifecycle), clock) {}

Evaluator::~Evaluator() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Evaluator::Start() {
  thread_ = std::thread([this] { Loop(); });
}

absl::StatusOr<int> Evaluator::RunOnce() {
  int looked_at = 0;
  auto status = pool_.WithTransaction("evaluate new vitals", [&](pqxx::work& tx) {
    looked_at = 0;
    tx.exec("INSERT INTO consumer_cursors (consumer, last_seq) VALUES ('alerts', 0) ON CONFLICT DO NOTHING");
    // FOR UPDATE: two alerts replicas take turns instead of evaluating the same rows at once.
    const int64_t cursor =
        tx.exec("SELECT last_seq FROM consumer_cursors WHERE consumer = 'alerts' FOR UPDATE")[0][0].as<int64_t>();
    gaps_.BeforeRead(tx);
    auto rows = tx.exec_params(
        "SELECT ingest_seq, patient_id, vital_type, (extract(epoch FROM measured_at) * 1000000)::bigint"
        " FROM vitals WHERE ingest_seq > $1 ORDER BY ingest_seq LIMIT 5000",
        cursor);
    if (rows.empty()) return;

    // Every row is evaluated, also those behind an unsettled gap (evaluation is idempotent); the
    // cursor moves only as far as the gap tracker allows.
    std::vector<int64_t> seqs;
    seqs.reserve(rows.size());
    std::map<std::string, std::pair<int64_t, int64_t>> hr_span_us;  // patient -> oldest, newest new heart rate
    for (const auto& row : rows) {
      seqs.push_back(row[0].as<int64_t>());
      if (row[2].as<int>() == kHeartRateType) {
        const int64_t t = row[3].as<int64_t>();
        auto [span, inserted] = hr_span_us.try_emplace(row[1].as<std::string>(), t, t);
        span->second.first = std::min(span->second.first, t);
        span->second.second = std::max(span->second.second, t);
      }
    }
    const int64_t advance_to = gaps_.AfterRead(tx, cursor, seqs);
    looked_at = static_cast<int>(std::upper_bound(seqs.begin(), seqs.end(), advance_to) - seqs.begin());

    for (const auto& [patient, span] : hr_span_us) {
      // Every run the new rows touch: from the last normal reading before the oldest new heart
      // rate (where the run in progress then began) to the newest. Not only the run in progress
      // at the newest row: when rows arrive together after an outage (of this service, of
      // PostgreSQL or of the uplink), a whole episode and the normal readings after it can be
      // new in one round.
      const auto [from_us, until_us] = span;
      auto pts = tx.exec_params(
          "SELECT (extract(epoch FROM measured_at) * 1000000)::bigint, value FROM vitals"
          " WHERE patient_id = $1 AND vital_type = $2"
          "   AND measured_at > coalesce((SELECT max(measured_at) FROM vitals WHERE patient_id = $1"
          "        AND vital_type = $2 AND value <= $3"
          "        AND measured_at < timestamptz 'epoch' + $4::bigint * interval '1 microsecond'),"
          "       '-infinity')"
          "   AND measured_at <= timestamptz 'epoch' + $5::bigint * interval '1 microsecond'"
          " ORDER BY measured_at LIMIT 100000",
          patient, kHeartRateType, cfg_.threshold_bpm, from_us, until_us);
      std::vector<HrPoint> points;
      points.reserve(pts.size());
      for (const auto& p : pts) points.push_back({p[0].as<int64_t>(), p[1].as<double>()});
      // The run that holds the newest reading is still going on; every other one has ended.
      for (const auto& e : FindSustainedHighHeartRate(points, cfg_)) {
        Apply(store_, tx, HrObservation(patient, e, e.end_us == points.back().measured_at_us, cfg_));
      }
    }
    tx.exec_params("UPDATE consumer_cursors SET last_seq = $1, updated_at = now() WHERE consumer = 'alerts'",
                   advance_to);
  });
  if (!status.ok()) return status;
  return looked_at;
}

absl::StatusOr<int> Evaluator::RunTechnicalOnce() {
  int taken = 0;
  auto status = pool_.WithTransaction("raise technical alerts", [&](pqxx::work& tx) {
    taken = 0;
    // One row per alert to raise: a foreign gateway names its patient; a full quarantine is
    // raised to every patient the bridge is a gateway for (none: the event is only marked).
    auto rows = tx.exec(
        "WITH pending AS ("
        "  SELECT id, kind, patient_id, device_id, bridge_id, sample_count, created_at FROM technical_events"
        "  WHERE alerted_at IS NULL ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED)"
        " SELECT p.id, p.kind, coalesce(p.patient_id, d.patient_id), p.device_id, p.bridge_id, p.sample_count,"
        "  (extract(epoch FROM date_trunc(CASE WHEN p.kind = 'foreign_gateway' THEN 'hour' ELSE 'day' END,"
        "                                 p.created_at)) * 1000000)::bigint"
        " FROM pending p"
        " LEFT JOIN device_gateways g ON p.kind = 'quarantine_full' AND g.bridge_id = p.bridge_id"
        " LEFT JOIN devices d ON d.device_id = g.device_id AND d.patient_id IS NOT NULL"
        " ORDER BY p.id");
    std::set<int64_t> events;
    for (const auto& row : rows) {
      events.insert(row[0].as<int64_t>());
      if (row[2].is_null()) continue;
      const bool foreign = row[1].as<std::string>() == "foreign_gateway";
      // A one-shot event: an inactive verdict for its hour or day, which the lifecycle raises
      // and ends at once; these rules latch (lifecycle::DefaultConfig), so the alert stays
      // visible until acknowledged. The bucket is the episode's identity (deduplication).
      Observation o;
      o.patient_id = row[2].as<std::string>();
      o.rule_id = foreign ? kForeignGatewayRuleId : kQuarantineFullRuleId;
      o.category = AlarmCategory::kTechnical;
      o.priority = foreign ? Priority::kMedium : Priority::kLow;
      o.active = false;
      o.condition_started_us = o.condition_ended_us = o.observed_us = row[6].as<int64_t>();
      o.peak_value = row[5].as<int>();
      o.ucum_unit = "{readings}";
      o.summary = foreign
                      ? "Readings of device " + row[3].as<std::string>() + " came from gateway " +
                            row[4].as<std::string>() + ", which is not bound to it; they were quarantined, not charted"
                      : "Gateway " + row[4].as<std::string>() +
                            " refuses readings of devices not enrolled for its patients (its quarantine is full); a"
                            " device in use may need binding";
      Apply(store_, tx, o);
    }
    for (int64_t id : events) tx.exec_params("UPDATE technical_events SET alerted_at = now() WHERE id = $1", id);
    taken = static_cast<int>(events.size());
  });
  if (!status.ok()) return status;
  return taken;
}

void Evaluator::Loop() {
  using namespace std::chrono_literals;
  common::PgListener listener(conninfo_, "vitals_new");
  while (!stop_) {
    if (auto technical = RunTechnicalOnce(); !technical.ok()) {
      common::LogWarn("alerts.technical_failed", {{"error", technical.status().message()}});
    }
    auto consumed = RunOnce();
    if (!consumed.ok()) {
      common::LogWarn("alerts.evaluate_failed", {{"error", consumed.status().message()}});
      std::this_thread::sleep_for(500ms);
      continue;
    }
    if (*consumed > 0) continue;  // more may be waiting
    // Wake on NOTIFY, or after 500 ms to retry young gaps and survive a lost notification.
    listener.Wait(500ms);
  }
}

}  // namespace healthtwin::alerts
