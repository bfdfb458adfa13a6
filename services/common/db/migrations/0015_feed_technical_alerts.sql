-- Technical alerts for feed failures, raised to admins (issue 12: "a dead letter raises a
-- technical alert to admins and shows in feed status"; "AE three times: retried, then a
-- technical alert").
--
-- 1. A new technical_events kind, 'feed_retrying': the feed service writes it once when a
--    message has been answered AE/CE (or not delivered: no ACK, connection refused) three times
--    in a row, i.e. on its third failed attempt, not on every retry. Devices commonly resend on
--    AE up to 3 times (IHE PCD practice, ../shared/notes/hospital-feeds.md), so a third failure
--    is where a hospital's own equipment would give up; we keep retrying (issue 12: without
--    limit) and tell a person instead.
-- 2. feed_alerts: the admins' technical alerts. Feed events name no patient, so they do not go
--    through the patient alarm lifecycle (alerts, routed to a care team); the alerts service
--    raises them here instead, one open alert per feed and kind (deduplicated: more events
--    count into the open one), priority medium. A 'feed_retrying' alert is resolved by the
--    alerts service once the feed has delivered a message after the alert's last event; a
--    'feed_dead_letter' alert stays open (a dead message needs an operator: replay or accept).
--    `healthtwin admin feed status` (the registry) shows the open ones per feed.
ALTER TABLE technical_events DROP CONSTRAINT technical_events_kind_check;
ALTER TABLE technical_events DROP CONSTRAINT technical_events_feed_named;
ALTER TABLE technical_events
  ADD CONSTRAINT technical_events_kind_check
    CHECK (kind IN ('foreign_gateway', 'quarantine_full', 'feed_dead_letter', 'feed_retrying')),
  ADD CONSTRAINT technical_events_feed_named
    CHECK ((kind IN ('feed_dead_letter', 'feed_retrying')) = (feed_id IS NOT NULL));

CREATE TABLE feed_alerts (
  id             bigserial PRIMARY KEY,
  feed_id        bigint NOT NULL REFERENCES feeds (feed_id),
  kind           text NOT NULL CHECK (kind IN ('feed_dead_letter', 'feed_retrying')),
  -- Same numbers as healthtwin.alerts.v1.Priority (1 low, 2 medium, 3 high).
  priority       smallint NOT NULL CHECK (priority BETWEEN 1 AND 3),
  summary        text NOT NULL,
  raised_at      timestamptz NOT NULL DEFAULT now(),
  -- The newest technical event counted into this alert, and how many there were.
  last_event_at  timestamptz NOT NULL,
  event_count    integer NOT NULL CHECK (event_count >= 1),
  -- The message id of the newest event (an outbox message_id, no PHI).
  last_message_id text NOT NULL,
  resolved_at    timestamptz
);
-- Deduplication: at most one open alert per feed and kind.
CREATE UNIQUE INDEX feed_alerts_open_idx ON feed_alerts (feed_id, kind) WHERE resolved_at IS NULL;

-- alerts raises and resolves them, and reads the outbox to see whether a retrying feed has
-- delivered again; the registry (ingest) shows them in feed status.
GRANT SELECT, INSERT, UPDATE ON feed_alerts TO healthtwin_alerts;
GRANT USAGE ON SEQUENCE feed_alerts_id_seq TO healthtwin_alerts;
GRANT SELECT ON feed_outbox TO healthtwin_alerts;
GRANT SELECT ON feed_alerts TO healthtwin_ingest;
