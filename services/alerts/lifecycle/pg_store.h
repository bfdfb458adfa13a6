// The alarm lifecycle on PostgreSQL: loads an alert, applies one transition of lifecycle.h and
// writes back the alert and its events, all inside one transaction that first takes the
// alert-events lock (LockAlertEvents). The lock serialises every writer of alert_events on
// every replica, so each transition is decided on the committed state of the one before:
// an episode is raised exactly once and a redelivered Observation or action finds nothing to
// change (lifecycle.h is idempotent), whichever replica sees it.
//
// Thread-safe: holds only its configuration, the clock and the pool.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/alerts/lifecycle/clock.h"
#include "services/alerts/lifecycle/config.h"
#include "services/alerts/lifecycle/lifecycle.h"
#include "services/common/pg.h"

namespace healthtwin::alerts {

// Every transaction that appends to alert_events takes this lock first, so event_seq values
// become visible in order and a subscriber's cursor can never skip one.
void LockAlertEvents(pqxx::work& tx);

}  // namespace healthtwin::alerts

namespace healthtwin::alerts::lifecycle {

class PgLifecycleStore {
 public:
  // `clock` must outlive the store.
  PgLifecycleStore(common::PgPool& pool, Config cfg, const Clock& clock)
      : pool_(pool), cfg_(std::move(cfg)), clock_(clock) {}

  const Config& config() const { return cfg_; }

  // Applies `obs` inside the caller's transaction (the evaluator advances its cursor in the
  // same one). Returns the number of events appended; the caller NOTIFYs alerts_new when > 0
  // (done here too, so a caller may ignore it).
  absl::StatusOr<int> ApplyInTx(pqxx::work& tx, const Observation& obs) const;
  // The same, for a caller that has already taken LockAlertEvents(tx) in this transaction
  // (the evaluator takes it once per round, not once per Observation).
  absl::StatusOr<int> ApplyLockedInTx(pqxx::work& tx, const Observation& obs) const;
  absl::StatusOr<int> Apply(const Observation& obs) const;

  // What ApplyBatchLockedInTx did.
  struct BatchResult {
    int appended = 0;          // events appended
    int evidence_updates = 0;  // alerts whose evidence alone changed, written in one UPDATE
    int one_by_one = 0;        // verdicts applied by ApplyLockedInTx (a transition, or after one)
    // Verdicts the lifecycle refused (a bug in the rules): their index in the batch and why.
    std::vector<std::pair<size_t, absl::Status>> refused;
  };
  // Applies `batch` in order inside the caller's transaction, after the caller has taken
  // LockAlertEvents(tx), with the same result as ApplyLockedInTx on each verdict in turn, in
  // a few statements for the common case: the alert each verdict continues is read for all of
  // them at once (with acknowledgements and shelves), and a verdict that only moves the
  // evidence (last observation, duration, summary; no event) changes that copy; the copies are
  // written in one UPDATE at the end. A verdict with a transition (an event, a new alert) is
  // applied by ApplyLockedInTx after the patient's pending evidence is written, and so is every
  // later verdict of that patient (the transition and its suppression may have changed any of
  // its alerts). Other patients' alerts are never touched by it, so their copies stay exact.
  BatchResult ApplyBatchLockedInTx(pqxx::work& tx, const std::vector<const Observation*>& batch) const;

  // One recipient acknowledges (NOT_FOUND for an unknown alert); `relayed_by` is the service
  // that authenticated the recipient. Acknowledging twice changes nothing.
  absl::Status AcknowledgeInTx(pqxx::work& tx, const std::string& alert_id, const std::string& recipient,
                               const std::string& note, const std::string& relayed_by) const;
  // One recipient shelves for `duration_us` (INVALID_ARGUMENT `duration` over the maximum).
  absl::Status ShelveInTx(pqxx::work& tx, const std::string& alert_id, const std::string& recipient,
                          int64_t duration_us, const std::string& reason) const;

  // Fires every escalation timer and shelf expiry due at the clock's now, at most `limit`
  // alerts. Returns the number of events appended.
  absl::StatusOr<int> FireDue(int limit = 200) const;

 private:
  // Suppression over the patient's unresolved alerts after a change. Returns events appended.
  int Resuppress(pqxx::work& tx, const std::string& patient_id, int64_t now_us) const;

  common::PgPool& pool_;
  const Config cfg_;
  const Clock& clock_;
};

// The alert row `alert_id` with its acknowledgements and current shelves, locked FOR UPDATE;
// nullopt when there is none.
std::optional<Alert> LoadAlertForUpdate(pqxx::work& tx, const std::string& alert_id);

}  // namespace healthtwin::alerts::lifecycle
