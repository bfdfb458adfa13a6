-- Hospital feeds (issue 12): a feed's configuration, its durable outbox, its cursors.
--
-- The registry (hosted by ingest, role healthtwin_ingest) manages feeds for the admin
-- (AddFeed, ListFeeds, GetFeedStatus, PauseFeed, ResumeFeed, ReplayFeed). The feed service
-- (healthtwin-feeds, role healthtwin_feeds) follows alert_events and vitals through
-- feed_cursors, writes each message to feed_outbox BEFORE sending it, and delivers from there.
--
-- Message identity. message_id is derived from the feed and the source only, never from the
-- time of sending, so a resend (retry, replay, another replica) carries the same HL7 MSH-10 /
-- FHIR Bundle id and a receiver can deduplicate:
--   an alert event:  'ht-' || feed_id || '-a' || alert_events.event_seq
--   a vitals batch:  'ht-' || feed_id || '-v' || first ingest_seq || '-' || last ingest_seq
-- (at most 63 characters, inside MSH-10's 199 in HL7 v2.6 and FHIR's 64 for an id).
-- UNIQUE (feed_id, message_id) makes the enqueue idempotent: a replica that derives a message
-- another one already wrote gets a conflict, not a second copy.
--
-- Replay. ReplayFeed(feed, since T) puts every delivered or dead outbox row of the feed whose
-- source happened at or after T (source_at) back to pending, with its ORIGINAL message_id and
-- payload, attempts reset and next_attempt_at now (the operator asked for them again). A row
-- still pending is already going to be sent and keeps its attempts and backoff. Rows keep their
-- id, so per-patient order is unchanged. Events the feed never
-- enqueued (before the feed existed, or filtered out then) are not replayed; feed_replays
-- records who asked for what and how many messages it re-enqueued.

-- healthtwin_feeds joins the other service roles (BootstrapRoles creates it).
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO healthtwin_feeds', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO healthtwin_feeds;
GRANT SELECT ON schema_migrations TO healthtwin_feeds;
GRANT SELECT, INSERT ON audit_log TO healthtwin_feeds;
GRANT USAGE ON SEQUENCE audit_log_id_seq TO healthtwin_feeds;

CREATE TABLE feeds (
  feed_id              bigserial PRIMARY KEY,
  name                 text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,47}$'),
  kind                 text NOT NULL CHECK (kind IN ('hl7v2-mllp', 'fhir-rest-hook')),
  -- host:port for hl7v2-mllp, an https:// base URL for fhir-rest-hook (checked by the registry).
  target               text NOT NULL CHECK (length(target) BETWEEN 1 AND 2048),
  tls                  boolean NOT NULL,
  -- The PEM text of the CA that signs the receiver's certificate, not a path: the feed service
  -- may run on another machine than the admin's CLI. NULL: the system trust store.
  tls_ca_pem           text CHECK (length(tls_ca_pem) BETWEEN 1 AND 65536),
  tls_client_cert      boolean NOT NULL DEFAULT false,
  send_alerts          boolean NOT NULL,
  send_vitals          boolean NOT NULL,
  -- Empty: every patient (subject to care_team_of).
  patients             text[] NOT NULL DEFAULT '{}' CHECK (cardinality(patients) <= 10000),
  -- Only the patients on this member's care team; NULL: no such filter.
  care_team_of         text CHECK (length(care_team_of) BETWEEN 1 AND 64),
  -- healthtwin.alerts.v1.Priority: 1 low (everything), 2 medium, 3 high.
  min_priority         smallint NOT NULL DEFAULT 1 CHECK (min_priority BETWEEN 1 AND 3),
  -- MSH-3/4 and MSH-5/6 (HD, first component), HL7 v2.6 chapter 2.14.9.
  sending_application  text NOT NULL DEFAULT 'HEALTHTWIN' CHECK (length(sending_application) <= 227),
  sending_facility     text NOT NULL DEFAULT '' CHECK (length(sending_facility) <= 227),
  receiving_application text NOT NULL DEFAULT '' CHECK (length(receiving_application) <= 227),
  receiving_facility   text NOT NULL DEFAULT '' CHECK (length(receiving_facility) <= 227),
  state                text NOT NULL DEFAULT 'enabled' CHECK (state IN ('enabled', 'paused')),
  created_by           text NOT NULL,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_by           text NOT NULL,
  updated_at           timestamptz NOT NULL DEFAULT now(),
  CHECK (send_alerts OR send_vitals),
  CHECK (tls OR (tls_ca_pem IS NULL AND NOT tls_client_cert)),
  CHECK (kind <> 'fhir-rest-hook' OR tls)
);

-- One row per message per feed, written before the first attempt to send it.
CREATE TABLE feed_outbox (
  id               bigserial PRIMARY KEY,
  feed_id          bigint NOT NULL REFERENCES feeds (feed_id),
  patient_id       text NOT NULL,
  source_kind      text NOT NULL CHECK (source_kind IN ('alert_event', 'vitals')),
  -- alert_event: the event_seq (first = last); vitals: the ingest_seq range of the batch.
  source_first_seq bigint NOT NULL,
  source_last_seq  bigint NOT NULL CHECK (source_last_seq >= source_first_seq),
  -- When the source happened (the event's time, the newest sample's measured_at): replay's key.
  source_at        timestamptz NOT NULL,
  message_id       text NOT NULL CHECK (length(message_id) BETWEEN 1 AND 64),
  payload          bytea NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
  -- Attempts made so far; a pending row with attempts = 2 has been resent once.
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_error       text,
  delivered_at     timestamptz,
  -- The receiver's acknowledgement as received (HL7 ACK message, HTTP status line and body).
  ack              text,
  UNIQUE (feed_id, message_id),
  CHECK ((state = 'delivered') = (delivered_at IS NOT NULL))
);
-- The delivery loop: the oldest pending message of each patient of a feed, in id order (the
-- order of enqueueing, hence of the source), and due.
CREATE INDEX feed_outbox_pending_idx ON feed_outbox (feed_id, patient_id, id) WHERE state = 'pending';
-- Status: counts per state, the oldest pending, the newest acknowledged.
CREATE INDEX feed_outbox_state_idx ON feed_outbox (feed_id, state, id);
-- Replay: a feed's rows from a time on.
CREATE INDEX feed_outbox_source_at_idx ON feed_outbox (feed_id, source_at);

-- Where each feed has read up to, so a restarted service resumes (as consumer_cursors for
-- alerts and twin; the positions are the last alert_events.event_seq and vitals.ingest_seq
-- enqueued, gap tracking as in services/common/gap_tracker.h).
CREATE TABLE feed_cursors (
  feed_id          bigint PRIMARY KEY REFERENCES feeds (feed_id),
  alert_event_seq  bigint NOT NULL DEFAULT 0,
  vitals_seq       bigint NOT NULL DEFAULT 0,
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE feed_replays (
  id            bigserial PRIMARY KEY,
  feed_id       bigint NOT NULL REFERENCES feeds (feed_id),
  since         timestamptz NOT NULL,
  requested_by  text NOT NULL,
  requested_at  timestamptz NOT NULL DEFAULT now(),
  requeued      integer NOT NULL
);

-- The registry (ingest role) manages feeds: it reads the outbox for status and puts rows back
-- to pending for a replay (the columns a replay resets, and the key columns its WHERE reads).
GRANT SELECT, INSERT, UPDATE ON feeds TO healthtwin_ingest;
GRANT USAGE ON SEQUENCE feeds_feed_id_seq TO healthtwin_ingest;
GRANT SELECT ON feed_outbox TO healthtwin_ingest;
GRANT UPDATE (state, attempts, next_attempt_at, last_error, delivered_at, ack) ON feed_outbox TO healthtwin_ingest;
GRANT SELECT, INSERT ON feed_replays TO healthtwin_ingest;
GRANT USAGE ON SEQUENCE feed_replays_id_seq TO healthtwin_ingest;

-- The feed service: reads its configuration and sources (filters by care team and priority),
-- owns the outbox and its cursors (it creates a feed's cursor row at the current end of the
-- sources when it first sees the feed). Raising a technical alert for a dead letter needs a new
-- technical_events kind; the migration that adds the service grants that.
GRANT SELECT ON feeds TO healthtwin_feeds;
GRANT SELECT, INSERT, UPDATE ON feed_outbox TO healthtwin_feeds;
GRANT USAGE ON SEQUENCE feed_outbox_id_seq TO healthtwin_feeds;
GRANT SELECT, INSERT, UPDATE ON feed_cursors TO healthtwin_feeds;
GRANT SELECT ON alert_events, alerts, vitals, care_team TO healthtwin_feeds;
