// DeviceStatusStore on PostgreSQL (migration 0008_device_status.sql has the tables and what
// each column means). One transaction per batch, synchronous commit: OK means durable.
//
// The batch's statuses go in one statement (array parameters): into device_status_history with
// ON CONFLICT (device_id, bridge_id, observed_at) DO NOTHING, so a resend stores nothing twice;
// then the newest new status of each device moves device_status_latest, only forward in
// observed_at. The patient is resolved as for samples
// (pg_sample_store.h): bound device, sending bridge among its gateways, observed after the
// binding less kBindingClockGraceS; otherwise the status is stored with a NULL patient. The
// heartbeat replaces its bridge's row in gateway_heartbeats. A NOTIFY on "device_status_new"
// (empty payload) wakes the alerts service when at least one status was new.
#pragma once

#include "services/common/pg.h"
#include "services/ingest/device_status_store.h"

namespace healthtwin::ingest {

class PgDeviceStatusStore : public DeviceStatusStore {
 public:
  explicit PgDeviceStatusStore(common::PgPool& pool) : pool_(pool) {}
  absl::StatusOr<StatusStoreOutcome> StoreStatuses(std::string_view bridge_id,
                                                   const std::vector<ValidDeviceStatus>& statuses,
                                                   const std::optional<GatewayHeartbeat>& heartbeat,
                                                   int64_t received_at_us) override;

 private:
  common::PgPool& pool_;
};

}  // namespace healthtwin::ingest
