-- Registry, vitals, quarantine, fan-out cursors, alerts, audit and twin snapshots:
-- the first real schema of the walking skeleton. Later migrations partition vitals
-- (ingest) and add PHI encryption (clinician_api).

CREATE TABLE patients (
  patient_id   text PRIMARY KEY CHECK (patient_id ~ '^[A-Za-z0-9._-]{1,64}$'),
  sex          smallint NOT NULL DEFAULT 0,
  birth_year   integer,
  height_cm    double precision,
  conditions   smallint[] NOT NULL DEFAULT '{}',
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
  device_id          text PRIMARY KEY CHECK (length(device_id) BETWEEN 1 AND 128),
  kind               smallint NOT NULL,
  manufacturer       text NOT NULL DEFAULT '',
  model              text NOT NULL DEFAULT '',
  serial_number      text NOT NULL DEFAULT '',
  firmware_revision  text NOT NULL DEFAULT '',
  patient_id         text REFERENCES patients (patient_id),
  bound_at           timestamptz
);
CREATE INDEX devices_patient_idx ON devices (patient_id);

-- Members are named by the common name of their client certificate.
CREATE TABLE care_team (
  patient_id  text NOT NULL REFERENCES patients (patient_id),
  member      text NOT NULL,
  added_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (patient_id, member)
);
CREATE INDEX care_team_member_idx ON care_team (member);

-- One row per accepted sample, in the canonical UCUM unit of its type, partitioned by month
-- of measured_at (declarative range partitioning; see healthtwin_ensure_vitals_partitions and
-- healthtwin_apply_vitals_retention below). Rows outside every monthly partition (e.g. very old
-- records fetched from a device) land in vitals_default.
-- ingest_seq orders rows for consumers (alerts, twin); it may have gaps.
CREATE SEQUENCE vitals_ingest_seq AS bigint;
CREATE TABLE vitals (
  ingest_seq         bigint NOT NULL DEFAULT nextval('vitals_ingest_seq'),
  patient_id         text NOT NULL,
  device_id          text NOT NULL,
  vital_type         smallint NOT NULL,
  value              double precision NOT NULL,
  ucum_unit          text NOT NULL,
  measured_at        timestamptz NOT NULL,
  received_at        timestamptz,
  device_record_seq  bigint NOT NULL DEFAULT 0,
  flags              integer NOT NULL DEFAULT 0,
  bridge_id          text NOT NULL,
  stored_at          timestamptz NOT NULL DEFAULT now(),
  -- The idempotency key: a replay of the same reading never creates a second row.
  UNIQUE (device_id, vital_type, measured_at, device_record_seq)
) PARTITION BY RANGE (measured_at);
ALTER SEQUENCE vitals_ingest_seq OWNED BY vitals.ingest_seq;
CREATE INDEX vitals_patient_time_idx ON vitals (patient_id, vital_type, measured_at);
-- BRIN, not btree: ingest_seq grows with insertion order, so block ranges summarise it well,
-- consumers scan only the newest ranges, and inserts skip a second btree per row.
CREATE INDEX vitals_ingest_seq_idx ON vitals USING brin (ingest_seq) WITH (pages_per_range = 32, autosummarize = on);
CREATE TABLE vitals_default PARTITION OF vitals DEFAULT;

-- Creates the monthly partitions from the current month to `months_ahead` months ahead.
-- Rows already sitting in vitals_default for a new month are moved into it. Returns how many
-- partitions were created. Safe to call concurrently (serialised by an advisory lock).
CREATE FUNCTION healthtwin_ensure_vitals_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
  first_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
  m date;
  part text;
  created integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(7468657275);
  FOR i IN 0..months_ahead LOOP
    m := (first_month + make_interval(months => i))::date;
    part := format('vitals_%s', to_char(m, 'YYYYMM'));
    CONTINUE WHEN to_regclass(part) IS NOT NULL;
    CREATE TEMP TABLE healthtwin_moving ON COMMIT DROP AS
      SELECT * FROM vitals_default WHERE measured_at >= m AND measured_at < m + interval '1 month';
    DELETE FROM vitals_default WHERE measured_at >= m AND measured_at < m + interval '1 month';
    EXECUTE format('CREATE TABLE %I PARTITION OF vitals FOR VALUES FROM (%L) TO (%L)',
                   part, m::timestamptz, (m + interval '1 month')::timestamptz);
    INSERT INTO vitals SELECT * FROM healthtwin_moving;
    DROP TABLE healthtwin_moving;
    created := created + 1;
  END LOOP;
  RETURN created;
END
$fn$;

-- Drops monthly partitions that end on or before now() - keep_days, and deletes older rows
-- from vitals_default. Returns the number of partitions dropped.
CREATE FUNCTION healthtwin_apply_vitals_retention(keep_days integer) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
  cutoff timestamptz := now() - make_interval(days => keep_days);
  part record;
  dropped integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(7468657275);
  FOR part IN
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'vitals'::regclass AND c.relname ~ '^vitals_[0-9]{6}$'
      AND (to_date(substr(c.relname, 8), 'YYYYMM') + interval '1 month') <= cutoff
  LOOP
    EXECUTE format('DROP TABLE %I', part.relname);
    dropped := dropped + 1;
  END LOOP;
  DELETE FROM vitals_default WHERE measured_at < cutoff;
  RETURN dropped;
END
$fn$;

SELECT healthtwin_ensure_vitals_partitions(2);

-- Samples from unknown or unbound devices wait here for review; never dropped.
CREATE TABLE quarantine (
  id                 bigserial PRIMARY KEY,
  device_id          text NOT NULL,
  vital_type         smallint NOT NULL,
  value              double precision NOT NULL,
  ucum_unit          text NOT NULL,
  measured_at        timestamptz NOT NULL,
  received_at        timestamptz,
  device_record_seq  bigint NOT NULL DEFAULT 0,
  flags              integer NOT NULL DEFAULT 0,
  bridge_id          text NOT NULL,
  reason             text NOT NULL,
  quarantined_at     timestamptz NOT NULL DEFAULT now(),
  released_at        timestamptz,
  UNIQUE (device_id, vital_type, measured_at, device_record_seq)
);

-- Where each consumer of the vitals table has got to.
CREATE TABLE consumer_cursors (
  consumer    text PRIMARY KEY,
  last_seq    bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alerts (
  alert_id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  patient_id            text NOT NULL,
  rule_id               text NOT NULL,
  priority              smallint NOT NULL,
  state                 smallint NOT NULL,
  summary               text NOT NULL,
  condition_started_at  timestamptz NOT NULL,
  raised_at             timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  peak_value            double precision NOT NULL,
  ucum_unit             text NOT NULL,
  duration_s            double precision NOT NULL,
  -- Deduplication: one alert per patient, rule and episode.
  UNIQUE (patient_id, rule_id, condition_started_at)
);
CREATE INDEX alerts_patient_idx ON alerts (patient_id, raised_at);

CREATE TABLE alert_acknowledgements (
  alert_id         uuid NOT NULL REFERENCES alerts (alert_id),
  recipient        text NOT NULL,
  acknowledged_at  timestamptz NOT NULL DEFAULT now(),
  note             text NOT NULL DEFAULT '',
  PRIMARY KEY (alert_id, recipient)
);

-- The stream subscribers read: every raise and every change of an alert, in order.
CREATE TABLE alert_events (
  event_seq   bigserial PRIMARY KEY,
  alert_id    uuid NOT NULL REFERENCES alerts (alert_id),
  kind        smallint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Every access to patient data, allowed or denied (FHIR AuditEvent in spirit).
-- Hash chaining arrives with the clinician_api issue.
CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  actor       text NOT NULL,
  role        text NOT NULL,
  action      text NOT NULL,
  patient_id  text,
  outcome     text NOT NULL,
  detail      text NOT NULL DEFAULT '',
  peer        text NOT NULL DEFAULT ''
);

CREATE TABLE twin_snapshots (
  patient_id         text NOT NULL,
  version            bigint NOT NULL,
  model_version      text NOT NULL,
  reason             smallint NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  data_window_start  timestamptz,
  data_window_end    timestamptz,
  parameters         jsonb NOT NULL,
  covariance         double precision[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (patient_id, version)
);
