#include "services/ingest/pg_device_status_store.h"

#include <charconv>

#include "services/common/binding.h"

namespace healthtwin::ingest {
namespace {

// Every status of the batch in one statement: the columns arrive as array parameters ($1..$7),
// $8 the bridge, $9 received_at (unix us), $10 the binding grace (s). The history insert skips a
// status already stored (or sent twice in the batch); the latest row of each device is then
// moved by the newest new status of that device, if it is newer than the row, with the last
// known battery level and skew (of this batch, else of the row) when the newest has none.
constexpr const char* kInsertStatuses = R"sql(
  WITH incoming AS (
    SELECT u.device_id, timestamptz 'epoch' + u.observed_us * interval '1 microsecond' AS observed_at,
           u.battery_percent, u.sensor_contact, u.connected,
           timestamptz 'epoch' + u.changed_us * interval '1 microsecond' AS connection_changed_at, u.clock_skew_s
    FROM unnest($1::text[], $2::bigint[], $3::smallint[], $4::smallint[], $5::boolean[], $6::bigint[],
                $7::double precision[])
         AS u(device_id, observed_us, battery_percent, sensor_contact, connected, changed_us, clock_skew_s)),
  ins AS (
    INSERT INTO device_status_history (device_id, patient_id, bridge_id, observed_at, battery_percent,
                                       sensor_contact, connected, connection_changed_at, clock_skew_s, received_at)
    SELECT i.device_id,
           (SELECT d.patient_id FROM devices d
            WHERE d.device_id = i.device_id AND d.patient_id IS NOT NULL
              AND EXISTS (SELECT 1 FROM device_gateways g WHERE g.device_id = d.device_id AND g.bridge_id = $8)
              AND i.observed_at >= d.bound_at - $10::integer * interval '1 second'),
           $8, i.observed_at, i.battery_percent, i.sensor_contact, i.connected, i.connection_changed_at,
           i.clock_skew_s, timestamptz 'epoch' + $9::bigint * interval '1 microsecond'
    FROM incoming i
    ON CONFLICT (device_id, bridge_id, observed_at) DO NOTHING
    RETURNING *),
  newest AS (
    SELECT DISTINCT ON (n.device_id) n.device_id, n.patient_id, n.bridge_id, n.observed_at,
           coalesce(n.battery_percent, (SELECT b.battery_percent FROM ins b WHERE b.device_id = n.device_id
                                        AND b.battery_percent IS NOT NULL ORDER BY b.observed_at DESC LIMIT 1))
             AS battery_percent,
           n.sensor_contact, n.connected, n.connection_changed_at,
           coalesce(n.clock_skew_s, (SELECT k.clock_skew_s FROM ins k WHERE k.device_id = n.device_id
                                     AND k.clock_skew_s IS NOT NULL ORDER BY k.observed_at DESC LIMIT 1))
             AS clock_skew_s,
           n.received_at
    FROM ins n ORDER BY n.device_id, n.observed_at DESC),
  latest AS (
    INSERT INTO device_status_latest AS l (device_id, patient_id, bridge_id, observed_at, battery_percent,
                                           sensor_contact, connected, connection_changed_at, clock_skew_s,
                                           received_at)
    SELECT * FROM newest
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

// A PostgreSQL array literal ("{a,b,NULL}") built one element at a time; it is sent as a bound
// parameter, never spliced into the SQL.
class ArrayLiteral {
 public:
  void Text(std::string_view v) {
    Sep();
    out_ += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out_ += '\\';
      out_ += c;
    }
    out_ += '"';
  }
  template <typename T>
  void Number(T v) {
    Sep();
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact form for doubles
    out_.append(buf, end);
  }
  template <typename T>
  void Maybe(const std::optional<T>& v) {
    if (v) {
      Number(*v);
    } else {
      Sep();
      out_ += "NULL";
    }
  }
  void Bool(bool v) {
    Sep();
    out_ += v ? 't' : 'f';
  }
  std::string Done() { return out_ + '}'; }

 private:
  void Sep() { out_ += out_.size() > 1 ? "," : ""; }
  std::string out_ = "{";
};

}  // namespace

absl::StatusOr<StatusStoreOutcome> PgDeviceStatusStore::StoreStatuses(std::string_view bridge_id,
                                                                      const std::vector<ValidDeviceStatus>& statuses,
                                                                      const std::optional<GatewayHeartbeat>& heartbeat,
                                                                      int64_t received_at_us) {
  ArrayLiteral devices, observed, battery, contact, connected, changed, skew;
  for (const ValidDeviceStatus& s : statuses) {
    devices.Text(s.device_id);
    observed.Number(s.observed_at_us);
    battery.Maybe(s.battery_percent);
    contact.Number(static_cast<int>(s.sensor_contact));
    connected.Bool(s.connected);
    changed.Number(s.connection_changed_at_us);
    skew.Maybe(s.clock_skew_s);
  }
  StatusStoreOutcome outcome;
  const std::string bridge(bridge_id);
  auto status = pool_.WithTransaction("store device statuses", [&](pqxx::work& tx) {
    outcome = {};
    if (!statuses.empty()) {
      auto r = tx.exec_params(kInsertStatuses, devices.Done(), observed.Done(), battery.Done(), contact.Done(),
                              connected.Done(), changed.Done(), skew.Done(), bridge, received_at_us,
                              common::kBindingClockGraceS);
      outcome.stored = r[0][0].as<uint32_t>();
      outcome.duplicates = static_cast<uint32_t>(statuses.size()) - outcome.stored;
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
