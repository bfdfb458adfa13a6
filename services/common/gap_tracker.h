// Where a consumer of the vitals table may move its cursor. ingest_seq values are taken before
// commit, so a lower value can become visible after a higher one; a missing value is either a
// transaction still in flight or one that will never commit (a rollback, or the up to 32 values
// PostgreSQL skips after a crash because it logs sequences ahead).
//
// A missing value is passed only once it is known not to be in flight, never after a guessed
// delay (a timed grace lost rows in the hour's chaos soak: an ingest transaction that took its
// ingest_seq and then stalled while PostgreSQL recovered committed after the grace had passed).
// The reasoning, for a value g missing below a visible value h:
//  - every writer of vitals has its transaction id before it takes an ingest_seq (ingest
//    writes its staging table first; the registry locks the device row first; see
//    pg_sample_store.cc and registry_service.cc), and g was taken before h, which committed
//    before the read that saw h;
//  - so g's writer, if it has not committed, was running when the read ran, and is among the
//    transactions in progress in a snapshot taken after that read (its *witnesses*);
//  - once every witness has ended (checked before a later read), g's writer has committed,
//    and that later read shows g, or it never will.
// A gap is therefore never passed in the round that first sees it, and a gap of values no
// transaction took (a crash's jump) is passed one round later.
//
// Use, in the consumer's READ COMMITTED transaction (each statement sees what committed before
// it began), once per round:
//   BeforeRead(tx); rows = read; to = AfterRead(tx, cursor, seqs);
// The pure steps (Settle, Advance, Witness) are public for the unit tests.
//
// A gap held longer than `report_after` (10 s by default) is logged once (gap.held: its range, how long, and
// the witnesses still running with what pg_stat_activity says of them), so an operator can find
// the transaction a consumer is waiting for.
//
// Not thread-safe; one per consumer. A new tracker (after a restart) witnesses gaps afresh.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <pqxx/pqxx>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace healthtwin::common {

class GapTracker {
 public:
  // `consumer` names the tracker in its log lines.
  explicit GapTracker(std::string consumer = {},
                      std::chrono::steady_clock::duration report_after = std::chrono::seconds(10))
      : consumer_(std::move(consumer)), report_after_(report_after) {}

  // Settles the gaps whose witnesses have all ended; queries PostgreSQL only while gaps are
  // being tracked.
  void BeforeRead(pqxx::work& tx);
  // Advances over `seqs` (the ingest_seq values read after `cursor`, ascending) and, when the
  // read found new gaps, witnesses them with the transactions in progress now.
  int64_t AfterRead(pqxx::work& tx, int64_t cursor, std::span<const int64_t> seqs);

  // The transaction ids (xid8) that witness unsettled gaps.
  std::vector<int64_t> Witnesses() const;
  // `in_progress`: those of Witnesses() still running. A gap none of whose witnesses runs is
  // settled.
  void Settle(std::span<const int64_t> in_progress);
  // Returns how far the cursor may move: over every value present and every settled missing
  // value, stopping before the first unsettled one. Missing values not seen before start
  // being tracked, unwitnessed.
  int64_t Advance(int64_t cursor, std::span<const int64_t> seqs);
  bool NeedsWitnesses() const;
  // `in_progress`: the transactions in progress in a snapshot taken after the read that
  // Advance was given. Witnesses every gap that has none yet.
  void Witness(std::span<const int64_t> in_progress);

  // Missing values being tracked (for tests).
  size_t tracked_ranges() const { return gaps_.size(); }
  // Gaps witnessed at least `age` ago and still unsettled that have not been reported yet;
  // marks them reported. Each as {first, last, witnesses}.
  struct HeldGap {
    int64_t first;
    int64_t last;
    std::vector<int64_t> witnesses;
    std::chrono::steady_clock::duration held;
  };
  std::vector<HeldGap> TakeHeldLongerThan(std::chrono::steady_clock::duration age,
                                          std::chrono::steady_clock::time_point now);

 private:
  struct Gap {
    int64_t last;
    bool witnessed = false;
    bool settled = false;
    bool reported = false;
    std::chrono::steady_clock::time_point witnessed_at = {};
    std::vector<int64_t> witnesses = {};
  };
  // Logs the gaps held longer than report_after_, naming the witnesses still running.
  void ReportHeld(pqxx::work& tx, std::span<const int64_t> running);

  std::string consumer_;
  std::chrono::steady_clock::duration report_after_;
  // Records [lo, hi] as missing (new parts unwitnessed); true if any part is unsettled.
  bool Unsettled(int64_t lo, int64_t hi);

  std::map<int64_t, Gap> gaps_;  // disjoint ranges of missing values by first value
};

}  // namespace healthtwin::common
