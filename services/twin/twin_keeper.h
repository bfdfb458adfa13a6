// Keeps the twins of one shard current from the vitals table, persists versioned snapshots and
// drift events, and serves the twin operations that need the live state (predict,
// recalibrate, watch). The gRPC adapter (twin_service.h) is a thin layer over this class.
//
// Consumer. A thread follows `vitals` by ingest_seq from this shard's row in consumer_cursors
// ("twin/<index>-of-<count>"), waking on NOTIFY vitals_new or every 500 ms. Each round reads up
// to batch_rows rows of its own patients in one transaction (kShardReadSql: the shard's
// vitals.shard_key range, through an index, so other shards' rows are not read; shard.h), keeps
// the twin's vitals (vitals_mapping.h), sorts each patient's samples by measured_at and feeds them
// to Twin::Update. Gaps in ingest_seq are handled as in the alerts evaluator: the round stops at
// a gap a running transaction may still fill (common::GapTracker); a gap no running
// transaction can fill is a rolled-back insert or a crash's jump. A sample older than the twin's newest one (a late
// sync) cannot be absorbed by the filter; it is counted and enters the next batch calibration, which reads the vitals
// table.
//
// Calibration policy (batch MAP over a window read from `vitals`):
//   - first: at each data-day boundary while the twin is uncalibrated (the day's data complete),
//     over the last calibration_window_days; it fails until the minimum data exist (BP on 2
//     days, twin.h), and each attempt is logged in twin_calibrations;
//   - history: while uncalibrated, also at the end of a round that skipped late samples from an
//     earlier data day than the state's (a device's stored records fetched by RACP after live
//     data), over the same window, so a twin calibrates from a synced history within seconds;
//   - then: every recalibrate_every_days of data time, over the rolling window. Not daily: a
//     calibration re-centres the drift detector's reference, and a daily refit would fold a
//     slow decompensation into the reference before the CUSUM sees it; the UKF follows in
//     between;
//   - on Recalibrate, over the requested window.
// A failed calibration leaves the twin exactly as it was (twin.h) and records why.
// Drift events are reported only for calibrated twins (before that the reference is the
// population prior, not this patient), and the first calibration clears the detector.
//
// Persistence and crash safety (replay from the last snapshot). A snapshot is written at the end
// of a round for a twin that was created, calibrated or raised events, and otherwise at most
// every persist_every per twin. Each snapshot stores the full state and covered_seq (every row
// of that patient up to it is in the state). The cursor is advanced in the same transaction,
// but never past the first row absorbed by a twin whose state is not yet persisted, so after
// kill -9 the consumer re-reads at most persist_every of rows and skips, per twin, those at
// or below its snapshot's covered_seq: no sample is lost or absorbed twice. A failed
// transaction drops the in-memory twins; they reload from their snapshots.
//
// Idle eviction (bounded memory). A twin that absorbed nothing and was not loaded or
// recalibrated for idle_evict is dropped from memory at the end of a round, after its state is
// persisted in that round's transaction. When its patient's data arrives again, or Recalibrate
// asks for it, it is restored from that snapshot exactly as after a restart (the same state,
// bit for bit); Predict on an evicted twin reads the snapshot without loading it.
//
// Threads: RunOnce, Flush and Recalibrate serialise on one mutex; Predict, InMemory and the
// watch registry may be called from any thread. Watchers are called on the consumer's (or
// Recalibrate's) thread after commit and must not block.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "models/calibration/twin.h"
#include "services/common/gap_tracker.h"
#include "services/common/pg.h"
#include "services/twin/limits.h"
#include "services/twin/patient_model.h"
#include "services/twin/shard.h"
#include "services/twin/shard_reader.h"

namespace healthtwin::twin {

// Numerically identical to healthtwin.twin.v1.UpdateReason (twin_snapshots.reason).
enum class SnapshotReason : int {
  kInitialPrior = 1,
  kBatchFit = 2,
  kSequential = 3,
  kManualRecalibration = 4,
  kDriftEvent = 5,
};

struct EventRecord {
  std::uint64_t event_id = 0;
  std::string type;
  std::vector<std::string> vitals;
  std::int64_t started_at_unix_s = 0;
  std::int64_t detected_at_unix_s = 0;
  double magnitude = 0.0;
  double magnitude_sd = 0.0;
  std::uint64_t twin_version = 0;
};

// One persisted snapshot as the service reports it.
struct SnapshotRecord {
  std::string patient_id;
  std::uint64_t version = 0;  // twin_snapshots.version: 1, 2, ... per patient
  std::string model_version;
  SnapshotReason reason = SnapshotReason::kSequential;
  std::int64_t created_at_unix_us = 0;
  std::int64_t window_start_unix_s = 0;  // 0 = never calibrated
  std::int64_t window_end_unix_s = 0;
  std::vector<models::calibration::ParameterEstimate> parameters;  // kTwinParams order
  std::vector<double> covariance;                                  // 5 x 5 row-major (ToTwinPosterior)
  std::int64_t state_time_unix_s = 0;
  std::uint64_t samples_absorbed = 0;
  bool calibrated = false;
  std::vector<EventRecord> events;
  std::string last_calibration_error;
};

// The consumer's read, for shard [$3, $4) of the key space after cursor $1, at most $2 rows
// (EXPLAINed by the shard tests).
inline constexpr const char* kShardReadSql =
    "SELECT ingest_seq, patient_id, vital_type, value, floor(extract(epoch FROM measured_at))::bigint, flags"
    " FROM vitals WHERE ingest_seq > $1 AND shard_key >= $3 AND shard_key < $4 ORDER BY ingest_seq LIMIT $2";

// The rows of shard [$3, $4) in ($1, $2] that are not among the ingest_seq values $5 (rows a
// round read and held; shard_reader.h): those that became visible since.
inline constexpr const char* kShardLateSql =
    "SELECT ingest_seq, patient_id, vital_type, value, floor(extract(epoch FROM measured_at))::bigint, flags"
    " FROM vitals WHERE ingest_seq > $1 AND ingest_seq <= $2 AND shard_key >= $3 AND shard_key < $4"
    " AND ingest_seq NOT IN (SELECT unnest($5::bigint[])) ORDER BY ingest_seq";

struct KeeperOptions {
  ShardSpec shard;
  std::chrono::seconds persist_every{600};
  int calibration_window_days = 30;
  int recalibrate_every_days = 7;
  // Recalibrate refuses a longer window with INVALID_ARGUMENT (limits.h says why 90).
  int max_recalibration_window_days = kDefaultMaxRecalibrationWindowDays;
  int batch_rows = 5000;
  // The accumulating day of a twin is closed (drift detector) this long after its midnight,
  // when no sample of a later day has closed it already.
  std::chrono::seconds day_close_grace{3600};
  models::calibration::TwinOptions twin_options;
  // A twin idle this long is persisted and dropped from memory (0: never).
  std::chrono::seconds idle_evict{3600};
  // The time the persist and eviction policies measure (tests inject one); empty: steady_clock.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

// Counters since the keeper was made (for tests, benchmarks and diagnostics).
struct KeeperStats {
  std::uint64_t rows_read = 0;      // vitals rows the consumer's queries returned
  std::uint64_t rows_passed = 0;    // rows the read position moved over (each row once)
  std::uint64_t twins_loaded = 0;   // twins created or restored into memory
  std::uint64_t twins_evicted = 0;  // idle twins dropped from memory
  std::uint64_t snapshots_written = 0;
  std::size_t twins_in_memory = 0;
};

class TwinKeeper {
 public:
  // `pool` and `models` must outlive the keeper. `conninfo` is for the LISTEN connection.
  TwinKeeper(common::PgPool& pool, std::string conninfo, std::shared_ptr<ModelCache> models, KeeperOptions options);
  ~TwinKeeper();  // stops the thread; does not flush (a crash must be survivable anyway)
  TwinKeeper(const TwinKeeper&) = delete;
  TwinKeeper& operator=(const TwinKeeper&) = delete;

  // Start after Stop does nothing: a keeper stopped for the drain stays stopped.
  void Start();
  void Stop();
  // Stops the thread if its current round ends by `deadline`; false when it is still busy then
  // (a first round building observation models on a loaded machine can take tens of seconds).
  // The thread is still asked to stop; Stop() or the destructor joins it.
  bool StopBy(std::chrono::steady_clock::time_point deadline);
  // Whether the consumer thread exists (started and not yet joined).
  bool running() const { return thread_.joinable(); }

  // One round of the consumer; returns the number of vitals rows the cursor's read position
  // moved over (0 when idle or held at a young gap).
  absl::StatusOr<int> RunOnce();
  // Persists every twin whose state is not yet in a snapshot (e.g. at drain) and advances the
  // cursor to the read position.
  absl::Status Flush();

  // Expected vitals for the next horizon_h hours every step_h hours, from the live state (or
  // the latest snapshot when the twin is not in memory). FailedPrecondition for a patient of
  // another shard; NotFound when the patient has no twin.
  struct Prediction {
    std::uint64_t twin_version = 0;
    std::vector<models::calibration::PredictionPoint> points;
  };
  absl::StatusOr<Prediction> Predict(const std::string& patient_id, double horizon_h, double step_h);

  // Batch calibration now over [start, end] (unix s; defaults: the calibration window up to the
  // twin's newest sample). Returns the new snapshot; FailedPrecondition with the reason (too
  // little data, no convergence) leaves the twin unchanged and is logged in twin_calibrations.
  absl::StatusOr<SnapshotRecord> Recalibrate(const std::string& patient_id, std::optional<std::int64_t> start_unix_s,
                                             std::optional<std::int64_t> end_unix_s);

  // Every snapshot persisted from now on (all patients of the shard). A watcher returns false
  // to be removed (e.g. its client went away).
  using Watcher = std::function<bool(const SnapshotRecord&)>;
  int AddWatcher(Watcher watcher);
  void RemoveWatcher(int id);

  // The live (in-memory) state of a patient's twin, if loaded; for tests and diagnostics.
  std::optional<models::calibration::TwinSnapshot> InMemory(const std::string& patient_id) const;

  const ShardSpec& shard() const { return options_.shard; }
  KeeperStats stats() const;

  // One twin's live state (defined in twin_keeper.cc; an implementation detail).
  struct Entry;

 private:
  void Loop();
  absl::StatusOr<Entry*> LoadEntry(pqxx::work& tx, const std::string& patient_id, bool create);
  void Drop(const std::string& patient_id);
  void ResetAfterFailure();
  void Publish(const std::vector<std::pair<Entry*, SnapshotRecord>>& written);
  std::chrono::steady_clock::time_point Now() const;

  common::PgPool& pool_;
  const std::string conninfo_;
  const std::shared_ptr<ModelCache> models_;
  const KeeperOptions options_;

  mutable std::mutex work_mu_;  // one round / flush / recalibration at a time
  // Guards the structure of entries_ and each entry's `published` (the rest of an Entry is
  // touched only under work_mu_).
  mutable std::mutex entries_mu_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  KeeperStats stats_;           // under entries_mu_
  std::int64_t read_seq_ = -1;  // every row <= this is in the in-memory twins (-1: unknown)
  common::GapTracker gaps_;
  ShardReader reader_;

  std::mutex watch_mu_;
  std::map<int, Watcher> watchers_;
  int next_watcher_ = 1;

  std::atomic<bool> stop_{false};
  std::atomic<bool> stopped_{false};  // Stop or StopBy was called
  std::mutex loop_mu_;
  std::condition_variable loop_done_cv_;
  bool loop_done_ = false;  // under loop_mu_: Loop has returned
  std::thread thread_;
};

}  // namespace healthtwin::twin
