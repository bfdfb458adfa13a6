-- Alert replay (services/alerts, Subscribe with `since`) pages through alerts by patient and
-- raise time (alerts_patient_idx) and then reads those alerts' events; without this index each
-- page would scan the whole alert_events table.
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, event_seq);
