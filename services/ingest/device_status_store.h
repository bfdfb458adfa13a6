// Where validated device statuses and gateway heartbeats go. The production implementation is
// PgDeviceStatusStore (migration 0008 has the tables); unit tests use a fake.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ingest/device_status.h"

namespace healthtwin::ingest {

struct StatusStoreOutcome {
  uint32_t stored = 0;
  uint32_t duplicates = 0;  // already stored: same device, bridge and observed_at (a resend)
  bool heartbeat_stored = false;
};

class DeviceStatusStore {
 public:
  virtual ~DeviceStatusStore() = default;
  // Stores the statuses (history, and latest per device when newer) and the heartbeat (latest
  // per bridge) atomically and durably before returning OK; on error nothing is stored.
  // `received_at_us` is ingest's clock. A status already stored counts as a duplicate.
  virtual absl::StatusOr<StatusStoreOutcome> StoreStatuses(std::string_view bridge_id,
                                                           const std::vector<ValidDeviceStatus>& statuses,
                                                           const std::optional<GatewayHeartbeat>& heartbeat,
                                                           int64_t received_at_us) = 0;
};

}  // namespace healthtwin::ingest
