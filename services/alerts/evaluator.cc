#include "services/alerts/evaluator.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "services/alerts/evaluation_plan.h"
#include "services/common/logging.h"
#include "services/common/pg_listener.h"

namespace healthtwin::alerts {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;
// Completed days' resting heart rates change only when late rows land on them; the cache is
// refreshed at least this often all the same (another replica may have consumed those rows).
constexpr int64_t kRestingHrCacheTtlUs = 10LL * 60 * 1'000'000;

std::vector<int> Sorted(const std::set<int>& s) { return {s.begin(), s.end()}; }

const rules::RuleEngine& CheckedEngine(const rules::RuleEngine& engine) {
  if (auto s = CheckInstantSpacing(engine.catalogue()); !s.ok()) {
    common::LogError("alerts.bad_rule_catalogue", {{"error", std::string(s.message())}});
    std::abort();  // main.cc refuses such a catalogue first: this cannot happen
  }
  return engine;
}

}  // namespace

const lifecycle::Clock& SystemClock() {
  static const lifecycle::SystemClock kClock;
  return kClock;
}

lifecycle::Config LifecycleConfigFor(const rules::RuleEngine& engine) {
  lifecycle::Config cfg = lifecycle::DefaultConfig();
  cfg.suppresses.clear();
  for (const auto& [rule, covers] : engine.SuppressionTable()) cfg.suppresses[rule] = {covers.begin(), covers.end()};
  return cfg;
}

Evaluator::Evaluator(common::PgPool& pool, std::string conninfo, const rules::RuleEngine& engine,
                     lifecycle::Config lifecycle, const lifecycle::Clock& clock)
    : pool_(pool),
      conninfo_(std::move(conninfo)),
      engine_(CheckedEngine(engine)),
      types_read_(Sorted(VitalTypesRead(engine.catalogue()))),
      hr_lookback_us_(HeartRateLookbackUs(engine.catalogue())),
      store_(pool, std::move(lifecycle), clock),
      clock_(clock) {}

Evaluator::~Evaluator() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Evaluator::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Evaluator::ApplyAll(pqxx::work& tx, const std::vector<Observation>& observations) {
  if (observations.empty()) return;
  LockAlertEvents(tx);
  for (const Observation& obs : observations) {
    // A verdict the lifecycle refuses is a bug in the rules, logged and skipped so the other
    // verdicts still go out.
    if (auto n = store_.ApplyLockedInTx(tx, obs); !n.ok()) {
      common::LogError("alerts.observation_refused", {{"rule", obs.rule_id}, {"error", n.status().message()}});
    }
  }
}

const std::vector<rules::DailyRestingHr>& Evaluator::RestingHrDays(pqxx::work& tx, const std::string& patient,
                                                                   int64_t today, bool completed_day_changed) {
  const int64_t now_us = clock_.NowUs();
  RestingHrEntry& e = resting_hr_[patient];
  if (e.today != today || completed_day_changed || now_us - e.loaded_at_us > kRestingHrCacheTtlUs) {
    const int64_t first_day = (today * kDayUs - engine_.lookback_us()) / kDayUs - 1;
    e.days = LoadDailyRestingHr(tx, patient, first_day, today - 1);
    e.today = today;
    e.loaded_at_us = now_us;
  }
  return e.days;
}

void Evaluator::EvaluatePatient(pqxx::work& tx, const std::string& patient, int64_t oldest_new_us,
                                const std::vector<int64_t>& new_times_us, std::vector<Observation>& out,
                                RoundStats& stats) {
  using Ms = std::chrono::duration<double, std::milli>;
  const auto load_started = std::chrono::steady_clock::now();
  LoadedInputs loaded;
  if (!LoadVitals(tx, patient, types_read_, oldest_new_us - engine_.lookback_us(), oldest_new_us - hr_lookback_us_,
                  loaded)
           .ok() ||
      loaded.vitals.empty()) {
    return;
  }
  stats.rows_loaded += static_cast<int64_t>(loaded.vitals.size());
  std::vector<SampleTime> times;
  times.reserve(loaded.vitals.size());
  for (const rules::VitalPoint& v : loaded.vitals) times.push_back({v.vital_type, v.measured_us});
  const std::vector<int64_t> instants = EvaluationInstants(times, oldest_new_us);
  stats.instants += static_cast<int>(instants.size());
  // Resting heart rate by day from the SQL summaries, for every day the instants fall on.
  const int64_t newest_day = instants.empty() ? 0 : instants.back() / kDayUs;
  const bool completed_day_changed =
      std::any_of(new_times_us.begin(), new_times_us.end(), [&](int64_t t) { return t / kDayUs < newest_day; });
  loaded.resting_hr_days_given = true;
  loaded.resting_hr_days = RestingHrDays(tx, patient, newest_day, completed_day_changed);
  const rules::PatientInputs in = loaded.View();
  const auto evaluate_started = std::chrono::steady_clock::now();
  stats.load_ms += Ms(evaluate_started - load_started).count();
  for (int64_t now_us : instants) {
    for (Observation& o : engine_.Evaluate(in, now_us)) {
      const rules::RuleSpec* spec = engine_.catalogue().Find(o.rule_id);
      // observed_us 0: the rule had no input at all, so it has nothing to tell the lifecycle.
      if (spec == nullptr || !JudgedAtDataInstants(spec->kind) || o.observed_us == 0) continue;
      out.push_back(std::move(o));
    }
  }
  stats.evaluate_ms += Ms(std::chrono::steady_clock::now() - evaluate_started).count();
}

absl::StatusOr<int> Evaluator::RunOnce() {
  int looked_at = 0;
  RoundStats stats;
  const auto started = std::chrono::steady_clock::now();
  auto status = pool_.WithTransaction("evaluate new vitals", [&](pqxx::work& tx) {
    looked_at = 0;
    stats = {};
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
    std::map<std::string, std::vector<int64_t>> new_times;  // patient -> measured times of new rows read
    const std::set<int> read(types_read_.begin(), types_read_.end());
    for (const auto& row : rows) {
      seqs.push_back(row[0].as<int64_t>());
      if (read.contains(row[2].as<int>())) new_times[row[1].as<std::string>()].push_back(row[3].as<int64_t>());
    }
    const int64_t advance_to = gaps_.AfterRead(tx, cursor, seqs);
    looked_at = static_cast<int>(std::upper_bound(seqs.begin(), seqs.end(), advance_to) - seqs.begin());

    std::vector<Observation> observations;
    for (const auto& [patient, times] : new_times) {
      // From the oldest new row, also one measured before rows already evaluated (a late row):
      // the instants then run from its time to the newest.
      EvaluatePatient(tx, patient, *std::min_element(times.begin(), times.end()), times, observations, stats);
      ++stats.patients;
    }
    stats.observations = static_cast<int>(observations.size());
    const auto apply_started = std::chrono::steady_clock::now();
    ApplyAll(tx, observations);
    stats.apply_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - apply_started).count();
    tx.exec_params("UPDATE consumer_cursors SET last_seq = $1, updated_at = now() WHERE consumer = 'alerts'",
                   advance_to);
  });
  if (!status.ok()) return status;
  stats.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  {
    std::lock_guard lock(stats_mu_);
    last_round_ = stats;
  }
  return looked_at;
}

absl::StatusOr<int> Evaluator::RunTimerOnce() {
  int patients = 0;
  auto status = pool_.WithTransaction("judge timer rules", [&](pqxx::work& tx) {
    patients = 0;
    const int64_t now_us = clock_.NowUs();
    std::vector<Observation> observations;
    for (const auto& row : tx.exec("SELECT DISTINCT patient_id FROM devices WHERE patient_id IS NOT NULL ORDER BY 1")) {
      LoadedInputs loaded;
      if (!LoadTimerInputs(tx, row[0].as<std::string>(), now_us, engine_.lookback_us(), loaded).ok()) continue;
      for (Observation& o : engine_.Evaluate(loaded.View(), now_us)) {
        const rules::RuleSpec* spec = engine_.catalogue().Find(o.rule_id);
        if (spec == nullptr || JudgedAtDataInstants(spec->kind) || o.observed_us == 0) continue;
        observations.push_back(std::move(o));
      }
      ++patients;
    }
    ApplyAll(tx, observations);
  });
  if (!status.ok()) return status;
  return patients;
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
    std::vector<Observation> technical;
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
      technical.push_back(std::move(o));
    }
    ApplyAll(tx, technical);
    for (int64_t id : events) tx.exec_params("UPDATE technical_events SET alerted_at = now() WHERE id = $1", id);
    taken = static_cast<int>(events.size());
  });
  if (!status.ok()) return status;
  return taken;
}

void Evaluator::Loop() {
  using namespace std::chrono_literals;
  common::PgListener listener(conninfo_, "vitals_new");
  auto next_timer = std::chrono::steady_clock::now();
  while (!stop_) {
    if (std::chrono::steady_clock::now() >= next_timer) {
      next_timer = std::chrono::steady_clock::now() + kTimerPeriod;
      if (auto timer = RunTimerOnce(); !timer.ok()) {
        common::LogWarn("alerts.timer_rules_failed", {{"error", timer.status().message()}});
      }
    }
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
