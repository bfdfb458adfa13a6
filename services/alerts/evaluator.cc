#include "services/alerts/evaluator.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/alerts/evaluation_plan.h"
#include "services/alerts/feed_alerts.h"
#include "services/alerts/window_loader.h"
#include "services/common/logging.h"
#include "services/common/pg_listener.h"

namespace healthtwin::alerts {
namespace {

constexpr int64_t kDayUs = 86'400'000'000;
// Rows a round reads at most. Each patient in a round costs about two instants whatever its
// rows (the oldest new row and the newest), so at 2,000 patients a round of 5,000 rows spent
// most of its time on instants; 20,000 lets one evaluator keep up with 20,000 samples/s
// (issue 11) at a few rounds per second.
constexpr int kRoundRows = 20'000;
constexpr int64_t kRoundSeqSpan = 4 * kRoundRows;
// Patients whose timer-rule inputs one set of queries loads (LoadTimerInputs): bounds the
// memory and the size of a statement, not the work.
constexpr size_t kTimerChunk = 1'000;
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

void RoundStats::Add(const RoundStats& r) {
  patients += r.patients;
  rows_read += r.rows_read;
  rows_loaded += r.rows_loaded;
  patients_loaded += r.patients_loaded;
  windows_dropped = windows_dropped || r.windows_dropped;
  evicted += r.evicted;
  window_rows = r.window_rows;
  window_patients = r.window_patients;
  instants += r.instants;
  observations += r.observations;
  observations_skipped += r.observations_skipped;
  evidence_updates += r.evidence_updates;
  applied_one_by_one += r.applied_one_by_one;
  ms += r.ms;
  read_ms += r.read_ms;
  read_select_ms += r.read_select_ms;
  read_convert_ms += r.read_convert_ms;
  load_ms += r.load_ms;
  evaluate_ms += r.evaluate_ms;
  apply_ms += r.apply_ms;
}

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
                     lifecycle::Config lifecycle, const lifecycle::Clock& clock, EvaluatorOptions options)
    : pool_(pool),
      conninfo_(std::move(conninfo)),
      engine_(CheckedEngine(engine)),
      types_read_(Sorted(VitalTypesRead(engine.catalogue()))),
      hr_lookback_us_(HeartRateLookbackUs(engine.catalogue())),
      store_(pool, std::move(lifecycle), clock),
      clock_(clock),
      on_verdicts_(std::move(options.on_verdicts)),
      windows_(options.max_window_rows) {}

Evaluator::~Evaluator() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (timer_thread_.joinable()) timer_thread_.join();
}

void Evaluator::Start() {
  thread_ = std::thread([this] { Loop(); });
  timer_thread_ = std::thread([this] { TimerLoop(); });
}

void Evaluator::TimerLoop() {
  using namespace std::chrono_literals;
  while (!stop_) {
    const auto started = std::chrono::steady_clock::now();
    auto timer = RunTimerOnce();
    if (!timer.ok()) common::LogWarn("alerts.timer_rules_failed", {{"error", timer.status().message()}});
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    common::LogInfo("alerts.timer_round", {{"patients", timer.ok() ? *timer : 0}, {"ms", ms}});
    for (auto next = started + kTimerPeriod; !stop_ && std::chrono::steady_clock::now() < next;) {
      std::this_thread::sleep_for(200ms);
    }
  }
}

void Evaluator::ApplyAll(pqxx::work& tx, const std::vector<Observation>& observations, RoundStats* stats) {
  if (observations.empty()) return;
  LockAlertEvents(tx);
  const int64_t now_us = clock_.NowUs();
  std::vector<const Observation*> batch;
  for (const Observation& obs : observations) {
    // A valid verdict without an episode (normal vitals: most of them) changes no alert,
    // whatever the alert (lifecycle::ApplyObservation returns it unchanged before looking):
    // not sent, no SQL.
    if (!obs.active && obs.condition_started_us == 0 &&
        lifecycle::ApplyObservation(obs, nullptr, store_.config(), now_us).ok()) {
      if (stats != nullptr) ++stats->observations_skipped;
      continue;
    }
    batch.push_back(&obs);
  }
  // In order, set-based where nothing but evidence changes (pg_store.h).
  const auto result = store_.ApplyBatchLockedInTx(tx, batch);
  // A verdict the lifecycle refuses is a bug in the rules, logged and skipped so the other
  // verdicts still go out.
  for (const auto& [i, error] : result.refused) {
    common::LogError("alerts.observation_refused", {{"rule", batch[i]->rule_id}, {"error", error.message()}});
  }
  if (stats != nullptr) {
    stats->evidence_updates += result.evidence_updates;
    stats->applied_one_by_one += result.one_by_one;
  }
}

struct Evaluator::NewRows {
  std::vector<CachedRow> rows;  // the round's rows of the types the rules read, in seq order
  int64_t oldest_us = 0;        // the oldest of them by measured time
  rules::PatientAlertSettings settings;
  PatientWindow* window = nullptr;  // after UpdateWindows
  std::vector<int64_t> instants;    // after UpdateWindows
};

void Evaluator::UpdateWindows(pqxx::work& tx, std::map<std::string, NewRows>& patients, RoundStats& stats) {
  std::vector<std::string> names;
  names.reserve(patients.size());
  for (const auto& [patient, _] : patients) names.push_back(patient);
  std::map<std::string, rules::PatientAlertSettings> settings = LoadSettings(tx, names);
  const std::map<std::string, LostPeriods> lost = LoadLostPeriods(tx, names);
  // A patient is loaded from SQL unless kept with history reaching back far enough for its
  // oldest new row (the same starts as LoadVitals').
  std::vector<WindowRequest> requests;
  for (auto& [patient, in] : patients) {
    in.settings = std::move(settings[patient]);
    const int64_t sparse_from = in.oldest_us - engine_.lookback_us(), hr_from = in.oldest_us - hr_lookback_us_;
    in.window = windows_.Find(patient);
    if (in.window != nullptr && in.window->Covers(sparse_from, hr_from)) {
      auto it = lost.find(patient);
      in.window->SetLost(it == lost.end() ? LostPeriods{} : it->second);
    } else {
      requests.push_back({patient, sparse_from, hr_from});
    }
  }
  std::map<std::string, PatientWindow> loaded;
  stats.rows_loaded += LoadWindows(tx, requests, types_read_, lost, loaded);
  stats.patients_loaded += static_cast<int>(loaded.size());
  for (auto& [patient, w] : loaded) patients[patient].window = &windows_.Put(patient, std::move(w));
  for (auto& [patient, in] : patients) {
    PatientWindow& w = *in.window;
    for (CachedRow& row : in.rows) {
      row.point.flags =
          EngineFlags(row.stored_flags, ContactLostAt(w.lost, row.point.device_id, row.point.measured_us));
      w.Add(row);  // not when already there: just loaded, or re-read behind a gap
    }
    // Exactly what a reload for this round would hold.
    w.TrimTo(in.oldest_us - engine_.lookback_us(), in.oldest_us - hr_lookback_us_);
    in.instants = EvaluationInstants(w.Times(), in.oldest_us);
  }
}

void Evaluator::RefreshRestingHr(pqxx::work& tx, const std::map<std::string, NewRows>& patients) {
  const int64_t now_us = clock_.NowUs();
  std::vector<RestingHrRequest> requests;
  for (const auto& [patient, in] : patients) {
    if (in.instants.empty()) continue;
    // Resting heart rate by day from the SQL summaries, for every day the instants fall on.
    const int64_t today = in.instants.back() / kDayUs;
    const bool completed_day_changed = std::any_of(
        in.rows.begin(), in.rows.end(), [&](const CachedRow& r) { return r.point.measured_us / kDayUs < today; });
    const RestingHrEntry& e = resting_hr_[patient];
    if (e.today != today || completed_day_changed || now_us - e.loaded_at_us > kRestingHrCacheTtlUs) {
      requests.push_back({patient, (today * kDayUs - engine_.lookback_us()) / kDayUs - 1, today - 1});
    }
  }
  // Marked fresh only once loaded (a failed load leaves them stale).
  auto loaded = LoadDailyRestingHr(tx, requests);
  for (const RestingHrRequest& q : requests) {
    RestingHrEntry& e = resting_hr_[q.patient_id];
    e.days = std::move(loaded[q.patient_id]);
    e.today = q.last_day + 1;
    e.loaded_at_us = now_us;
  }
}

void Evaluator::EvaluatePatient(const std::string& patient, const NewRows& rows, std::vector<Observation>& out,
                                RoundStats& stats) {
  const std::vector<rules::VitalPoint> vitals = rows.window->Merged();
  if (vitals.empty()) return;
  stats.instants += static_cast<int>(rows.instants.size());
  rules::PatientInputs in;
  in.patient_id = patient;
  in.settings = rows.settings;
  in.vitals = vitals;
  in.resting_hr_days_given = true;
  in.resting_hr_days = resting_hr_[patient].days;
  // The window's samples grouped by type and device once for all the instants (each instant
  // is a view of it), not copied again at every instant.
  const rules::PreparedVitals prepared(in.vitals);
  for (int64_t now_us : rows.instants) {
    for (Observation& o : engine_.Evaluate(in, prepared, now_us, JudgedAtDataInstants, &rows.window->trackers)) {
      // observed_us 0: the rule had no input at all, so it has nothing to tell the lifecycle.
      if (o.observed_us == 0) continue;
      out.push_back(std::move(o));
    }
  }
}

absl::StatusOr<int> Evaluator::RunOnce() {
  using Ms = std::chrono::duration<double, std::milli>;
  using SteadyClock = std::chrono::steady_clock;
  int looked_at = 0;
  RoundStats stats;
  const auto started = SteadyClock::now();
  int64_t advanced_to = 0;
  windows_.NextRound();
  auto status = pool_.WithTransaction("evaluate new vitals", [&](pqxx::work& tx) {
    looked_at = 0;
    stats = {};
    tx.exec("INSERT INTO consumer_cursors (consumer, last_seq) VALUES ('alerts', 0) ON CONFLICT DO NOTHING");
    // FOR UPDATE: two alerts replicas take turns instead of evaluating the same rows at once.
    const int64_t cursor =
        tx.exec("SELECT last_seq FROM consumer_cursors WHERE consumer = 'alerts' FOR UPDATE")[0][0].as<int64_t>();
    advanced_to = cursor;
    if (!cursor_written_ || *cursor_written_ != cursor) {
      // Another replica consumed rows this process never read (or this is the first round, or
      // the last one failed): no window can promise it holds every row.
      stats.windows_dropped = windows_.patients() > 0;
      windows_.Clear();
    }
    gaps_.BeforeRead(tx);
    // The next kRoundRows rows. Within kRoundSeqSpan values of the cursor first: the BRIN index
    // then reads only those block ranges, whatever the backlog (an unbounded "> cursor ...
    // LIMIT" sorts every row after the cursor, which grows without bound once behind). Only
    // when that span holds nothing (a jump in the sequence) is the rest searched.
    const std::string select =
        absl::StrCat("SELECT ", kVitalsRowColumns, ", v.patient_id FROM vitals v WHERE v.ingest_seq > $1");
    const std::string limit = absl::StrCat(" ORDER BY v.ingest_seq LIMIT ", kRoundRows);
    const auto select_started = SteadyClock::now();
    pqxx::result rows = tx.exec_params(select + " AND v.ingest_seq <= $2" + limit, cursor, cursor + kRoundSeqSpan);
    if (rows.empty()) rows = tx.exec_params(select + limit, cursor);
    const auto convert_started = SteadyClock::now();
    stats.read_select_ms = Ms(convert_started - select_started).count();
    if (rows.empty()) return;
    stats.rows_read = static_cast<int64_t>(rows.size());

    // Every row is evaluated, also those behind an unsettled gap (evaluation is idempotent); the
    // cursor moves only as far as the gap tracker allows.
    std::vector<int64_t> seqs;
    seqs.reserve(rows.size());
    std::map<std::string, NewRows> patients;
    const std::set<int> read(types_read_.begin(), types_read_.end());
    // Rows come in seq order, so a patient's batch is consecutive rows: one map lookup per run.
    NewRows* run = nullptr;
    std::string run_patient;
    for (const auto& row : rows) {
      seqs.push_back(row[0].as<int64_t>());
      if (!read.contains(row[1].as<int>())) continue;
      const std::string_view patient(row[6].c_str(), row[6].size());
      if (run == nullptr || patient != run_patient) {
        run_patient = patient;
        run = &patients[run_patient];
      }
      NewRows& in = *run;
      CachedRow r = ReadVitalsRow(row, 0);
      // From the oldest new row, also one measured before rows already evaluated (a late row):
      // the instants then run from its time to the newest.
      in.oldest_us = in.rows.empty() ? r.point.measured_us : std::min(in.oldest_us, r.point.measured_us);
      in.rows.push_back(std::move(r));
    }
    stats.read_convert_ms = Ms(SteadyClock::now() - convert_started).count();
    const int64_t advance_to = gaps_.AfterRead(tx, cursor, seqs);
    looked_at = static_cast<int>(std::upper_bound(seqs.begin(), seqs.end(), advance_to) - seqs.begin());
    const auto load_started = SteadyClock::now();
    stats.read_ms = Ms(load_started - started).count();

    UpdateWindows(tx, patients, stats);
    RefreshRestingHr(tx, patients);
    const auto evaluate_started = SteadyClock::now();
    stats.load_ms = Ms(evaluate_started - load_started).count();
    std::vector<Observation> observations;
    for (const auto& [patient, in] : patients) {
      EvaluatePatient(patient, in, observations, stats);
      ++stats.patients;
    }
    stats.observations = static_cast<int>(observations.size());
    if (on_verdicts_) on_verdicts_(observations);
    const auto apply_started = SteadyClock::now();
    stats.evaluate_ms = Ms(apply_started - evaluate_started).count();
    ApplyAll(tx, observations, &stats);
    stats.apply_ms = Ms(SteadyClock::now() - apply_started).count();
    tx.exec_params("UPDATE consumer_cursors SET last_seq = $1, updated_at = now() WHERE consumer = 'alerts'",
                   advance_to);
    advanced_to = advance_to;
  });
  if (!status.ok()) {
    cursor_written_.reset();  // the next round starts cold: this one may have read rows it did not commit
    return status;
  }
  cursor_written_ = advanced_to;
  stats.evicted = windows_.EvictToCap();
  stats.window_rows = static_cast<int64_t>(windows_.rows());
  stats.window_patients = static_cast<int>(windows_.patients());
  stats.ms = Ms(SteadyClock::now() - started).count();
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
    std::vector<std::string> bound;
    for (const auto& row : tx.exec("SELECT DISTINCT patient_id FROM devices WHERE patient_id IS NOT NULL ORDER BY 1")) {
      bound.push_back(row[0].as<std::string>());
    }
    // A few queries per kTimerChunk patients, not a few per patient.
    for (size_t first = 0; first < bound.size(); first += kTimerChunk) {
      const std::vector<std::string> chunk(
          bound.begin() + static_cast<std::ptrdiff_t>(first),
          bound.begin() + static_cast<std::ptrdiff_t>(std::min(first + kTimerChunk, bound.size())));
      for (const auto& [patient, loaded] : LoadTimerInputs(tx, chunk, now_us, engine_.lookback_us())) {
        for (Observation& o : engine_.Evaluate(loaded.View(), now_us)) {
          const rules::RuleSpec* spec = engine_.catalogue().Find(o.rule_id);
          if (spec == nullptr || JudgedAtDataInstants(spec->kind) || o.observed_us == 0) continue;
          observations.push_back(std::move(o));
        }
        ++patients;
      }
    }
    ApplyAll(tx, observations);
  });
  if (!status.ok()) return status;
  return patients;
}

absl::StatusOr<int> Evaluator::RunTechnicalOnce() {
  int taken = 0;
  auto status = pool_.WithTransaction("raise technical alerts", [&](pqxx::work& tx) {
    // Feed events name no patient: the admins' feed alerts (feed_alerts.h), taken first.
    taken = RaiseFeedAlerts(tx);
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
    taken += static_cast<int>(events.size());
  });
  if (!status.ok()) return status;
  return taken;
}

void Evaluator::Loop() {
  using namespace std::chrono_literals;
  common::PgListener listener(conninfo_, "vitals_new");
  // Where the evaluator's time goes, summed over the rounds of each kStatsPeriod and logged.
  constexpr auto kStatsPeriod = 10s;
  auto next_stats = std::chrono::steady_clock::now() + kStatsPeriod;
  RoundStats sum;
  int rounds = 0;
  while (!stop_) {
    if (std::chrono::steady_clock::now() >= next_stats) {
      next_stats = std::chrono::steady_clock::now() + kStatsPeriod;
      if (rounds > 0) {
        common::LogInfo("alerts.evaluator_rounds", {{"rounds", rounds},
                                                    {"rows_read", sum.rows_read},
                                                    {"patient_rounds", sum.patients},
                                                    {"patients_loaded", sum.patients_loaded},
                                                    {"rows_loaded", sum.rows_loaded},
                                                    {"instants", sum.instants},
                                                    {"observations", sum.observations},
                                                    {"observations_skipped", sum.observations_skipped},
                                                    {"evidence_updates", sum.evidence_updates},
                                                    {"applied_one_by_one", sum.applied_one_by_one},
                                                    {"window_rows", sum.window_rows},
                                                    {"ms", sum.ms},
                                                    {"read_ms", sum.read_ms},
                                                    {"read_select_ms", sum.read_select_ms},
                                                    {"read_convert_ms", sum.read_convert_ms},
                                                    {"load_ms", sum.load_ms},
                                                    {"evaluate_ms", sum.evaluate_ms},
                                                    {"apply_ms", sum.apply_ms}});
      }
      sum = {};
      rounds = 0;
    }
    // New vitals first: woken by their NOTIFY, the round that may raise an alert does not wait
    // for the technical events' transaction (issue 11, the idle path).
    auto consumed = RunOnce();
    if (auto technical = RunTechnicalOnce(); !technical.ok()) {
      common::LogWarn("alerts.technical_failed", {{"error", technical.status().message()}});
    }
    if (!consumed.ok()) {
      common::LogWarn("alerts.evaluate_failed", {{"error", consumed.status().message()}});
      std::this_thread::sleep_for(500ms);
      continue;
    }
    if (*consumed > 0) {
      sum.Add(last_round());
      ++rounds;
      continue;  // more may be waiting
    }
    // Wake on NOTIFY, or after 500 ms to retry young gaps and survive a lost notification.
    listener.Wait(500ms);
  }
}

}  // namespace healthtwin::alerts
