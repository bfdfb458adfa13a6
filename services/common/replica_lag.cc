#include "services/common/replica_lag.h"

#include <algorithm>

namespace healthtwin::common {

void ReplicaLag::RecordPrimary(Clock::time_point sent_at, int64_t insert_lsn) {
  std::lock_guard lock(mu_);
  // A failover (a new primary at a lower position) or out-of-order samples: start over
  // rather than keep a history that is no longer monotonic.
  if (!samples_.empty() && (insert_lsn < samples_.back().lsn || sent_at < samples_.back().at)) samples_.clear();
  samples_.push_back({sent_at, insert_lsn});
  // Keep the newest sample older than the horizon too: it still proves the standby is fresher
  // than `keep` when nothing was written since.
  while (samples_.size() > 1 && samples_[1].at < sent_at - keep_) samples_.pop_front();
}

std::optional<std::chrono::milliseconds> ReplicaLag::LagAt(int64_t replay_lsn, Clock::time_point now) const {
  std::lock_guard lock(mu_);
  // The newest sample the standby has replayed past.
  auto it = std::find_if(samples_.rbegin(), samples_.rend(), [&](const Sample& s) { return s.lsn <= replay_lsn; });
  if (it == samples_.rend()) return std::nullopt;
  return std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(now - it->at));
}

}  // namespace healthtwin::common
