-- Device and gateway status from the bridges (issue 11): the input of technical alarms, which
-- IEC 60601-1-8 keeps apart from physiological ones (a strap that fell off, a flat battery, a
-- device that stopped sending, a wrong device clock, a gateway that went quiet).
--
-- Written by ingest (services/ingest/pg_device_status_store.cc) from the DeviceStatus and
-- GatewayStatus messages of healthtwin.vitals.v1 (protos/healthtwin/vitals/v1/vitals.proto has
-- the meaning of every field); read by the alerts service, which ingest wakes with
-- NOTIFY device_status_new after each commit that stored a status.
--
-- patient_id is the device's patient when the status arrived, resolved like a sample's: the
-- device is bound to the patient, the sending bridge is one of the device's gateways, and the
-- status was observed after the binding (less the binding clock grace). Otherwise NULL: a status
-- of an unknown or unbound device is stored all the same (a device waiting for enrolment can be
-- running flat), never quarantined.
--
-- sensor_contact holds healthtwin.vitals.v1.SensorContact: 0 unknown, 1 not supported by the
-- device, 2 detected, 3 not detected. clock_skew_s is the device clock minus the gateway clock
-- in seconds, from the Current Time read at the last connect.

-- Every status ever received, append-only. A resend (the bridge retries after a failure) hits
-- the UNIQUE key and is not stored twice.
CREATE TABLE device_status_history (
  id                     bigserial PRIMARY KEY,
  device_id              text NOT NULL CHECK (length(device_id) BETWEEN 1 AND 128),
  patient_id             text,
  bridge_id              text NOT NULL,
  observed_at            timestamptz NOT NULL,  -- gateway clock
  battery_percent        smallint CHECK (battery_percent BETWEEN 0 AND 100),
  sensor_contact         smallint NOT NULL CHECK (sensor_contact BETWEEN 0 AND 3),
  connected              boolean NOT NULL,
  connection_changed_at  timestamptz NOT NULL,  -- gateway clock
  clock_skew_s           double precision,
  received_at            timestamptz NOT NULL,  -- ingest clock
  UNIQUE (device_id, bridge_id, observed_at)
);
CREATE INDEX device_status_history_patient_idx ON device_status_history (patient_id, observed_at);

-- One row per device: its newest status (by observed_at; an older status arriving late, e.g.
-- from a second gateway's backlog, leaves it alone). battery_percent and clock_skew_s keep the
-- last known value when the newest status does not carry one (a status sent at connect, before
-- the battery was read); the history shows when each value was observed.
CREATE TABLE device_status_latest (
  device_id              text PRIMARY KEY CHECK (length(device_id) BETWEEN 1 AND 128),
  patient_id             text,
  bridge_id              text NOT NULL,
  observed_at            timestamptz NOT NULL,
  battery_percent        smallint CHECK (battery_percent BETWEEN 0 AND 100),
  sensor_contact         smallint NOT NULL CHECK (sensor_contact BETWEEN 0 AND 3),
  connected              boolean NOT NULL,
  connection_changed_at  timestamptz NOT NULL,
  clock_skew_s           double precision,
  received_at            timestamptz NOT NULL
);
CREATE INDEX device_status_latest_patient_idx ON device_status_latest (patient_id);

-- The last heartbeat of each bridge (bridge_id is its mutual-TLS identity). A gateway is silent
-- when received_at (ingest clock) is old; observed_at is the gateway's own clock.
CREATE TABLE gateway_heartbeats (
  bridge_id       text PRIMARY KEY,
  observed_at     timestamptz NOT NULL,
  received_at     timestamptz NOT NULL,
  outbox_depth    bigint NOT NULL CHECK (outbox_depth >= 0),
  bridge_version  text NOT NULL DEFAULT '',
  uptime_s        bigint NOT NULL DEFAULT 0 CHECK (uptime_s >= 0)
);

-- Retention: the history follows the vitals retention (ingest --vitals-retention-days, run by
-- partition_maintainer.cc). Ingest holds no DELETE on it (the history is append-only for every
-- service), so a function owned by the migrator deletes what is older than `keep_days` and
-- returns how many rows went. device_status_latest keeps each device's newest row whatever its age.
CREATE FUNCTION healthtwin_apply_device_status_retention(keep_days integer) RETURNS integer
LANGUAGE sql AS $fn$
  WITH gone AS (
    DELETE FROM device_status_history WHERE observed_at < now() - make_interval(days => keep_days) RETURNING 1)
  SELECT count(*)::integer FROM gone
$fn$;
ALTER FUNCTION healthtwin_apply_device_status_retention(integer) SECURITY DEFINER SET search_path = public, pg_temp;
REVOKE ALL ON FUNCTION healthtwin_apply_device_status_retention(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION healthtwin_apply_device_status_retention(integer) TO healthtwin_ingest;

-- ingest writes all three (INSERT ... ON CONFLICT ... RETURNING needs SELECT, DO UPDATE needs
-- UPDATE); alerts reads them. docs/database-roles.md has the matrix.
GRANT SELECT, INSERT ON device_status_history TO healthtwin_ingest;
GRANT USAGE ON SEQUENCE device_status_history_id_seq TO healthtwin_ingest;
GRANT SELECT, INSERT, UPDATE ON device_status_latest, gateway_heartbeats TO healthtwin_ingest;
GRANT SELECT ON device_status_history, device_status_latest, gateway_heartbeats TO healthtwin_alerts;
