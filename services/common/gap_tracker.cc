#include "services/common/gap_tracker.h"

#include <algorithm>
#include <iterator>

namespace healthtwin::common {

bool GapTracker::Young(int64_t lo, int64_t hi, int64_t now_ms) {
  bool young = false;
  int64_t next = lo;  // the first value of [lo, hi] not yet covered by a known range
  auto it = gaps_.upper_bound(lo);
  if (it != gaps_.begin() && std::prev(it)->second.last >= lo) --it;
  while (next <= hi) {
    if (it == gaps_.end() || it->first > hi) {
      gaps_.emplace(next, Gap{hi, now_ms});
      young = young || grace_ms_ > 0;
      break;
    }
    if (it->first > next) {  // an uncovered stretch before the known range
      gaps_.emplace(next, Gap{it->first - 1, now_ms});
      young = young || grace_ms_ > 0;
    }
    young = young || now_ms - it->second.first_seen_ms < grace_ms_;
    next = it->second.last + 1;
    ++it;
  }
  return young;
}

int64_t GapTracker::Advance(int64_t cursor, std::span<const int64_t> seqs, int64_t now_ms) {
  int64_t advance_to = cursor;
  for (int64_t seq : seqs) {
    if (seq <= advance_to) continue;
    if (seq > advance_to + 1 && Young(advance_to + 1, seq - 1, now_ms)) break;
    advance_to = seq;
  }
  // Ranges the cursor has passed are done with.
  while (!gaps_.empty() && gaps_.begin()->second.last <= advance_to) gaps_.erase(gaps_.begin());
  return advance_to;
}

}  // namespace healthtwin::common
