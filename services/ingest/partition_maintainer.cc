#include "services/ingest/partition_maintainer.h"

#include <chrono>

#include "services/common/logging.h"

namespace healthtwin::ingest {

PartitionMaintainer::~PartitionMaintainer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PartitionMaintainer::Start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    do {
      lock.unlock();
      if (auto s = RunOnce(); !s.ok()) common::LogWarn("ingest.partition_maintenance_failed", {{"error", s.message()}});
      lock.lock();
    } while (!cv_.wait_for(lock, std::chrono::hours(1), [&] { return stop_; }));
  });
}

absl::Status PartitionMaintainer::RunOnce() {
  int created = 0, dropped = 0, statuses_deleted = 0;
  auto s = pool_.WithTransaction("maintain vitals partitions", [&](pqxx::work& tx) {
    created = tx.exec_params("SELECT healthtwin_ensure_vitals_partitions($1)", kPartitionMonthsAhead)[0][0].as<int>();
    if (retention_days_ > 0) {
      dropped = tx.exec_params("SELECT healthtwin_apply_vitals_retention($1)", retention_days_)[0][0].as<int>();
      statuses_deleted =
          tx.exec_params("SELECT healthtwin_apply_device_status_retention($1)", retention_days_)[0][0].as<int>();
    }
  });
  if (s.ok() && (created > 0 || dropped > 0 || statuses_deleted > 0)) {
    common::LogInfo("ingest.partitions", {{"created", created},
                                          {"dropped", dropped},
                                          {"device_statuses_deleted", statuses_deleted},
                                          {"retention_days", retention_days_}});
  }
  return s;
}

}  // namespace healthtwin::ingest
