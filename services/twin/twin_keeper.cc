#include "services/twin/twin_keeper.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "models/calibration/twin_json.h"
#include "services/common/logging.h"
#include "services/common/pg_listener.h"
#include "services/twin/vitals_mapping.h"

namespace healthtwin::twin {
namespace {

namespace mc = healthtwin::models::calibration;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr std::int64_t kDayS = 86400;
// A synced history: how many end-of-round first-calibration attempts, how far apart (the live
// heart rate a fit needs may come a few rounds after a cuff's stored records).
constexpr int kHistoryAttempts = 12;
constexpr auto kHistoryRetry = std::chrono::seconds(5);
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min();
// Writers of twin_events take this lock first, so event_id values become visible in order
// and a follower's cursor on event_id never skips one (as alert_events does).
constexpr std::int64_t kTwinEventsLock = 7468657276;

std::int64_t Day(std::int64_t unix_s) { return unix_s >= 0 ? unix_s / kDayS : (unix_s - kDayS + 1) / kDayS; }

std::int64_t WallNowS() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Which reason a snapshot carries when several things happened in one round.
int Priority(SnapshotReason r) {
  switch (r) {
    case SnapshotReason::kManualRecalibration:
      return 5;
    case SnapshotReason::kBatchFit:
      return 4;
    case SnapshotReason::kDriftEvent:
      return 3;
    case SnapshotReason::kInitialPrior:
      return 2;
    case SnapshotReason::kSequential:
      return 1;
  }
  return 0;
}

std::string DoubleArrayLiteral(const std::vector<double>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v[i]);
    absl::StrAppend(&out, i ? "," : "", buf);
  }
  return out + "}";
}

std::string TextArrayLiteral(const std::vector<std::string>& v) {
  // Vital names are [a-z0-9_]: no quoting needed.
  return absl::StrCat("{", absl::StrJoin(v, ","), "}");
}

json FitQualityJson(const mc::FitQuality& q) {
  json per_vital = json::object();
  for (mc::Vital v : mc::kAllVitals) {
    const int i = static_cast<int>(v);
    per_vital[std::string(mc::VitalName(v))] = {
        {"n_used", q.n_used[i]}, {"n_rejected", q.n_rejected[i]}, {"rmse", q.rmse[i]}};
  }
  return {{"converged", q.converged}, {"iterations", q.iterations},     {"days", q.days},
          {"n_flagged", q.n_flagged}, {"extrapolated", q.extrapolated}, {"vitals", per_vital}};
}

// Clears the drift detector (CUSUM sums and alarm memory) through the snapshot API: used at the
// first calibration, when the reference moves from the population prior to this patient.
absl::StatusOr<mc::Twin> WithDriftCleared(const mc::Twin& twin, std::shared_ptr<const mc::ObservationModel> model) {
  mc::TwinSnapshot s = twin.Snapshot();
  std::fill(s.cusum_pos.begin(), s.cusum_pos.end(), 0.0);
  std::fill(s.cusum_neg.begin(), s.cusum_neg.end(), 0.0);
  std::fill(s.cusum_pos_start.begin(), s.cusum_pos_start.end(), 0);
  std::fill(s.cusum_neg_start.begin(), s.cusum_neg_start.end(), 0);
  std::fill(s.last_alarm_up.begin(), s.last_alarm_up.end(), 0);
  std::fill(s.last_alarm_down.begin(), s.last_alarm_down.end(), 0);
  return mc::Twin::Restore(std::move(model), s, twin.options());
}

}  // namespace

struct TwinKeeper::Entry {
  std::shared_ptr<const mc::ObservationModel> model;
  std::optional<mc::Twin> twin;
  std::uint64_t db_version = 0;       // newest twin_snapshots.version of the patient
  std::int64_t absorbed_through = 0;  // every row of the patient <= this is in `twin`
  std::int64_t first_dirty_seq = 0;   // first row absorbed since the last snapshot (0: none)
  bool unsaved = false;               // state changed since the last snapshot
  bool is_new = false;                // no snapshot written yet
  Clock::time_point last_persist{};   // set when loaded
  Clock::time_point last_active{};    // last load, absorbed sample or recalibration
  std::int64_t state_time = 0;        // newest sample absorbed (unix s)
  std::int64_t window_end = 0;        // last calibration's window end
  std::int64_t last_attempt_day = kNever;
  std::int64_t closed_through_day = kNever;
  std::string last_calibration_error;
  // While uncalibrated, after data from an earlier day than the state's arrived (a device's
  // stored records): first-calibration attempts left at the end of rounds, and the next allowed.
  int history_attempts_left = 0;
  Clock::time_point next_history_attempt{};
  // This round's reasons to write a snapshot.
  std::optional<SnapshotReason> pending_reason;
  std::optional<json> fit_quality;
  std::vector<mc::TwinEvent> pending_events;
  // Guarded by entries_mu_: the last committed state, for Predict.
  std::shared_ptr<const mc::Twin> published;
  std::uint64_t published_version = 0;

  void Want(SnapshotReason r) {
    if (!pending_reason || Priority(r) > Priority(*pending_reason)) pending_reason = r;
  }
  // Drift events count only once the reference is this patient's (after a calibration).
  void TakeEvents() {
    std::vector<mc::TwinEvent> ev = twin->TakeEvents();
    if (!twin->calibrated() || ev.empty()) return;
    for (auto& e : ev) pending_events.push_back(std::move(e));
    Want(SnapshotReason::kDriftEvent);
  }
};

namespace {

struct RowSample {
  std::int64_t seq;
  mc::Sample sample;
};

// Reads the calibration window from the vitals table: rows the twin has already seen
// (ingest_seq <= max_seq), so the sequential filter never absorbs a calibrated row again.
std::vector<mc::Sample> LoadWindow(pqxx::work& tx, const std::string& patient_id, std::int64_t start_s,
                                   std::int64_t end_s, std::int64_t max_seq) {
  auto rows = tx.exec_params(
      "SELECT vital_type, value, floor(extract(epoch FROM measured_at))::bigint, flags FROM vitals"
      " WHERE patient_id = $1 AND vital_type IN (1, 2, 3, 5, 6, 7)"
      "   AND measured_at >= to_timestamp($2::bigint) AND measured_at <= to_timestamp($3::bigint)"
      "   AND ingest_seq <= $4"
      " ORDER BY measured_at",
      patient_id, start_s, end_s, max_seq);
  std::vector<mc::Sample> out;
  out.reserve(rows.size());
  for (const auto& r : rows) {
    if (auto s = ToSample(r[0].as<int>(), r[1].as<double>(), r[2].as<std::int64_t>(), r[3].as<int>()))
      out.push_back(*s);
  }
  return out;
}

// Runs a batch calibration of `e` over [start, end]; logs the attempt in twin_calibrations.
// On success the twin is replaced and a snapshot is requested; on failure it is untouched.
absl::Status CalibrateEntry(pqxx::work& tx, const std::string& patient_id, TwinKeeper::Entry& e, std::int64_t start_s,
                            std::int64_t end_s, std::int64_t max_seq, std::string_view trigger, SnapshotReason reason) {
  const std::vector<mc::Sample> window = LoadWindow(tx, patient_id, start_s, end_s, max_seq);
  absl::Status status;
  std::optional<mc::Twin> fitted;
  mc::FitQuality quality;
  if (window.empty()) {
    status = absl::FailedPreconditionError("too little data: no samples in the calibration window");
  } else {
    mc::Twin copy = *e.twin;
    absl::StatusOr<mc::FitQuality> q = copy.Calibrate(window);
    if (!q.ok()) {
      // Whatever the library's code, the caller's request was fine: the data is not enough.
      status = absl::FailedPreconditionError(q.status().message());
    } else {
      quality = *q;
      if (!e.twin->calibrated()) {
        absl::StatusOr<mc::Twin> cleared = WithDriftCleared(copy, e.model);
        if (!cleared.ok()) return cleared.status();  // cannot happen: our own snapshot
        fitted.emplace(std::move(*cleared));
      } else {
        fitted.emplace(std::move(copy));
      }
    }
  }
  const std::uint64_t version = status.ok() ? e.db_version + 1 : 0;
  const auto calibration_id =
      tx.exec_params(
            "INSERT INTO twin_calibrations (patient_id, trigger, window_start, window_end, ok, message, twin_version)"
            " VALUES ($1, $2, to_timestamp($3::bigint), to_timestamp($4::bigint), $5, $6, NULLIF($7::bigint, 0))"
            " RETURNING id",
            patient_id, std::string(trigger), start_s, end_s, status.ok(), std::string(status.message()),
            static_cast<std::int64_t>(version))[0][0]
          .as<std::int64_t>();
  // Logs carry the calibration's id, never the patient or the fit's message (it quotes values).
  if (!status.ok()) {
    e.last_calibration_error = std::string(status.message());
    common::LogInfo("twin.calibration_failed", {{"calibration_id", calibration_id}, {"trigger", trigger}});
    return status;
  }
  e.twin.emplace(std::move(*fitted));
  const mc::TwinSnapshot s = e.twin->Snapshot();
  e.window_end = s.window_end_unix_s;
  e.state_time = s.state_time_unix_s;
  e.last_calibration_error.clear();
  e.fit_quality = FitQualityJson(quality);
  e.unsaved = true;
  e.Want(reason);
  common::LogInfo("twin.calibrated", {{"calibration_id", calibration_id},
                                      {"trigger", trigger},
                                      {"samples", window.size()},
                                      {"converged", quality.converged}});
  return absl::OkStatus();
}

SnapshotRecord MakeRecord(const std::string& patient_id, const TwinKeeper::Entry& e, std::uint64_t version,
                          SnapshotReason reason) {
  const mc::TwinSnapshot s = e.twin->Snapshot();
  const models::TwinPosterior post = mc::ToTwinPosterior(*e.twin);
  SnapshotRecord r;
  r.patient_id = patient_id;
  r.version = version;
  r.model_version = s.model_version;
  r.reason = reason;
  r.window_start_unix_s = s.window_start_unix_s;
  r.window_end_unix_s = s.window_end_unix_s;
  r.parameters = e.twin->Estimates();
  r.covariance = post.covariance;
  r.state_time_unix_s = s.state_time_unix_s;
  r.samples_absorbed = s.samples_absorbed;
  r.calibrated = s.calibrated;
  r.last_calibration_error = e.last_calibration_error;
  return r;
}

// Writes the next snapshot of `e` (and its pending events) and marks it clean.
SnapshotRecord Persist(pqxx::work& tx, const std::string& patient_id, TwinKeeper::Entry& e, SnapshotReason reason,
                       std::int64_t covered_seq, Clock::time_point now) {
  SnapshotRecord rec = MakeRecord(patient_id, e, e.db_version + 1, reason);
  json params = json::array();
  for (const mc::ParameterEstimate& p : rec.parameters) {
    params.push_back({{"name", p.name},
                      {"value", p.mean},
                      {"std_dev", p.sd},
                      {"fixed_at_prior", !p.identifiable},
                      {"lower_90", p.lo90},
                      {"upper_90", p.hi90},
                      {"prior_sd", p.prior_sd}});
  }
  auto r = tx.exec_params(
      "INSERT INTO twin_snapshots (patient_id, version, model_version, reason, data_window_start, data_window_end,"
      " parameters, covariance, state, covered_seq, state_time, samples_absorbed, calibrated, fit_quality)"
      " VALUES ($1, $2, $3, $4,"
      "  CASE WHEN $5::bigint = 0 THEN NULL ELSE to_timestamp($5::bigint) END,"
      "  CASE WHEN $6::bigint = 0 THEN NULL ELSE to_timestamp($6::bigint) END,"
      "  $7::jsonb, $8::float8[], $9::jsonb, $10,"
      "  CASE WHEN $11::bigint = 0 THEN NULL ELSE to_timestamp($11::bigint) END,"
      "  $12, $13, NULLIF($14, '')::jsonb)"
      " RETURNING (extract(epoch FROM created_at) * 1000000)::bigint",
      patient_id, static_cast<std::int64_t>(rec.version), rec.model_version, static_cast<int>(reason),
      rec.window_start_unix_s, rec.window_end_unix_s, params.dump(), DoubleArrayLiteral(rec.covariance),
      mc::SnapshotToJson(e.twin->Snapshot()).dump(), covered_seq, rec.state_time_unix_s,
      static_cast<std::int64_t>(rec.samples_absorbed), rec.calibrated,
      e.fit_quality ? e.fit_quality->dump() : std::string());
  rec.created_at_unix_us = r[0][0].as<std::int64_t>();
  if (!e.pending_events.empty()) {
    tx.exec_params("SELECT pg_advisory_xact_lock($1)", kTwinEventsLock);
    for (const mc::TwinEvent& ev : e.pending_events) {
      EventRecord er;
      er.type = ev.type;
      for (mc::Vital v : ev.vitals) er.vitals.emplace_back(mc::VitalName(v));
      er.started_at_unix_s = ev.start_unix_s;
      er.detected_at_unix_s = ev.detected_unix_s;
      er.magnitude = ev.magnitude;
      er.magnitude_sd = ev.magnitude_sd;
      er.twin_version = rec.version;
      auto ins = tx.exec_params(
          "INSERT INTO twin_events (patient_id, type, vitals, started_at, detected_at, magnitude, magnitude_sd,"
          " twin_version) VALUES ($1, $2, $3::text[], to_timestamp($4::bigint), to_timestamp($5::bigint), $6, $7, $8)"
          " ON CONFLICT (patient_id, type, detected_at) DO NOTHING RETURNING event_id",
          patient_id, er.type, TextArrayLiteral(er.vitals), er.started_at_unix_s, er.detected_at_unix_s,
          std::isfinite(er.magnitude) ? er.magnitude : 0.0, std::isfinite(er.magnitude_sd) ? er.magnitude_sd : 0.0,
          static_cast<std::int64_t>(er.twin_version));
      if (ins.empty()) continue;  // replayed after a crash: already recorded
      er.event_id = ins[0][0].as<std::uint64_t>();
      common::LogInfo("twin.event", {{"event_id", er.event_id}, {"type", er.type}});
      rec.events.push_back(std::move(er));
    }
    tx.exec("SELECT pg_notify('twin_events_new', '')");
  }
  e.db_version = rec.version;
  e.first_dirty_seq = 0;
  e.unsaved = false;
  e.is_new = false;
  e.last_persist = now;
  e.pending_reason.reset();
  e.fit_quality.reset();
  e.pending_events.clear();
  return rec;
}

}  // namespace

TwinKeeper::TwinKeeper(common::PgPool& pool, std::string conninfo, std::shared_ptr<ModelCache> models,
                       KeeperOptions options)
    : pool_(pool),
      conninfo_(std::move(conninfo)),
      models_(std::move(models)),
      options_(std::move(options)),
      gaps_(options_.shard.ConsumerName()),
      reader_(options_.shard, options_.batch_rows) {}

TwinKeeper::~TwinKeeper() { Stop(); }

void TwinKeeper::Start() {
  if (thread_.joinable() || stopped_) return;
  stop_ = false;
  {
    std::lock_guard lock(loop_mu_);
    loop_done_ = false;
  }
  thread_ = std::thread([this] {
    Loop();
    std::lock_guard lock(loop_mu_);
    loop_done_ = true;
    loop_done_cv_.notify_all();
  });
}

void TwinKeeper::Stop() {
  stopped_ = true;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool TwinKeeper::StopBy(std::chrono::steady_clock::time_point deadline) {
  stopped_ = true;
  stop_ = true;
  if (!thread_.joinable()) return true;
  std::unique_lock lock(loop_mu_);
  if (!loop_done_cv_.wait_until(lock, deadline, [this] { return loop_done_; })) return false;
  lock.unlock();
  thread_.join();
  return true;
}

void TwinKeeper::Loop() {
  using namespace std::chrono_literals;
  common::PgListener listener(conninfo_, "vitals_new");
  while (!stop_) {
    absl::StatusOr<int> moved = RunOnce();
    if (!moved.ok()) {
      common::LogWarn("twin.consume_failed", {{"error", moved.status().message()}});
      listener.Wait(500ms);
      continue;
    }
    if (*moved > 0) continue;
    listener.Wait(500ms);
  }
}

absl::StatusOr<TwinKeeper::Entry*> TwinKeeper::LoadEntry(pqxx::work& tx, const std::string& patient_id,
                                                         bool require_known) {
  {
    std::lock_guard lock(entries_mu_);
    if (auto it = entries_.find(patient_id); it != entries_.end()) return it->second.get();
  }
  const PatientRecord rec = LoadPatientRecord(tx, patient_id);
  auto latest = tx.exec_params(
      "SELECT version, state::text, covered_seq FROM twin_snapshots WHERE patient_id = $1"
      " ORDER BY version DESC LIMIT 1",
      patient_id);
  if (require_known && !rec.registered && latest.empty()) {
    return absl::NotFoundError(absl::StrCat("patient ", patient_id, " is not registered and has no twin"));
  }
  absl::StatusOr<TwinSetup> setup = models_->Get(rec);
  if (!setup.ok()) return setup.status();
  auto e = std::make_unique<Entry>();
  e->model = setup->model;
  if (!latest.empty()) e->db_version = latest[0][0].as<std::uint64_t>();
  if (!latest.empty() && !latest[0][1].is_null()) {
    json j = json::parse(latest[0][1].as<std::string>(), nullptr, /*allow_exceptions=*/false);
    absl::StatusOr<mc::TwinSnapshot> snap = mc::SnapshotFromJson(j);
    if (!snap.ok())
      return absl::DataLossError(absl::StrCat("twin state of ", patient_id, ": ", snap.status().message()));
    absl::StatusOr<mc::Twin> t = mc::Twin::Restore(e->model, *snap, options_.twin_options);
    if (!t.ok()) return absl::DataLossError(absl::StrCat("twin state of ", patient_id, ": ", t.status().message()));
    e->twin.emplace(std::move(*t));
    e->absorbed_through = latest[0][2].as<std::int64_t>();
    e->state_time = snap->state_time_unix_s;
    e->window_end = snap->window_end_unix_s;
    // A day already closed in the snapshot is not closed again by the sweep.
    if (snap->open_day < 0 && snap->state_time_unix_s > 0) e->closed_through_day = Day(snap->state_time_unix_s);
  } else {
    if (!rec.registered) common::LogWarn("twin.unregistered_patient", {{"note", "population defaults used"}});
    absl::StatusOr<mc::Twin> t = mc::Twin::Create(e->model, setup->prior, options_.twin_options);
    if (!t.ok()) return t.status();
    e->twin.emplace(std::move(*t));
    e->is_new = true;
    common::LogInfo("twin.created");  // no patient id, and the archetype names conditions
  }
  auto err = tx.exec_params(
      "SELECT message FROM twin_calibrations WHERE patient_id = $1 AND NOT ok AND id > coalesce("
      " (SELECT max(id) FROM twin_calibrations WHERE patient_id = $1 AND ok), 0) ORDER BY id DESC LIMIT 1",
      patient_id);
  if (!err.empty()) e->last_calibration_error = err[0][0].as<std::string>();
  e->last_persist = e->last_active = Now();
  Entry* raw = e.get();
  std::lock_guard lock(entries_mu_);
  entries_.emplace(patient_id, std::move(e));
  ++stats_.twins_loaded;
  return raw;
}

void TwinKeeper::Drop(const std::string& patient_id) {
  std::lock_guard lock(entries_mu_);
  entries_.erase(patient_id);
}

void TwinKeeper::ResetAfterFailure() {
  std::lock_guard lock(entries_mu_);
  entries_.clear();
  read_seq_ = -1;
  reader_.Reset();
}

std::chrono::steady_clock::time_point TwinKeeper::Now() const {
  return options_.clock ? options_.clock() : Clock::now();
}

KeeperStats TwinKeeper::stats() const {
  std::lock_guard lock(entries_mu_);
  KeeperStats s = stats_;
  s.twins_in_memory = entries_.size();
  return s;
}

void TwinKeeper::Publish(const std::vector<std::pair<Entry*, SnapshotRecord>>& written) {
  {
    std::lock_guard lock(entries_mu_);
    stats_.snapshots_written += written.size();
    for (const auto& [e, rec] : written) {
      e->published = std::make_shared<const mc::Twin>(*e->twin);
      e->published_version = rec.version;
    }
  }
  std::lock_guard lock(watch_mu_);
  for (const auto& [e, rec] : written) {
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      it = it->second(rec) ? std::next(it) : watchers_.erase(it);
    }
  }
}

absl::StatusOr<int> TwinKeeper::RunOnce() {
  std::lock_guard work(work_mu_);
  const std::string consumer = options_.shard.ConsumerName();
  int moved = 0;
  std::uint64_t rows_read = 0;
  std::int64_t new_read = read_seq_;
  std::vector<std::pair<Entry*, SnapshotRecord>> written;
  std::vector<std::string> evict;
  absl::Status status = pool_.WithTransaction("absorb new vitals into twins", [&](pqxx::work& tx) {
    moved = 0;
    rows_read = 0;
    written.clear();
    evict.clear();
    tx.exec_params("INSERT INTO consumer_cursors (consumer, last_seq) VALUES ($1, 0) ON CONFLICT DO NOTHING", consumer);
    // FOR UPDATE: two replicas misconfigured with the same shard take turns.
    const std::int64_t cursor =
        tx.exec_params("SELECT last_seq FROM consumer_cursors WHERE consumer = $1 FOR UPDATE", consumer)[0][0]
            .as<std::int64_t>();
    const std::int64_t from = std::max(cursor, read_seq_);
    gaps_.BeforeRead(tx);
    // Rows behind an unsettled gap wait (the reader keeps them): absorbing is not idempotent.
    // Other shards' rows are gaps here too. A gap found by the first read is usually settled
    // at once (its witnesses, the transactions running after that read, have ended), so a
    // second pass re-checks them and reads again, only what it has not seen (shard_reader.h).
    std::vector<VitalRow> rows;
    std::int64_t advance_to = from;
    for (int pass = 0; pass < 2; ++pass) {
      if (pass > 0) {
        if (!reader_.holding()) break;
        gaps_.BeforeRead(tx);
      }
      std::vector<VitalRow> read = reader_.Read(tx, advance_to, rows_read);
      std::vector<std::int64_t> seqs;
      seqs.reserve(read.size());
      for (const VitalRow& row : read) seqs.push_back(row.seq);
      advance_to = gaps_.AfterRead(tx, advance_to, seqs);
      reader_.Hold(read, advance_to);
      std::move(read.begin(), read.end(), std::back_inserter(rows));
    }
    std::map<std::string, std::vector<RowSample>> by_patient;
    for (VitalRow& row : rows) {  // every row up to advance_to, once
      ++moved;
      std::optional<mc::Sample> s = ToSample(row.vital_type, row.value, row.measured_at_unix_s, row.flags);
      if (s) by_patient[std::move(row.patient_id)].push_back({row.seq, *s});
    }

    int skipped = 0;
    for (auto& [patient, samples] : by_patient) {
      absl::StatusOr<Entry*> entry = LoadEntry(tx, patient, /*require_known=*/false);
      if (!entry.ok()) {
        // Known limitation: these rows are not absorbed (the batch calibration still reads them
        // once the patient's model can be built).
        // The code only: the message names the patient.
        common::LogWarn("twin.load_failed", {{"code", absl::StatusCodeToString(entry.status().code())}});
        continue;
      }
      Entry& e = **entry;
      e.last_active = Now();
      std::stable_sort(samples.begin(), samples.end(), [](const RowSample& a, const RowSample& b) {
        return a.sample.measured_at_unix_s < b.sample.measured_at_unix_s;
      });
      std::int64_t first_day = kNever;  // the earliest data day of this round's new samples
      for (const RowSample& rs : samples) {
        if (rs.seq <= e.absorbed_through) continue;  // in the snapshot already (replay after a restart)
        const std::int64_t t = rs.sample.measured_at_unix_s;
        if (first_day == kNever) first_day = Day(t);  // samples are in time order
        if (e.state_time != 0 && Day(t) > Day(e.state_time) && Day(e.state_time) > e.last_attempt_day &&
            (!e.twin->calibrated() || e.state_time - e.window_end >= options_.recalibrate_every_days * kDayS)) {
          // A data day is complete: first calibration, or the scheduled one.
          e.TakeEvents();
          e.last_attempt_day = Day(e.state_time);
          const bool first = !e.twin->calibrated();
          (void)CalibrateEntry(tx, patient, e, e.state_time - options_.calibration_window_days * kDayS, e.state_time,
                               advance_to, first ? "first" : "scheduled", SnapshotReason::kBatchFit);
        }
        absl::StatusOr<mc::Twin::UpdateResult> r = e.twin->Update(rs.sample);
        if (!r.ok()) {  // a late sample (older than the state) or a non-finite value
          ++skipped;
          continue;
        }
        if (!rs.sample.flagged) e.state_time = std::max(e.state_time, t);
        e.unsaved = true;
        if (e.first_dirty_seq == 0) e.first_dirty_seq = rs.seq;
      }
      // Data from two or more days before the state's came in this round (more than a midnight
      // crossing): a device's stored history (a cuff or scale answering RACP), late behind the
      // strap's live data or spanning days before it. The day-boundary attempts above cannot use it (late rows skip the filter, and a
      // window ending at a history day lacks the live heart rate), so an uncalibrated twin tries
      // its first calibration at the end of this and the next rounds, over the window ending at
      // its state, a bounded number of times.
      if (!e.twin->calibrated() && first_day != kNever && e.state_time != 0 && first_day + 1 < Day(e.state_time)) {
        e.history_attempts_left = kHistoryAttempts;
      }
      if (!e.twin->calibrated() && e.history_attempts_left > 0 && Now() >= e.next_history_attempt) {
        --e.history_attempts_left;
        e.next_history_attempt = Now() + kHistoryRetry;
        e.TakeEvents();
        (void)CalibrateEntry(tx, patient, e, e.state_time - options_.calibration_window_days * kDayS, e.state_time,
                             advance_to, "history", SnapshotReason::kBatchFit);
      }
      e.TakeEvents();
    }
    if (skipped > 0) common::LogInfo("twin.samples_skipped", {{"count", skipped}, {"note", "late or non-finite"}});

    // Close accumulating days whose midnight (plus grace) has passed, then write snapshots.
    const std::int64_t wall_s = WallNowS();
    const auto now = Now();
    std::int64_t new_cursor = advance_to;
    std::lock_guard lock(entries_mu_);  // structure only; nothing below blocks on the network for long
    for (auto& [patient, ep] : entries_) {
      Entry& e = *ep;
      if (e.state_time > 0) {
        const std::int64_t d = Day(e.state_time);
        if (d > e.closed_through_day && wall_s >= (d + 1) * kDayS + options_.day_close_grace.count()) {
          e.twin->CloseDay();
          e.closed_through_day = d;
          e.unsaved = true;
          e.TakeEvents();
        }
      }
      e.absorbed_through = std::max(e.absorbed_through, advance_to);
      std::optional<SnapshotReason> reason = e.pending_reason;
      if (!reason && e.is_new) reason = SnapshotReason::kInitialPrior;
      if (!reason && e.unsaved && now - e.last_persist >= options_.persist_every) reason = SnapshotReason::kSequential;
      const bool idle = options_.idle_evict.count() > 0 && now - e.last_active >= options_.idle_evict;
      if (!reason && idle && e.unsaved) reason = SnapshotReason::kSequential;  // persisted before it goes
      if (reason) written.emplace_back(&e, Persist(tx, patient, e, *reason, e.absorbed_through, now));
      if (idle) evict.push_back(patient);
      if (e.first_dirty_seq != 0) new_cursor = std::min(new_cursor, e.first_dirty_seq - 1);
    }
    new_cursor = std::max(new_cursor, cursor);
    tx.exec_params("UPDATE consumer_cursors SET last_seq = $1, updated_at = now() WHERE consumer = $2", new_cursor,
                   consumer);
    new_read = advance_to;
  });
  if (!status.ok()) {
    ResetAfterFailure();
    return status;
  }
  read_seq_ = new_read;
  Publish(written);
  {
    std::lock_guard lock(entries_mu_);
    stats_.rows_read += rows_read;
    stats_.rows_passed += static_cast<std::uint64_t>(moved);
    for (const std::string& patient : evict) entries_.erase(patient);  // its state is in the snapshot just written
    stats_.twins_evicted += evict.size();
  }
  if (!evict.empty()) common::LogInfo("twin.evicted", {{"count", evict.size()}});
  return moved;
}

absl::Status TwinKeeper::Flush() {
  std::lock_guard work(work_mu_);
  if (read_seq_ < 0) return absl::OkStatus();  // nothing absorbed in this process
  std::vector<std::pair<Entry*, SnapshotRecord>> written;
  const std::string consumer = options_.shard.ConsumerName();
  absl::Status status = pool_.WithTransaction("flush twins", [&](pqxx::work& tx) {
    written.clear();
    std::lock_guard lock(entries_mu_);
    for (auto& [patient, ep] : entries_) {
      Entry& e = *ep;
      if (!e.unsaved && !e.is_new && !e.pending_reason) continue;
      const SnapshotReason reason =
          e.pending_reason.value_or(e.is_new ? SnapshotReason::kInitialPrior : SnapshotReason::kSequential);
      written.emplace_back(&e, Persist(tx, patient, e, reason, e.absorbed_through, Now()));
    }
    tx.exec_params(
        "UPDATE consumer_cursors SET last_seq = greatest(last_seq, $1), updated_at = now() WHERE consumer = $2",
        read_seq_, consumer);
  });
  if (!status.ok()) {
    ResetAfterFailure();
    return status;
  }
  Publish(written);
  return absl::OkStatus();
}

absl::StatusOr<TwinKeeper::Prediction> TwinKeeper::Predict(const std::string& patient_id, double horizon_h,
                                                           double step_h) {
  if (!options_.shard.Owns(patient_id))
    return absl::FailedPreconditionError(options_.shard.WrongShardMessage(patient_id));
  std::shared_ptr<const mc::Twin> twin;
  Prediction out;
  {
    std::lock_guard lock(entries_mu_);
    if (auto it = entries_.find(patient_id); it != entries_.end() && it->second->published) {
      twin = it->second->published;
      out.twin_version = it->second->published_version;
    }
  }
  if (!twin) {  // not loaded in this process: the latest snapshot
    absl::Status s = pool_.WithTransaction("load twin for prediction", [&](pqxx::work& tx) {
      twin.reset();
      auto latest = tx.exec_params(
          "SELECT version, state::text FROM twin_snapshots WHERE patient_id = $1 AND state IS NOT NULL"
          " ORDER BY version DESC LIMIT 1",
          patient_id);
      if (latest.empty()) return;
      absl::StatusOr<TwinSetup> setup = models_->Get(LoadPatientRecord(tx, patient_id));
      if (!setup.ok()) throw std::runtime_error(std::string(setup.status().message()));
      absl::StatusOr<mc::TwinSnapshot> snap =
          mc::SnapshotFromJson(json::parse(latest[0][1].as<std::string>(), nullptr, false));
      if (!snap.ok()) throw std::runtime_error(std::string(snap.status().message()));
      absl::StatusOr<mc::Twin> t = mc::Twin::Restore(setup->model, *snap, options_.twin_options);
      if (!t.ok()) throw std::runtime_error(std::string(t.status().message()));
      twin = std::make_shared<const mc::Twin>(std::move(*t));
      out.twin_version = latest[0][0].as<std::uint64_t>();
    });
    if (!s.ok()) return s;
    if (!twin) return absl::NotFoundError(absl::StrCat("patient ", patient_id, " has no twin yet"));
  }
  absl::StatusOr<std::vector<mc::PredictionPoint>> points = twin->Predict(horizon_h, step_h);
  if (!points.ok()) return points.status();
  out.points = std::move(*points);
  return out;
}

absl::StatusOr<SnapshotRecord> TwinKeeper::Recalibrate(const std::string& patient_id,
                                                       std::optional<std::int64_t> start_unix_s,
                                                       std::optional<std::int64_t> end_unix_s) {
  if (!options_.shard.Owns(patient_id))
    return absl::FailedPreconditionError(options_.shard.WrongShardMessage(patient_id));
  std::lock_guard work(work_mu_);
  absl::Status outcome;
  bool created = false;
  std::vector<std::pair<Entry*, SnapshotRecord>> written;
  absl::Status status = pool_.WithTransaction("recalibrate twin", [&](pqxx::work& tx) {
    written.clear();
    outcome = absl::OkStatus();
    created = false;
    absl::StatusOr<Entry*> entry = LoadEntry(tx, patient_id, /*require_known=*/true);
    if (!entry.ok()) {
      outcome = entry.status();
      return;
    }
    Entry& e = **entry;
    created = e.is_new;
    const std::int64_t end = end_unix_s.value_or(e.state_time != 0 ? e.state_time : WallNowS());
    const std::int64_t start = start_unix_s.value_or(end - options_.calibration_window_days * kDayS);
    if (start >= end) {
      outcome = absl::InvalidArgumentError("window_start: must be before window_end");
      return;
    }
    if (end - start > static_cast<std::int64_t>(options_.max_recalibration_window_days) * kDayS) {
      outcome = absl::InvalidArgumentError(
          absl::StrCat("window_start: the window is ", (end - start + kDayS - 1) / kDayS, " days; at most ",
                       options_.max_recalibration_window_days, " days (--max-recalibration-window-days)"));
      return;
    }
    // Only rows the twin has absorbed (or skipped as late): the consumer never absorbs them again.
    const std::int64_t max_seq = std::max(e.absorbed_through, read_seq_);
    e.TakeEvents();
    outcome =
        CalibrateEntry(tx, patient_id, e, start, end, max_seq, "recalibrate", SnapshotReason::kManualRecalibration);
    if (!outcome.ok()) return;  // the attempt stays logged; the twin is unchanged
    e.absorbed_through = max_seq;
    e.last_active = Now();
    written.emplace_back(&e, Persist(tx, patient_id, e, SnapshotReason::kManualRecalibration, max_seq, Now()));
  });
  if (!status.ok()) {
    ResetAfterFailure();
    return status;
  }
  if (!outcome.ok()) {
    if (created) Drop(patient_id);  // no twin existed and none was made
    return outcome;
  }
  Publish(written);
  return written.front().second;
}

int TwinKeeper::AddWatcher(Watcher watcher) {
  std::lock_guard lock(watch_mu_);
  watchers_.emplace(next_watcher_, std::move(watcher));
  return next_watcher_++;
}

void TwinKeeper::RemoveWatcher(int id) {
  std::lock_guard lock(watch_mu_);
  watchers_.erase(id);
}

std::optional<mc::TwinSnapshot> TwinKeeper::InMemory(const std::string& patient_id) const {
  std::lock_guard work(work_mu_);
  std::lock_guard lock(entries_mu_);
  auto it = entries_.find(patient_id);
  if (it == entries_.end() || !it->second->twin) return std::nullopt;
  return it->second->twin->Snapshot();
}

}  // namespace healthtwin::twin
