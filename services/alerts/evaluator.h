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
// Each round evaluates every heart-rate run its new rows touch, so an episode that began and
// ended between two rounds (this service, PostgreSQL or the uplink was down meanwhile) is
// still raised.
//
// Rules speak to the alarm lifecycle through Observations (observation.h): a sustained run in
// progress is an active verdict, a run that has ended an inactive one, and a technical event an
// inactive verdict for its hour (foreign gateway) or day (full quarantine). The lifecycle store
// (lifecycle/pg_store.h) turns them into alerts and events in the round's transaction.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>

#include "services/alerts/hr_rule.h"
#include "services/alerts/lifecycle/pg_store.h"
#include "services/common/gap_tracker.h"
#include "services/common/pg.h"

namespace healthtwin::alerts {

inline constexpr char kHrRuleId[] = "hr_high_sustained";
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

// The Observation of one heart-rate episode: active while `ongoing` (its last point is the
// newest reading), ended otherwise.
Observation HrObservation(const std::string& patient_id, const HrEpisode& e, bool ongoing, const HrRuleConfig& cfg);

class Evaluator {
 public:
  // `clock` (the lifecycle's wall clock) must outlive the evaluator.
  Evaluator(common::PgPool& pool, std::string conninfo, HrRuleConfig cfg,
            lifecycle::Config lifecycle = lifecycle::DefaultConfig(), const lifecycle::Clock& clock = SystemClock());
  ~Evaluator();  // stops the thread

  void Start();
  // Asks the consumer thread to end after its current wait (at most about a second) without
  // waiting for it; the destructor joins it. Lets that wait overlap the server drain.
  void RequestStop() { stop_ = true; }

  // One round: evaluates rows after the cursor and advances it. Returns the number of
  // vitals rows the cursor moved over (0 when idle or held at a young gap).
  absl::StatusOr<int> RunOnce();

  // Raises the technical alerts of pending technical_events; returns how many events it took.
  absl::StatusOr<int> RunTechnicalOnce();

 private:
  void Loop();

  common::PgPool& pool_;
  const std::string conninfo_;
  const HrRuleConfig cfg_;
  const lifecycle::PgLifecycleStore store_;
  common::GapTracker gaps_{"alerts"};  // only the evaluator thread (or RunOnce's caller) touches it
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace healthtwin::alerts
