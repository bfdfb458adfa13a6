-- Contiguous FHIR event numbers per feed (issue 12, item 4: a rest-hook receiver detects gaps
-- from the Subscriptions Backport IG's events-since-subscription-start and event-number, so they
-- must count 1, 2, 3, ... per subscription with no hole; hl7.fhir.uv.subscriptions-backport
-- 1.1.0, "Notification events": "eventsSinceSubscriptionStart ... the number of events that
-- have triggered on this subscription"). Each feed is two subscriptions (alerts, vitals).
--
-- The counters live on the feed's cursor row, which every enqueue round already locks FOR
-- UPDATE and moves in the same transaction as its outbox rows: a number is taken exactly when
-- its message is written, so a crash (kill -9), a rollback or a second replica cannot leave a
-- hole or a number twice, and the number is inside the stored payload, so a resend or a replay
-- carries the same one. Feeds that existed before this migration start at 0 (their numbers were
-- source sequences until now).
ALTER TABLE feed_cursors
  ADD COLUMN alert_events_numbered bigint NOT NULL DEFAULT 0 CHECK (alert_events_numbered >= 0),
  ADD COLUMN vitals_events_numbered bigint NOT NULL DEFAULT 0 CHECK (vitals_events_numbered >= 0);

-- The numbers a message carries (first..last), for operators and tests; NULL when it carries
-- none (HL7 v2 messages, a FHIR heartbeat whose samples had no vital-signs profile).
ALTER TABLE feed_outbox
  ADD COLUMN first_event_number bigint,
  ADD COLUMN last_event_number bigint,
  ADD CHECK ((first_event_number IS NULL) = (last_event_number IS NULL)),
  ADD CHECK (last_event_number >= first_event_number AND first_event_number >= 1);

-- healthtwin_feeds already has SELECT, INSERT, UPDATE on both tables (0013, table-level grants
-- cover the new columns); the registry (healthtwin_ingest) reads feed_outbox for status.
