// Keeps the vitals table's monthly partitions created ahead of time and, when a retention
// period is set, drops partitions that have fallen out of it. Runs once at start and then
// every hour on its own thread. Failures are logged and retried next round.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "services/common/pg.h"

namespace healthtwin::ingest {

inline constexpr int kPartitionMonthsAhead = 2;

class PartitionMaintainer {
 public:
  // `retention_days` 0 keeps vitals forever.
  PartitionMaintainer(common::PgPool& pool, int retention_days) : pool_(pool), retention_days_(retention_days) {}
  ~PartitionMaintainer();

  void Start();
  // One round: ensure partitions ahead, apply retention. Exposed for tests.
  absl::Status RunOnce();

 private:
  common::PgPool& pool_;
  const int retention_days_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace healthtwin::ingest
