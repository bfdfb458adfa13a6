// Where a consumer of the vitals table may move its cursor. ingest_seq values are taken before
// commit, so a lower value can become visible after a higher one; a missing value is either a
// transaction still in flight or one that will never commit (a rollback, or the up to 32 values
// PostgreSQL skips after a crash because it logs sequences ahead). The cursor waits at a value
// until it has been missing for the grace period, then passes it.
//
// A gap is aged as a whole: every value of a run of missing values is first seen at the same
// moment, so a crash's 32-value jump costs one grace period, not 32 of them.
//
// Not thread-safe; one per consumer.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <span>

namespace healthtwin::common {

class GapTracker {
 public:
  explicit GapTracker(std::chrono::milliseconds grace) : grace_ms_(grace.count()) {}

  // `seqs`: the ingest_seq values read after `cursor`, ascending. Returns how far the cursor
  // may move: over every value present and every missing value that has been missing for at
  // least the grace period, stopping before the first younger one.
  int64_t Advance(int64_t cursor, std::span<const int64_t> seqs, int64_t now_ms);

  // Missing values being aged (for tests).
  size_t tracked_ranges() const { return gaps_.size(); }

 private:
  struct Gap {
    int64_t last;
    int64_t first_seen_ms;
  };
  // Records [lo, hi] as missing (new parts seen now); true if any part is younger than grace.
  bool Young(int64_t lo, int64_t hi, int64_t now_ms);

  const int64_t grace_ms_;
  std::map<int64_t, Gap> gaps_;  // disjoint ranges of missing values by first value
};

}  // namespace healthtwin::common
