-- Treatment simulation: researcher cohort jobs and single-patient what-if runs, with who asked.
--
-- A cohort job is acknowledged once its row is committed; a worker claims it with
-- FOR UPDATE SKIP LOCKED (any replica), heartbeats while running, and a job whose heartbeat is
-- older than the lease is claimed again (the worker died). Results are written in the same
-- transaction that marks the job succeeded.
CREATE TABLE simulation_jobs (
  job_id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  state              smallint NOT NULL,             -- healthtwin.simulation.v1.JobState
  requested_by       text NOT NULL,                 -- certificate CN
  requested_role     text NOT NULL,
  spec               jsonb NOT NULL,
  submitted_at       timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  finished_at        timestamptz,
  heartbeat_at       timestamptz,
  worker             text,
  attempts           integer NOT NULL DEFAULT 0,
  progress_fraction  double precision NOT NULL DEFAULT 0,
  progress_stage     text NOT NULL DEFAULT '',
  cancel_requested   boolean NOT NULL DEFAULT false,
  error              text NOT NULL DEFAULT '',
  result             jsonb,                         -- per-arm summaries
  per_patient_csv    text
);
CREATE INDEX simulation_jobs_queue_idx ON simulation_jobs (submitted_at) WHERE state IN (1, 2);
CREATE INDEX simulation_jobs_requester_idx ON simulation_jobs (requested_by, submitted_at);

-- Every what-if comparison run on a patient's twin: the request, the twin version it used and
-- the ranked result, kept for the clinical record.
CREATE TABLE simulation_whatif_runs (
  run_id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  patient_id     text NOT NULL,
  requested_by   text NOT NULL,
  requested_role text NOT NULL,
  requested_at   timestamptz NOT NULL DEFAULT now(),
  twin_version   bigint NOT NULL DEFAULT 0,
  request        jsonb NOT NULL,
  result         jsonb,
  error          text NOT NULL DEFAULT ''
);
CREATE INDEX simulation_whatif_runs_patient_idx ON simulation_whatif_runs (patient_id, requested_at);
