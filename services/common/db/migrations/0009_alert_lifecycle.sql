-- The alarm lifecycle (issue 11, services/alerts/lifecycle): an alert is one episode of one
-- condition in one patient that is raised, updated, ended, latched, reopened, suppressed,
-- shelved per recipient, acknowledged per recipient and escalated through the care team's
-- tiers. Additive: every earlier column keeps its meaning (alerts.state is still written, as
-- the AlertState an old client understands), and alert_events kind 1 (raised, exactly one per
-- alert) and 2 (updated) keep theirs.

ALTER TABLE alerts
  -- IEC 60601-1-8: 1 physiological (the patient), 2 technical (the equipment).
  ADD COLUMN category smallint NOT NULL DEFAULT 1 CHECK (category IN (1, 2)),
  -- 1 active (condition present), 2 ended (cleared, latched, not yet acknowledged), 3 resolved.
  ADD COLUMN phase smallint NOT NULL DEFAULT 1 CHECK (phase IN (1, 2, 3)),
  ADD COLUMN latched boolean NOT NULL DEFAULT false,
  -- The physiology the rule covers ("heart_rate", "news2", ...), for suppression.
  ADD COLUMN covers text[] NOT NULL DEFAULT '{}',
  -- Data times: when the condition cleared (NULL while it holds) and the newest input seen.
  ADD COLUMN ended_at timestamptz,
  ADD COLUMN last_observed_at timestamptz,
  ADD COLUMN resolved_at timestamptz,
  -- The higher-priority alert holding this one back.
  ADD COLUMN suppressed_by uuid REFERENCES alerts (alert_id),
  -- Escalation: the care-team tier notified now, and when the next tier is due (NULL: none).
  -- The timer is data, so it survives a restart of every alerts replica.
  ADD COLUMN tier smallint NOT NULL DEFAULT 1 CHECK (tier BETWEEN 1 AND 9),
  ADD COLUMN next_escalation_at timestamptz;

-- Alerts from before the lifecycle had no end: their episode is taken to have ended after its
-- recorded duration. Acknowledged or resolved ones are closed; the others stay visible, latched,
-- until someone acknowledges them (no escalation timer: they were raised without one). Left
-- active, an old alert would swallow the next episode of its rule as a continuation; an episode
-- still in progress reopens its alert at the next evaluation instead.
UPDATE alerts SET
  ended_at = condition_started_at + duration_s * interval '1 second',
  last_observed_at = condition_started_at + duration_s * interval '1 second',
  phase = CASE WHEN state IN (2, 4) THEN 3 ELSE 2 END,
  latched = state NOT IN (2, 4),
  resolved_at = CASE WHEN state IN (2, 4) THEN updated_at END,
  state = CASE WHEN state IN (2, 4) THEN 4 ELSE 5 END;

-- The escalation loop reads due timers; only alerts with a timer are in the index.
CREATE INDEX alerts_escalation_due_idx ON alerts (next_escalation_at) WHERE next_escalation_at IS NOT NULL;
-- The lifecycle loads a patient's unresolved alerts for suppression.
CREATE INDEX alerts_patient_open_idx ON alerts (patient_id) WHERE phase <> 3;

-- Shelving is per recipient, for a stated, limited time with a reason (IEC 60601-1-8); a new
-- shelve by the same recipient replaces the row, and expiry sets unshelved_at (an event too).
CREATE TABLE alert_shelves (
  alert_id       uuid NOT NULL REFERENCES alerts (alert_id),
  recipient      text NOT NULL CHECK (length(recipient) BETWEEN 1 AND 256),
  shelved_at     timestamptz NOT NULL,
  shelved_until  timestamptz NOT NULL,
  reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  unshelved_at   timestamptz,
  PRIMARY KEY (alert_id, recipient)
);
CREATE INDEX alert_shelves_due_idx ON alert_shelves (shelved_until) WHERE unshelved_at IS NULL;

-- Who (a recipient, or 'system'), why, at which tier, and a small JSON detail for each event.
-- created_at is the lifecycle's clock at the transition.
ALTER TABLE alert_events
  ADD COLUMN actor text NOT NULL DEFAULT 'system',
  ADD COLUMN reason text NOT NULL DEFAULT '',
  ADD COLUMN detail jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(detail) = 'object'),
  ADD COLUMN tier smallint,
  ADD CONSTRAINT alert_events_kind_known CHECK (kind BETWEEN 1 AND 11);

-- Escalation tiers: 1 primary nurse, 2 physician, 3 on call, ...
ALTER TABLE care_team ADD COLUMN tier smallint NOT NULL DEFAULT 1 CHECK (tier BETWEEN 1 AND 9);

-- Grants (docs/database-roles.md). The event log is append-only: no service may change or
-- remove an event (none had UPDATE or DELETE; this states it so a later grant is a visible
-- decision).
REVOKE UPDATE, DELETE, TRUNCATE ON alert_events
  FROM healthtwin_ingest, healthtwin_alerts, healthtwin_twin, healthtwin_simulation, healthtwin_clinician_api;
-- The escalation loop reads the tiers of the patient's care team (services/alerts/lifecycle).
GRANT SELECT ON care_team TO healthtwin_alerts;
-- Shelves are written and expired (UPDATE unshelved_at) by the alerts service only.
GRANT SELECT, INSERT, UPDATE ON alert_shelves TO healthtwin_alerts;
