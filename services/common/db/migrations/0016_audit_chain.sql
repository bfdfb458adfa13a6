-- A tamper-evident audit trail (issue 13, item 2): audit_log becomes an append-only hash chain
-- shaped like a FHIR R4 AuditEvent, with signed checkpoints beside it.
--
-- The chain. A BEFORE INSERT trigger locks the single row of audit_chain_head (FOR UPDATE),
-- gives the new record seq = head.seq + 1 and prev_hash = head.hash, computes its hash and moves
-- the head. The lock is held until the inserting transaction ends, so writers queue: seq follows
-- commit order, a rolled-back insert rolls the head back too (no gaps), and two writers can
-- never both extend the same head (no fork). Whatever a writer puts in seq, prev_hash, hash or
-- at (the recorded time) is overwritten.
--
-- The bytes hashed (services/common/audit/README.md has the same, for an auditor):
--   hash = SHA-256(0x00 || record), record =
--     int8(seq) || prev_hash (32 bytes; 32 zero bytes for seq 1) || int8(at, the recorded time, in
--     microseconds since 1970-01-01T00:00:00Z) || then each of these as str():
--     event_type, action (the subtype), action_code, outcome, outcome_code, detail, actor (agent
--     who), role (agent role), peer (agent network address), on_behalf_of, agent_token_id,
--     patient_id (entity patient; NULL allowed), entity_what, purpose_of_use
--   int8 = 8 bytes big-endian two's complement; str(NULL) = 0xFFFFFFFF;
--   str(t) = 4-byte big-endian byte length of t's UTF-8 bytes, then those bytes.
-- 0x00 is RFC 6962's leaf prefix; 0x01 (checkpoint signatures, services/common/audit) is used
-- only for checkpoint nodes, so a record can never be passed off as a checkpoint or back.
--
-- Storage protection. The services keep INSERT and SELECT only (0006, 0013, and here for the
-- checkpoints); triggers refuse UPDATE, DELETE and TRUNCATE for everybody, the owner included.
-- A superuser can still disable them: `healthtwin audit verify` finds that by recomputing the
-- chain, and a consistent rewrite of the tail by comparing with checkpoints exported earlier.

-- FHIR AuditEvent fields (http://hl7.org/fhir/R4/auditevent.html). Derived by the trigger when
-- a writer leaves them NULL, from what services/common/access.cc already records.
ALTER TABLE audit_log
  -- AuditEvent.type: DICOM PS3.16 CID 400 "Audit Event ID", 110110 "Patient Record".
  ADD COLUMN event_type text NOT NULL DEFAULT '110110',
  -- AuditEvent.action: C, R, U, D or E (http://hl7.org/fhir/R4/valueset-audit-event-action.html).
  ADD COLUMN action_code text CHECK (action_code IN ('C', 'R', 'U', 'D', 'E')),
  -- AuditEvent.outcome: 0 success, 4 minor failure (refused), 8 serious, 12 major failure
  -- (http://hl7.org/fhir/R4/valueset-audit-event-outcome.html).
  ADD COLUMN outcome_code text CHECK (outcome_code IN ('0', '4', '8', '12')),
  -- AuditEvent.agent.extension / token id (jti) once bearer tokens exist (issue 13, item 3).
  ADD COLUMN agent_token_id text NOT NULL DEFAULT '',
  -- AuditEvent.entity.what beyond the patient (an alert id, a feed name, ...).
  ADD COLUMN entity_what text NOT NULL DEFAULT '',
  -- AuditEvent.purposeOfEvent, HL7 v3 PurposeOfUse (TREAT, HOPERAT, HRESCH, ETREAT).
  ADD COLUMN purpose_of_use text,
  ADD COLUMN seq bigint,
  ADD COLUMN prev_hash bytea,
  ADD COLUMN hash bytea;

-- The verb of an action ('vitals.query' -> 'query') decides its FHIR action code.
CREATE FUNCTION healthtwin_audit_action_code(action text) RETURNS text
LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
  SELECT CASE
    WHEN verb ~ '^(create|add|bind|submit)' THEN 'C'
    WHEN verb ~ '^(read|query|get|list|subscribe|watch|history|burden|predict|export)' THEN 'R'
    WHEN verb ~ '^(write|update|set|acknowledge|shelve|release|pause|resume|recalibrate)' THEN 'U'
    WHEN verb ~ '^(remove|unbind|delete)' THEN 'D'
    ELSE 'E'
  END
  FROM (SELECT regexp_replace(action, '^.*\.', '') AS verb) v
$fn$;

CREATE FUNCTION healthtwin_audit_outcome_code(outcome text) RETURNS text
LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
  SELECT CASE WHEN outcome = 'allowed' THEN '0' WHEN outcome IN ('denied', 'not_found') THEN '4' ELSE '8' END
$fn$;

-- Care roles act to treat; researchers for research; services and admins for operations.
CREATE FUNCTION healthtwin_audit_purpose(role text) RETURNS text
LANGUAGE sql IMMUTABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
  SELECT CASE WHEN role IN ('clinician', 'nurse') THEN 'TREAT' WHEN role = 'researcher' THEN 'HRESCH' ELSE 'HOPERAT' END
$fn$;

-- SHA-256(0x00 || record) as described at the top. One function, not one per field: every
-- function here carries SET search_path (0006), which stops PostgreSQL inlining it, so a call
-- per field would cost a function call each on every audit insert.
CREATE FUNCTION healthtwin_audit_hash(r audit_log) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
  b bytea := '\x00'::bytea || int8send(r.seq) || r.prev_hash || int8send((extract(epoch FROM r.at) * 1000000)::bigint);
  f text;
BEGIN
  FOREACH f IN ARRAY ARRAY[r.event_type, r.action, r.action_code, r.outcome, r.outcome_code, r.detail, r.actor,
                           r.role, r.peer, r.on_behalf_of, r.agent_token_id, r.patient_id, r.entity_what,
                           r.purpose_of_use] LOOP
    IF f IS NULL THEN
      b := b || '\xffffffff'::bytea;
    ELSE
      b := b || int4send(octet_length(convert_to(f, 'UTF8'))) || convert_to(f, 'UTF8');
    END IF;
  END LOOP;
  RETURN sha256(b);
END
$fn$;

-- The head of the chain: one row, written only by the trigger (no service has any privilege).
CREATE TABLE audit_chain_head (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq        bigint NOT NULL,
  hash       bytea NOT NULL CHECK (octet_length(hash) = 32)
);

-- Chain the records written before this migration, in id order.
UPDATE audit_log SET action_code = healthtwin_audit_action_code(action),
                     outcome_code = healthtwin_audit_outcome_code(outcome),
                     purpose_of_use = healthtwin_audit_purpose(role);
DO $$
DECLARE
  r audit_log;
  s bigint := 0;
  h bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
BEGIN
  FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
    s := s + 1;
    r.seq := s;
    r.prev_hash := h;
    h := healthtwin_audit_hash(r);
    UPDATE audit_log SET seq = s, prev_hash = r.prev_hash, hash = h WHERE id = r.id;
  END LOOP;
  INSERT INTO audit_chain_head (seq, hash) VALUES (s, h);
END
$$;

ALTER TABLE audit_log
  ALTER COLUMN action_code SET NOT NULL,
  ALTER COLUMN outcome_code SET NOT NULL,
  ALTER COLUMN purpose_of_use SET NOT NULL,
  ALTER COLUMN seq SET NOT NULL,
  ALTER COLUMN prev_hash SET NOT NULL,
  ALTER COLUMN hash SET NOT NULL,
  ADD CONSTRAINT audit_log_prev_hash_size CHECK (octet_length(prev_hash) = 32),
  ADD CONSTRAINT audit_log_hash_size CHECK (octet_length(hash) = 32);
CREATE UNIQUE INDEX audit_log_seq_idx ON audit_log (seq);
CREATE INDEX audit_log_patient_idx ON audit_log (patient_id, seq);

-- Like every function here it runs as its owner, the migrator (0006), so the services need no
-- privilege on the head.
CREATE FUNCTION healthtwin_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
  head audit_chain_head;
BEGIN
  SELECT * INTO STRICT head FROM audit_chain_head FOR UPDATE;
  -- Read once the head is held, so that recorded times follow chain order (now() would be the
  -- start of the writer's transaction).
  NEW.at := clock_timestamp();
  NEW.action_code := coalesce(NEW.action_code, healthtwin_audit_action_code(NEW.action));
  NEW.outcome_code := coalesce(NEW.outcome_code, healthtwin_audit_outcome_code(NEW.outcome));
  NEW.purpose_of_use := coalesce(NEW.purpose_of_use, healthtwin_audit_purpose(NEW.role));
  NEW.seq := head.seq + 1;
  NEW.prev_hash := head.hash;
  NEW.hash := healthtwin_audit_hash(NEW);
  UPDATE audit_chain_head SET seq = NEW.seq, hash = NEW.hash;
  RETURN NEW;
END
$fn$;
REVOKE ALL ON FUNCTION healthtwin_audit_chain() FROM PUBLIC;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION healthtwin_audit_chain();

CREATE FUNCTION healthtwin_audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION healthtwin_audit_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION healthtwin_audit_refuse_change();
CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
  FOR EACH ROW EXECUTE FUNCTION healthtwin_audit_refuse_change();
CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
  FOR EACH STATEMENT EXECUTE FUNCTION healthtwin_audit_refuse_change();

-- Signed checkpoints (services/common/audit/checkpoint.h): the hash of record `seq`, signed
-- with Ed25519 (pure, RFC 8032) over the message 0x01 || int8(seq) || hash || int8(signed_at us) ||
-- str(key_id). Any service may write one after its audit insert; the first wins per seq.
CREATE TABLE audit_checkpoints (
  seq        bigint PRIMARY KEY,
  hash       bytea NOT NULL CHECK (octet_length(hash) = 32),
  signed_at  timestamptz NOT NULL,
  key_id     text NOT NULL,
  signature  bytea NOT NULL CHECK (octet_length(signature) = 64)
);
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION healthtwin_audit_refuse_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION healthtwin_audit_refuse_change();

-- INSERT and SELECT only, for every service; nobody else gets anything.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_checkpoints FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_checkpoints
  FROM healthtwin_ingest, healthtwin_alerts, healthtwin_twin, healthtwin_simulation, healthtwin_clinician_api,
       healthtwin_feeds;
REVOKE ALL ON audit_chain_head FROM PUBLIC;
GRANT SELECT, INSERT ON audit_checkpoints
  TO healthtwin_ingest, healthtwin_alerts, healthtwin_twin, healthtwin_simulation, healthtwin_clinician_api,
     healthtwin_feeds;
REVOKE ALL ON FUNCTION healthtwin_audit_action_code(text), healthtwin_audit_outcome_code(text),
  healthtwin_audit_purpose(text), healthtwin_audit_hash(audit_log),
  healthtwin_audit_refuse_change() FROM PUBLIC;
