-- Identifying data, encrypted at rest (issue 13, item 1; services/common/crypto/README.md has
-- the formats). The database holds no plaintext identifier: each patient's given and family
-- name, birth date, MRN and its assigning authority, phone, email and address are bytea
-- ciphertexts (AES-256-GCM under that patient's data key, bound by AAD to table, column,
-- patient and key version), and the MRN is found through a blind index (HMAC-SHA-256 under a
-- key of its own), never by decrypting rows.

-- One data key (DEK) per patient and DEK version, wrapped by a key-encryption key (KEK) of the
-- keyring. Rotating the KEK rewraps these rows in place (kek_version changes, the DEK and so
-- the field ciphertexts do not); a KEK version may be retired once no row names it, which the
-- index on kek_version answers cheaply. Re-encrypting under a fresh DEK adds dek_version + 1.
CREATE TABLE patient_data_keys (
  patient_id    text NOT NULL REFERENCES patients (patient_id),
  dek_version   integer NOT NULL CHECK (dek_version >= 1),
  kek_version   integer NOT NULL CHECK (kek_version >= 1),
  -- FileKeyring format 1: 0x01 || IV (12) || encrypted DEK (32) || tag (16). Another provider
  -- (a KMS) may produce another length, so only the lower bound is checked.
  wrapped_dek   bytea NOT NULL CHECK (length(wrapped_dek) >= 32),
  created_at    timestamptz NOT NULL DEFAULT now(),
  rewrapped_at  timestamptz,
  PRIMARY KEY (patient_id, dek_version)
);
CREATE INDEX patient_data_keys_kek_version_idx ON patient_data_keys (kek_version);

ALTER TABLE patients
  -- The DEK version every identity column of this row is encrypted under. Each column holds
  -- field ciphertext format 1: 0x01 || dek_version (4) || IV (12) || ciphertext || tag (16).
  ADD COLUMN identity_dek_version integer,
  ADD COLUMN given_enc bytea CHECK (given_enc IS NULL OR (length(given_enc) >= 33 AND get_byte(given_enc, 0) = 1)),
  ADD COLUMN family_enc bytea CHECK (family_enc IS NULL OR (length(family_enc) >= 33 AND get_byte(family_enc, 0) = 1)),
  ADD COLUMN birth_date_enc bytea CHECK (birth_date_enc IS NULL OR (length(birth_date_enc) >= 33 AND get_byte(birth_date_enc, 0) = 1)),
  ADD COLUMN mrn_enc bytea CHECK (mrn_enc IS NULL OR (length(mrn_enc) >= 33 AND get_byte(mrn_enc, 0) = 1)),
  ADD COLUMN mrn_system_enc bytea CHECK (mrn_system_enc IS NULL OR (length(mrn_system_enc) >= 33 AND get_byte(mrn_system_enc, 0) = 1)),
  ADD COLUMN phone_enc bytea CHECK (phone_enc IS NULL OR (length(phone_enc) >= 33 AND get_byte(phone_enc, 0) = 1)),
  ADD COLUMN email_enc bytea CHECK (email_enc IS NULL OR (length(email_enc) >= 33 AND get_byte(email_enc, 0) = 1)),
  ADD COLUMN address_enc bytea CHECK (address_enc IS NULL OR (length(address_enc) >= 33 AND get_byte(address_enc, 0) = 1)),
  -- HMAC-SHA-256 over (assigning authority, MRN): the system is inside the MAC, so this one
  -- unique index is unique per (system, MRN).
  ADD COLUMN mrn_index bytea CHECK (length(mrn_index) = 32),
  ADD CONSTRAINT patients_identity_has_key CHECK (
    identity_dek_version IS NOT NULL OR num_nonnulls(given_enc, family_enc, birth_date_enc, mrn_enc,
                                                     mrn_system_enc, phone_enc, email_enc, address_enc,
                                                     mrn_index) = 0),
  ADD CONSTRAINT patients_mrn_with_index CHECK ((mrn_enc IS NULL) = (mrn_index IS NULL)),
  ADD CONSTRAINT patients_identity_dek_fk FOREIGN KEY (patient_id, identity_dek_version)
    REFERENCES patient_data_keys (patient_id, dek_version);
CREATE UNIQUE INDEX patients_mrn_index_key ON patients (mrn_index) WHERE mrn_index IS NOT NULL;

-- The registry (hosted by ingest, services/registry/patient_identity_store.cc) writes
-- identities: UPDATE on the identity columns only, and the wrapped keys (UPDATE for rotation).
-- Readers keep their table-level SELECT on patients (twin, simulation): they see ciphertexts
-- and hold no keyring. Nobody else may read the wrapped keys.
GRANT UPDATE (identity_dek_version, given_enc, family_enc, birth_date_enc, mrn_enc, mrn_system_enc, phone_enc,
              email_enc, address_enc, mrn_index)
  ON patients TO healthtwin_ingest;
GRANT SELECT, INSERT, UPDATE ON patient_data_keys TO healthtwin_ingest;
