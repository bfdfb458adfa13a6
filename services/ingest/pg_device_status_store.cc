#include "services/ingest/pg_device_status_store.h"

#include "services/common/binding.h"

namespace healthtwin::ingest {
namespace {

// $1 device, $2 bridge, $3 observed_at (unix us), $4 battery, $5 contact, $6 connected,
// $7 connection_changed_at (unix us), $8 skew, $9 received_at (unix us), $10 binding grace (s).
constexpr const char* kInsertStatus = R"sql(
  WITH owner AS (
    SELECT d.patient_id FROM devices d
    WHERE d.device_id = $1 AND d.patient_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM device_gateways g WHERE g.device_id = d.device_id AND g.bridge_id = $2)
      AND timestamptz 'epoch' + $3::bigint * interval '1 microsecond'
          >= d.bound_at - $10::integer * interval '1 second'),
  ins AS (
    INSERT INTO device_status_history (device_id, patient_id, bridge_id, observed_at, battery_percent,
                                       sensor_contact, connected, connection_changed_at, clock_skew_s, received_at)
    VALUES ($1, (SELECT patient_id FROM owner), $2, timestamptz 'epoch' + $3::bigint * interval '1 microsecond',
            $4::smallint, $5::smallint, $6::boolean, timestamptz 'epoch' + $7::bigint * interval '1 microsecond',
            $8::double precision, timestamptz 'epoch' + $9::bigint * interval '1 microsecond')
    ON CONFLICT (device_id, bridge_id, observed_at) DO NOTHING
    RETURNING device_id, patient_id, bridge_id, observed_at, battery_percent, sensor_contact, connected,
              connection_changed_at, clock_skew_s, received_at),
  latest AS (
    INSERT INTO device_status_latest AS l (device_id, patient_id, bridge_id, observed_at, battery_percent,
                                           sensor_contact, connected, connection_changed_at, clock_skew_s,
                                           received_at)
    SELECT * FROM ins
    ON CONFLICT (device_id) DO UPDATE SET
      patient_id = excluded.patient_id, bridge_id = excluded.bridge_id, observed_at = excluded.observed_at,
      battery_percent = coalesce(excluded.battery_percent, l.battery_percent),
      sensor_contact = excluded.sensor_contact, connected = excluded.connected,
      connection_changed_at = excluded.connection_changed_at,
      clock_skew_s = coalesce(excluded.clock_skew_s, l.clock_skew_s), received_at = excluded.received_at
    WHERE l.observed_at < excluded.observed_at
    RETURNING 1)
  SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM latest))sql";

// $1 bridge, $2 observed_at (unix us), $3 received_at (unix us), $4 depth, $5 version, $6 uptime.
constexpr const char* kUpsertHeartbeat = R"sql(
  INSERT INTO gateway_heartbeats (bridge_id, observed_at, received_at, outbox_depth, bridge_version, uptime_s)
  VALUES ($1, timestamptz 'epoch' + $2::bigint * interval '1 microsecond',
          timestamptz 'epoch' + $3::bigint * interval '1 microsecond', $4::bigint, $5, $6::bigint)
  ON CONFLICT (bridge_id) DO UPDATE SET
    observed_at = excluded.observed_at, received_at = excluded.received_at, outbox_depth = excluded.outbox_depth,
    bridge_version = excluded.bridge_version, uptime_s = excluded.uptime_s)sql";

}  // namespace

absl::StatusOr<StatusStoreOutcome> PgDeviceStatusStore::StoreStatuses(std::string_view bridge_id,
                                                                      const std::vector<ValidDeviceStatus>& statuses,
                                                                      const std::optional<GatewayHeartbeat>& heartbeat,
                                                                      int64_t received_at_us) {
  StatusStoreOutcome outcome;
  const std::string bridge(bridge_id);
  auto status = pool_.WithTransaction("store device statuses", [&](pqxx::work& tx) {
    outcome = {};
    // Statuses are few (a change, or a battery level every 10 minutes, per device), so one
    // parameterised statement each is plenty.
    for (const ValidDeviceStatus& s : statuses) {
      const std::optional<int> battery = s.battery_percent;
      auto r = tx.exec_params(kInsertStatus, s.device_id, bridge, s.observed_at_us, battery,
                              static_cast<int>(s.sensor_contact), s.connected, s.connection_changed_at_us,
                              s.clock_skew_s, received_at_us, common::kBindingClockGraceS);
      if (r[0][0].as<int64_t>() > 0) {
        ++outcome.stored;
      } else {
        ++outcome.duplicates;
      }
    }
    if (heartbeat) {
      tx.exec_params(kUpsertHeartbeat, bridge, heartbeat->observed_at_us, received_at_us, heartbeat->outbox_depth,
                     heartbeat->bridge_version, heartbeat->uptime_s);
      outcome.heartbeat_stored = true;
    }
    if (outcome.stored > 0) tx.exec("SELECT pg_notify('device_status_new', '')");
  });
  if (!status.ok()) return status;
  return outcome;
}

}  // namespace healthtwin::ingest
