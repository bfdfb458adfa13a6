-- Research studies: researchers see de-identified data only (issue 13, item 5;
-- clinician_api/research.h, the de-identification itself is clinician_api/deid.h).
--
-- A study lists the patients who consented to it (with the consent time) and the researchers
-- on it. A researcher on a study may read that study's patients de-identified: pseudonymous
-- ids (HMAC-SHA-256 under the keyring's pseudonym key, never stored), per-patient date shifts,
-- ages capped at 90. Nothing here is identifying: study ids and titles are chosen by admins.
CREATE TABLE research_studies (
  study_id    text PRIMARY KEY CHECK (study_id ~ '^[A-Za-z0-9._-]{1,64}$'),
  title       text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- The researchers on a study: their certificate common names (role researcher).
CREATE TABLE research_study_researchers (
  study_id    text NOT NULL REFERENCES research_studies (study_id),
  researcher  text NOT NULL CHECK (length(researcher) BETWEEN 1 AND 64),
  added_by    text NOT NULL,
  added_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (study_id, researcher)
);
-- A researcher's studies (the access check).
CREATE INDEX research_study_researchers_researcher_idx ON research_study_researchers (researcher);

-- The patients who consented to a study, and when.
CREATE TABLE research_study_patients (
  study_id      text NOT NULL REFERENCES research_studies (study_id),
  patient_id    text NOT NULL REFERENCES patients (patient_id),
  consented_at  timestamptz NOT NULL DEFAULT now(),
  recorded_by   text NOT NULL,
  PRIMARY KEY (study_id, patient_id)
);

-- The registry (hosted by ingest) creates studies and enrols patients and researchers (admins,
-- audited); clinician_api reads them to check a researcher and list a study's patients. Nobody
-- deletes: withdrawal of consent is future work and will be a column, so the record of who saw
-- what under which consent stays.
GRANT SELECT, INSERT ON research_studies, research_study_researchers, research_study_patients
  TO healthtwin_ingest;
GRANT SELECT ON research_studies, research_study_researchers, research_study_patients
  TO healthtwin_clinician_api;
