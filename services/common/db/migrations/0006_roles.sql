-- Least privilege (docs/database-roles.md has the grant matrix and why each entry is there).
--
-- Migrations run as healthtwin_migrator, which owns this database (and so, through
-- pg_database_owner, the public schema) and every object in it. Each service connects as its
-- own login role, which owns nothing, cannot create anything, and gets exactly the table,
-- sequence and function privileges its SQL needs. The roles are cluster-wide, so this
-- migration does not create them: `healthtwin-migrate --bootstrap-roles` does, once per
-- cluster and database, as a superuser.
--
-- Grants are by explicit table list, never ALTER DEFAULT PRIVILEGES: a new table gets no access
-- until a migration decides who may use it, and services/common/db/roles_test.cc fails for a
-- table that appears in no row of the matrix.

-- Objects made by anyone but the migrator would break the model (a partition function owned by
-- a superuser would run as one), so refuse rather than half-apply it.
DO $$
BEGIN
  IF current_user <> 'healthtwin_migrator' THEN
    RAISE EXCEPTION 'run migrations as healthtwin_migrator, not %; see docs/database-roles.md', current_user;
  END IF;
END
$$;

-- PostgreSQL gives PUBLIC CONNECT and TEMPORARY on every database and EXECUTE on every
-- function; take them back and hand out only what is used. Only ingest creates temporary
-- tables (vitals_staging, per connection).
DO $$
BEGIN
  EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO healthtwin_ingest, healthtwin_alerts, healthtwin_twin, '
                 'healthtwin_simulation, healthtwin_clinician_api', current_database());
  EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO healthtwin_ingest', current_database());
END
$$;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public
  TO healthtwin_ingest, healthtwin_alerts, healthtwin_twin, healthtwin_simulation, healthtwin_clinician_api;

-- Every service checks at start that the schema is the one it was built for.
GRANT SELECT ON schema_migrations
  TO healthtwin_ingest, healthtwin_alerts, healthtwin_twin, healthtwin_simulation, healthtwin_clinician_api;

-- Partition maintenance creates, moves into and drops partitions of vitals: DDL the ingest role
-- must not have. The functions run as their owner, the migrator, with a fixed search_path
-- (pg_temp last, so a caller's temporary table cannot stand in for vitals_default), and only
-- ingest (partition_maintainer.cc) may call them.
ALTER FUNCTION healthtwin_ensure_vitals_partitions(integer) OWNER TO healthtwin_migrator;
ALTER FUNCTION healthtwin_ensure_vitals_partitions(integer) SECURITY DEFINER SET search_path = public, pg_temp;
ALTER FUNCTION healthtwin_apply_vitals_retention(integer) OWNER TO healthtwin_migrator;
ALTER FUNCTION healthtwin_apply_vitals_retention(integer) SECURITY DEFINER SET search_path = public, pg_temp;
REVOKE ALL ON FUNCTION healthtwin_ensure_vitals_partitions(integer), healthtwin_apply_vitals_retention(integer)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION healthtwin_ensure_vitals_partitions(integer), healthtwin_apply_vitals_retention(integer)
  TO healthtwin_ingest;

-- The audit trail is append-only for every service: INSERT and SELECT, never UPDATE, DELETE or
-- TRUNCATE. Any service may audit through services/common/access.cc.
GRANT SELECT, INSERT ON audit_log
  TO healthtwin_ingest, healthtwin_alerts, healthtwin_twin, healthtwin_simulation, healthtwin_clinician_api;
GRANT USAGE ON SEQUENCE audit_log_id_seq
  TO healthtwin_ingest, healthtwin_alerts, healthtwin_twin, healthtwin_simulation, healthtwin_clinician_api;

-- ingest, with the registry service it hosts (pg_sample_store.cc, vitals_reader.cc,
-- registry_service.cc). SELECT ... FOR SHARE on devices needs UPDATE, which it has anyway.
GRANT SELECT, INSERT ON patients TO healthtwin_ingest;
GRANT SELECT, INSERT, UPDATE ON devices TO healthtwin_ingest;
GRANT INSERT ON care_team TO healthtwin_ingest;
GRANT SELECT, INSERT ON vitals TO healthtwin_ingest;
GRANT USAGE ON SEQUENCE vitals_ingest_seq TO healthtwin_ingest;
GRANT SELECT, INSERT, UPDATE ON quarantine TO healthtwin_ingest;
GRANT USAGE ON SEQUENCE quarantine_id_seq TO healthtwin_ingest;
-- The one DELETE any service holds: BindDevice replaces a device's gateway list and
-- UnbindDevice clears it (registry_service.cc). The rows carry no patient data, and the audit
-- log records every binding.
GRANT SELECT, INSERT, DELETE ON device_gateways TO healthtwin_ingest;
GRANT INSERT ON technical_events TO healthtwin_ingest;
GRANT USAGE ON SEQUENCE technical_events_id_seq TO healthtwin_ingest;

-- alerts (evaluator.cc, alert_service.cc). Cursor rows are read FOR UPDATE.
GRANT SELECT ON vitals TO healthtwin_alerts;
GRANT SELECT, INSERT, UPDATE ON consumer_cursors TO healthtwin_alerts;
GRANT SELECT, INSERT, UPDATE ON alerts TO healthtwin_alerts;
GRANT SELECT, INSERT ON alert_acknowledgements TO healthtwin_alerts;
GRANT SELECT, INSERT ON alert_events TO healthtwin_alerts;
GRANT USAGE ON SEQUENCE alert_events_event_seq_seq TO healthtwin_alerts;
-- Technical events are taken FOR UPDATE SKIP LOCKED and marked alerted (evaluator.cc); a full
-- quarantine is raised to the patients of the gateway's devices.
GRANT SELECT, UPDATE ON technical_events TO healthtwin_alerts;
GRANT SELECT ON device_gateways, devices TO healthtwin_alerts;

-- twin (twin_keeper.cc, twin_service.cc, patient_model.cc). twin_events is read only through
-- INSERT ... RETURNING event_id, which needs SELECT.
GRANT SELECT ON patients TO healthtwin_twin;
GRANT SELECT ON vitals TO healthtwin_twin;
GRANT SELECT, INSERT, UPDATE ON consumer_cursors TO healthtwin_twin;
GRANT SELECT, INSERT ON twin_snapshots TO healthtwin_twin;
GRANT SELECT, INSERT ON twin_events TO healthtwin_twin;
GRANT USAGE ON SEQUENCE twin_events_event_id_seq TO healthtwin_twin;
GRANT SELECT, INSERT ON twin_calibrations TO healthtwin_twin;
GRANT USAGE ON SEQUENCE twin_calibrations_id_seq TO healthtwin_twin;

-- simulation (job_store.cc, patient_source.cc, simulation_service.cc; care_team through
-- services/common/access.cc for what-if on a patient).
GRANT SELECT ON patients TO healthtwin_simulation;
GRANT SELECT ON vitals TO healthtwin_simulation;
GRANT SELECT ON twin_snapshots TO healthtwin_simulation;
GRANT SELECT, INSERT, UPDATE ON simulation_jobs TO healthtwin_simulation;
GRANT INSERT ON simulation_whatif_runs TO healthtwin_simulation;
GRANT SELECT ON care_team TO healthtwin_simulation;

-- clinician_api (services/common/access.cc: care teams, the patient of an alert).
GRANT SELECT ON care_team TO healthtwin_clinician_api;
GRANT SELECT ON alerts TO healthtwin_clinician_api;
