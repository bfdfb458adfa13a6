-- Twin personalisation (issue 7): the service's restorable twin state, drift events and the
-- calibration log. See services/twin/README.md for the persistence and sharding policy.

-- Every snapshot now also carries the twin's full restorable state (models/calibration
-- TwinSnapshot as JSON, twin_json.h), so a restarted service resumes from it exactly.
-- covered_seq: every vitals row of this patient with ingest_seq <= covered_seq is absorbed in
-- `state`; the consumer skips such rows when it replays from its (lagging) cursor.
-- state_time: the newest sample absorbed (data time, not write time).
ALTER TABLE twin_snapshots
  ADD COLUMN state             jsonb,
  ADD COLUMN covered_seq       bigint NOT NULL DEFAULT 0,
  ADD COLUMN state_time        timestamptz,
  ADD COLUMN samples_absorbed  bigint NOT NULL DEFAULT 0,
  ADD COLUMN calibrated        boolean NOT NULL DEFAULT false,
  ADD COLUMN fit_quality       jsonb;
-- "What did the twin believe at X" reads by (patient, created_at).
CREATE INDEX twin_snapshots_patient_created_idx ON twin_snapshots (patient_id, created_at);

-- Drift events (two-sided CUSUM on daily residuals, models/calibration/twin.h). event_id grows
-- monotonically: the alerts service follows this table by event_id (writers take advisory lock
-- 7468657276 before inserting, so ids become visible in order). A replay after a crash may
-- detect the same event again; the unique key keeps one row.
CREATE TABLE twin_events (
  event_id      bigserial PRIMARY KEY,
  patient_id    text NOT NULL,
  type          text NOT NULL,
  vitals        text[] NOT NULL DEFAULT '{}',
  started_at    timestamptz NOT NULL,
  detected_at   timestamptz NOT NULL,
  magnitude     double precision NOT NULL,
  magnitude_sd  double precision NOT NULL,
  twin_version  bigint NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (patient_id, type, detected_at)
);
CREATE INDEX twin_events_patient_idx ON twin_events (patient_id, detected_at);

-- Every batch calibration attempt, successful or not: a twin that cannot be calibrated keeps
-- its last good state and this log says why.
CREATE TABLE twin_calibrations (
  id            bigserial PRIMARY KEY,
  patient_id    text NOT NULL,
  attempted_at  timestamptz NOT NULL DEFAULT now(),
  trigger       text NOT NULL,          -- 'first', 'scheduled', 'recalibrate'
  window_start  timestamptz,
  window_end    timestamptz,
  ok            boolean NOT NULL,
  message       text NOT NULL DEFAULT '',
  twin_version  bigint                  -- the snapshot written when ok
);
CREATE INDEX twin_calibrations_patient_idx ON twin_calibrations (patient_id, attempted_at);
