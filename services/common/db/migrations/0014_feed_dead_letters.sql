-- The feed service (healthtwin-feeds, issue 12) records a dead letter as a technical event.
--
-- A message is dead-lettered only on the receiver's explicit permanent rejection (HL7 AR/CR,
-- an HTTP 4xx other than 408/429); the outbox row goes to state 'dead' and, in the same
-- transaction, one technical_events row of kind 'feed_dead_letter' names the feed and the
-- message. It carries no patient: a dead letter concerns the feed's operators (admins), not
-- the patient's care team. The alerts service raises technical alerts from rows that name a
-- patient and only marks (alerted_at) the others, so today this row is the durable record an
-- admin alert will be raised from (`healthtwin admin feed status` counts dead letters).
ALTER TABLE technical_events DROP CONSTRAINT technical_events_kind_check;
ALTER TABLE technical_events
  ADD CONSTRAINT technical_events_kind_check
    CHECK (kind IN ('foreign_gateway', 'quarantine_full', 'feed_dead_letter')),
  ADD COLUMN feed_id bigint REFERENCES feeds (feed_id),
  ADD COLUMN message_id text CHECK (length(message_id) BETWEEN 1 AND 64),
  ADD CONSTRAINT technical_events_feed_named CHECK ((kind = 'feed_dead_letter') = (feed_id IS NOT NULL));

GRANT INSERT ON technical_events TO healthtwin_feeds;
GRANT USAGE ON SEQUENCE technical_events_id_seq TO healthtwin_feeds;

-- The HL7 alarm status of an alert event (MDC_ATTR_ALARM_INACTIVATION_STATE: acknowledged,
-- audio-paused while shelved) is read as of the event from the acknowledgements and shelves.
GRANT SELECT ON alert_acknowledgements, alert_shelves TO healthtwin_feeds;
