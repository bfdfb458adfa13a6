-- The alerts evaluator drives the rule catalogue (issue 11): besides vitals and device status
-- (0006, 0008) it reads the twin's drift verdicts (twin_drift rule) and counts the patient's
-- quarantined samples (quarantine rule). Read-only.
GRANT SELECT ON twin_events, quarantine TO healthtwin_alerts;
