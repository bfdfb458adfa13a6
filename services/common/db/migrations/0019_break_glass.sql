-- Break-glass emergency access (issue 13, item 4; clinician_api/break_glass.h).
--
-- A clinician who is not on a patient's care team may declare an emergency and get a
-- time-limited grant to that patient's data. services/common/access.cc honours an active grant
-- in its care-team check and flags every access made under it (purpose of use = the grant's
-- reason code, detail naming the grant); an expired grant refuses. The grant's start and end are
-- audit records of type DICOM 110113 "Security Alert" with subtypes 110127 "Emergency Override
-- Started" and 110138 "Emergency Override Stopped" (DICOM PS3.16 CID 403). Unreviewed grants are
-- the admins' notice: `healthtwin admin break-glass list --open` shows them until an admin marks
-- each justified or unjustified.
CREATE TABLE break_glass_grants (
  grant_id        bigserial PRIMARY KEY,
  patient_id      text NOT NULL REFERENCES patients (patient_id),
  -- The clinician's certificate common name.
  grantee         text NOT NULL CHECK (length(grantee) BETWEEN 1 AND 64),
  -- HL7 v3 ActReason / PurposeOfUse codes accepted for an emergency (break_glass.cc has the list).
  reason_code     text NOT NULL CHECK (reason_code IN ('ETREAT', 'BTG')),
  reason_text     text NOT NULL CHECK (length(btrim(reason_text)) BETWEEN 1 AND 1000),
  started_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  expires_at      timestamptz NOT NULL,
  -- Set when the 110138 "Emergency Override Stopped" record has been written.
  end_audited_at  timestamptz,
  review          text CHECK (review IN ('justified', 'unjustified')),
  review_note     text NOT NULL DEFAULT '' CHECK (length(review_note) <= 1000),
  reviewed_by     text,
  reviewed_at     timestamptz,
  CONSTRAINT break_glass_grants_expires_after_start CHECK (expires_at > started_at),
  CONSTRAINT break_glass_grants_review_complete CHECK ((review IS NULL) = (reviewed_by IS NULL)
                                                       AND (review IS NULL) = (reviewed_at IS NULL))
);
-- The care-team check looks up the newest grant of (grantee, patient).
CREATE INDEX break_glass_grants_lookup_idx ON break_glass_grants (grantee, patient_id, expires_at DESC);
-- The admins' open list and the sweep that audits ended grants.
CREATE INDEX break_glass_grants_open_idx ON break_glass_grants (grant_id) WHERE review IS NULL;
CREATE INDEX break_glass_grants_unended_idx ON break_glass_grants (expires_at) WHERE end_audited_at IS NULL;

-- clinician_api creates, lists and reviews grants and records their end; simulation checks them
-- through services/common/access.cc (a what-if under a grant) and may record the end of one it
-- finds expired. Nobody may delete a grant: it is evidence for the review.
GRANT SELECT, INSERT ON break_glass_grants TO healthtwin_clinician_api;
GRANT UPDATE (end_audited_at, review, review_note, reviewed_by, reviewed_at) ON break_glass_grants
  TO healthtwin_clinician_api;
GRANT USAGE ON SEQUENCE break_glass_grants_grant_id_seq TO healthtwin_clinician_api;
GRANT SELECT ON break_glass_grants TO healthtwin_simulation;
GRANT UPDATE (end_audited_at) ON break_glass_grants TO healthtwin_simulation;
-- BreakGlass answers NOT_FOUND for an unknown patient: clinician_api reads patient ids, nothing else.
GRANT SELECT (patient_id) ON patients TO healthtwin_clinician_api;
