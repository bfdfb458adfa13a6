-- Authorization (issue 20): which gateways may forward each device, who relayed an audited
-- access or an acknowledgement, and the technical events that ingest records for the alerts
-- service. docs/security.md states the access model these columns serve.

-- The bridges (by the CN of their certificate) allowed to forward a device's readings. A
-- sample from any other bridge goes to quarantine, never to the patient's vitals. A binding to
-- a new patient replaces the list (registry BindDevice); unbinding clears it.
-- Existing bindings get no gateway: forwarding stops until an admin names one, because the
-- bridges that sent data so far cannot be told apart from an impostor after the fact.
CREATE TABLE device_gateways (
  device_id  text NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
  bridge_id  text NOT NULL CHECK (bridge_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
  added_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, bridge_id)
);
CREATE INDEX device_gateways_bridge_idx ON device_gateways (bridge_id);

-- The person a service acted for, as asserted by a relaying service that the method's
-- allow-list trusts to relay (clinician_api). `actor` stays the authenticated peer.
ALTER TABLE audit_log ADD COLUMN on_behalf_of text NOT NULL DEFAULT '';

-- The service that relayed an acknowledgement; `recipient` is the person it authenticated.
ALTER TABLE alert_acknowledgements ADD COLUMN relayed_by text NOT NULL DEFAULT '';

-- Ingest bounds each bridge's pending quarantine; this keeps that count an index scan.
CREATE INDEX quarantine_bridge_pending_idx ON quarantine (bridge_id) WHERE released_at IS NULL;

-- Things a care team must hear about that are not physiology: a gateway forwarding a device it
-- is not bound to ('foreign_gateway', with the device's patient), and a bridge whose quarantine
-- is full ('quarantine_full': readings of devices not enrolled there are being refused, e.g. a
-- new cuff nobody bound; raised to the patients that gateway serves). Written by ingest in the
-- transaction that stored the batch. The alerts service raises the technical alerts and marks
-- each row (alerted_at), taking rows with SKIP LOCKED so replicas share the work; ids commit
-- out of order, so a cursor over id could skip one.
CREATE TABLE technical_events (
  id            bigserial PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('foreign_gateway', 'quarantine_full')),
  bridge_id     text NOT NULL,
  device_id     text NOT NULL DEFAULT '',
  patient_id    text,
  sample_count  integer NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  alerted_at    timestamptz
);
CREATE INDEX technical_events_pending_idx ON technical_events (id) WHERE alerted_at IS NULL;
