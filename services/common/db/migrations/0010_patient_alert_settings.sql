-- Per-patient alert settings (issue 11 item 4), owned by the alerts service: the rule engine
-- that validates them and applies them runs there; clinician_api relays the API
-- (services/alerts/README.md, "Patient alert settings").
--
-- `settings` is the JSON form of rules::PatientAlertSettings:
--   {"threshold_overrides": {"hr_high": 110}, "spo2_scale2": false, "supplemental_oxygen": false}
-- validated against the loaded catalogue before it is written (RuleEngine::ValidateSettings).
CREATE TABLE patient_alert_settings (
  patient_id  text PRIMARY KEY REFERENCES patients (patient_id),
  settings    jsonb NOT NULL CHECK (jsonb_typeof(settings) = 'object'),
  version     bigint NOT NULL CHECK (version >= 1),
  updated_by  text NOT NULL CHECK (length(updated_by) BETWEEN 1 AND 256),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Every version ever stored, append-only: who changed what, when.
CREATE TABLE patient_alert_settings_history (
  patient_id  text NOT NULL REFERENCES patients (patient_id),
  version     bigint NOT NULL,
  settings    jsonb NOT NULL CHECK (jsonb_typeof(settings) = 'object'),
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (patient_id, version)
);

-- ListAlerts pages newest first by (raised_at, alert_id) within the caller's patients.
CREATE INDEX alerts_patient_keyset_idx ON alerts (patient_id, raised_at DESC, alert_id DESC);

-- Grants (docs/database-roles.md). Only the alerts service reads and writes settings; the
-- history is append-only for every role.
GRANT SELECT, INSERT, UPDATE ON patient_alert_settings TO healthtwin_alerts;
GRANT SELECT, INSERT ON patient_alert_settings_history TO healthtwin_alerts;
REVOKE UPDATE, DELETE, TRUNCATE ON patient_alert_settings_history
  FROM healthtwin_ingest, healthtwin_alerts, healthtwin_twin, healthtwin_simulation, healthtwin_clinician_api;
