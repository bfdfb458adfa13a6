// Consumes newly durable vitals from PostgreSQL and raises alerts, at least once and
// idempotently. Survives restarts: its position is the row "alerts" in consumer_cursors,
// advanced in the same transaction that raises the alerts.
//
// Ordering caveat: ingest_seq values are assigned before commit, so a lower value can
// become visible after a higher one. The cursor therefore never moves past a missing
// value until no transaction that could still commit it is running (then it is a rolled-back
// insert, or a value PostgreSQL skipped in a crash; see common::GapTracker). Rows behind an
// unsettled gap are evaluated anyway and again later; evaluation is idempotent, so that only
// costs work.
//
// Each round drives the rule engine (rules/engine.h, the catalogue of --alert-rules) for every
// patient with new rows. Incrementally: the patient's inputs are kept across rounds
// (patient_windows.h: heart rate over HeartRateLookbackUs, the sparse types over the engine's
// lookback, the contact-lost periods) and extended with the round's own rows; a patient not
// kept, or whose new rows need history before the kept window (a late row), is loaded with
// the round's other such patients in one query (window_loader.h); settings and contact-lost
// periods are read for all the round's patients in one query each. Every window is dropped
// when the cursor read at the start of a round is not the one this process last wrote (another
// replica consumed rows this process never read); a restart starts with none. The engine then
// sees exactly what a per-round reload (inputs_loader.h's bound) would show it, and evaluates at
// data instants covering the new rows (evaluation_plan.h: every sparse
// sample, heart rate every 30 s, the newest). A row measured before rows already evaluated (a
// late row) re-evaluates from its time to the newest. So an episode that began and ended
// between two rounds (this service, PostgreSQL or the uplink was down meanwhile) is still
// raised. Every Observation is applied; the lifecycle deduplicates (repeated verdicts of one
// episode add no events).
//
// The rules whose verdict moves with the wall clock (twin drift and the technical rules:
// device or gateway silent, contact lost, battery, clock skew, quarantine) are judged by
// RunTimerOnce at the clock's now, every kTimerPeriod for each patient with bound devices, not
// at data instants, on a thread of their own (Start) so that they never delay new vitals.
//
// Rules speak to the alarm lifecycle through Observations (observation.h). A technical event
// (technical_events: foreign gateway, full quarantine; no catalogue rule covers them) is an
// inactive verdict for its hour or day. The lifecycle store (lifecycle/pg_store.h) turns them
// into alerts and events in the round's transaction, under one alert-events lock per round.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "services/alerts/inputs_loader.h"
#include "services/alerts/lifecycle/pg_store.h"
#include "services/alerts/patient_windows.h"
#include "services/alerts/rules/engine.h"
#include "services/common/gap_tracker.h"
#include "services/common/pg.h"

namespace healthtwin::alerts {

// Technical: a gateway forwarded readings of a device it is not bound to (ingest quarantined
// them). The care team hears of it because the patient's data may be under attack or the
// device may have moved to another home; at most one such alert per patient per hour.
inline constexpr char kForeignGatewayRuleId[] = "tech_foreign_gateway";
// Technical: a gateway's quarantine is full, so ingest refuses readings of devices not enrolled
// there (most often a new device the patient uses that nobody bound). Raised, low priority, to
// each patient whose devices that gateway forwards; at most one per patient per day.
inline constexpr char kQuarantineFullRuleId[] = "tech_gateway_quarantine_full";

// The process's wall clock, for callers that do not inject one.
const lifecycle::Clock& SystemClock();

// The lifecycle configuration for `engine`: DefaultConfig's timers and latching rules with the
// catalogue's suppression table (RuleEngine::SuppressionTable).
lifecycle::Config LifecycleConfigFor(const rules::RuleEngine& engine);

// What the last RunOnce did, for the log and the cost measurement.
struct RoundStats {
  int patients = 0;
  int64_t rows_read = 0;         // new vitals rows the round read after the cursor
  int64_t rows_loaded = 0;       // vitals rows loaded from SQL into windows (patients not kept, late rows)
  int patients_loaded = 0;       // patients whose window was (re)loaded
  bool windows_dropped = false;  // the cursor was not this process's: every window was dropped
  int evicted = 0;               // windows evicted to stay under the cap
  int64_t window_rows = 0;       // rows kept after the round, in all windows
  int window_patients = 0;
  int instants = 0;
  int observations = 0;
  int observations_skipped = 0;  // verdicts with no episode: they change no alert, so no SQL
  int evidence_updates = 0;      // alerts whose evidence alone moved, in the round's one UPDATE
  int applied_one_by_one = 0;    // verdicts with a transition, or after one of their patient's
  double ms = 0;                 // the whole round: SQL, evaluation and the lifecycle
  double read_ms = 0;            // of which reading the new rows (and the gap tracker)
  double read_select_ms = 0;     // of read_ms: the SELECT of the new rows (the server and the transfer)
  double read_convert_ms = 0;    // of read_ms: converting its rows (the rest: cursor and gap tracker)
  double load_ms = 0;            // of which loading rule inputs (settings, contact, windows, resting HR)
  double evaluate_ms = 0;        // of which RuleEngine::Evaluate
  double apply_ms = 0;           // of which the lifecycle (ApplyLockedInTx of every verdict)

  // Sums the counts and times of `r` into this one (window sizes: r's, the newest).
  void Add(const RoundStats& r);
};

struct EvaluatorOptions {
  // Rows kept in all patient windows (patient_windows.h; about 100 bytes each, so ~400 MB):
  // 2,000 patients at 1 Hz hold 22,500 heart-rate rows each (HeartRateLookbackUs).
  size_t max_window_rows = 4'000'000;
  // Called on the evaluator thread with every round's verdicts before they are applied (tests
  // compare verdicts with it); unset in the service.
  std::function<void(const std::vector<Observation>&)> on_verdicts;
};

class Evaluator {
 public:
  // How often RunTimerOnce runs (Start's timer thread).
  static constexpr std::chrono::seconds kTimerPeriod{30};

  // `engine` and `clock` (the lifecycle's wall clock, also the timer rules' now) must outlive
  // the evaluator. The engine's catalogue must pass CheckInstantSpacing (evaluation_plan.h);
  // main.cc checks it and exits with the message, here it aborts.
  Evaluator(common::PgPool& pool, std::string conninfo, const rules::RuleEngine& engine, lifecycle::Config lifecycle,
            const lifecycle::Clock& clock = SystemClock(), EvaluatorOptions options = {});
  ~Evaluator();  // stops the thread

  void Start();
  // Asks the consumer and timer threads to end after their current wait (at most about a
  // second) or timer round without waiting for them; the destructor joins them. Lets that
  // wait overlap the server drain.
  void RequestStop() { stop_ = true; }

  // One round: evaluates rows after the cursor and advances it. Returns the number of
  // vitals rows the cursor moved over (0 when idle or held at a young gap).
  absl::StatusOr<int> RunOnce();

  // Raises the technical alerts of pending technical_events; returns how many events it took.
  absl::StatusOr<int> RunTechnicalOnce();

  // Judges the timer rules (see above) of every patient with bound devices at the clock's
  // now. Returns the number of patients.
  absl::StatusOr<int> RunTimerOnce();

  RoundStats last_round() const {
    std::lock_guard lock(stats_mu_);
    return last_round_;
  }

 private:
  struct NewRows;  // evaluator.cc: one patient's rows of a round
  void Loop();
  // RunTimerOnce every kTimerPeriod, on a thread of its own: loading every bound patient's
  // device status takes seconds with thousands of patients, and must not hold up new vitals.
  void TimerLoop();
  // Brings the windows of the round's patients up to date: settings and contact-lost periods,
  // the new rows, and one batched load for patients not kept or not covered.
  void UpdateWindows(pqxx::work& tx, std::map<std::string, NewRows>& patients, RoundStats& stats);
  // Refreshes (in one query) the cached daily resting heart rates of the patients whose entry
  // is stale: the day changed, a new row fell on a completed day, or kRestingHrCacheTtl passed.
  void RefreshRestingHr(pqxx::work& tx, const std::map<std::string, NewRows>& patients);
  // Evaluates one patient's vitals rules at its instants; appends the verdicts to `out`.
  void EvaluatePatient(const std::string& patient, const NewRows& rows, std::vector<Observation>& out,
                       RoundStats& stats);
  // Applies every verdict; a valid verdict without an episode changes nothing
  // (lifecycle::ApplyObservation) and is counted in `skipped` unsent.
  // `stats` (optional) gets the counts.
  void ApplyAll(pqxx::work& tx, const std::vector<Observation>& observations, RoundStats* stats = nullptr);

  common::PgPool& pool_;
  const std::string conninfo_;
  const rules::RuleEngine& engine_;
  const std::vector<int> types_read_;
  const int64_t hr_lookback_us_;
  const lifecycle::PgLifecycleStore store_;
  const lifecycle::Clock& clock_;
  const std::function<void(const std::vector<Observation>&)> on_verdicts_;
  struct RestingHrEntry {
    int64_t today = 0;
    int64_t loaded_at_us = 0;  // clock_
    std::vector<rules::DailyRestingHr> days;
  };
  std::map<std::string, RestingHrEntry> resting_hr_;  // only the evaluator thread touches it
  PatientWindows windows_;                            // likewise
  std::optional<int64_t> cursor_written_;             // the cursor this process last committed
  mutable std::mutex stats_mu_;
  RoundStats last_round_;
  common::GapTracker gaps_{"alerts"};  // only the evaluator thread (or RunOnce's caller) touches it
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::thread timer_thread_;
};

}  // namespace healthtwin::alerts
