// How far a hot standby is behind its primary, in time, without trusting either clock and
// without being fooled by an idle primary.
//
// The service samples the primary's WAL insert position (pg_current_wal_insert_lsn()) every
// few hundred milliseconds and stamps each sample with its own steady clock, taken before the
// query is sent: every transaction committed before that instant ends at or below the sampled
// position. A standby that has replayed up to position R therefore holds every commit made
// before the newest sample at or below R, and its data is at most `now - that sample's time`
// old. That is the lag reported: an upper bound, as fine as the sampling period.
//
// Why not `now() - pg_last_xact_replay_timestamp()` on the standby: on an idle primary no
// transaction commits, so that figure grows without bound while the standby is fully caught
// up (reads would fall back for nothing), and it compares the standby's clock with the
// primary's. Here an idle primary keeps its position, every sample is at or below R, and the
// lag stays at the sampling period. The caveat goes the other way: WAL that is not a commit
// (a checkpoint record, hint bits with wal_log_hints) also advances the position, so the
// bound can be pessimistic by up to one sampling period, never optimistic.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace healthtwin::common {

class ReplicaLag {
 public:
  using Clock = std::chrono::steady_clock;

  // Samples older than `keep` are forgotten (keep at least the largest lag anyone asks about).
  explicit ReplicaLag(std::chrono::milliseconds keep) : keep_(keep) {}

  // The primary's WAL insert position (bytes) read by a query sent at `sent_at`.
  void RecordPrimary(Clock::time_point sent_at, int64_t insert_lsn);

  // The bound on the data age of a standby that has replayed up to `replay_lsn`, at `now`.
  // nullopt when no sample proves anything (none yet, or every remembered sample is past
  // `replay_lsn`): the standby is then at least `keep` behind, or we cannot tell.
  std::optional<std::chrono::milliseconds> LagAt(int64_t replay_lsn, Clock::time_point now) const;

 private:
  struct Sample {
    Clock::time_point at;
    int64_t lsn;
  };
  const std::chrono::milliseconds keep_;
  mutable std::mutex mu_;
  std::deque<Sample> samples_;  // oldest first; lsn never decreases
};

}  // namespace healthtwin::common
