-- Re-encryption under fresh data keys (`healthtwin admin keys reencrypt`, issue 13, item 1;
-- services/registry/patient_identity_reencrypt.cc). In one transaction per patient the registry
-- adds the patient's DEK version N + 1, encrypts every identity column again under it and
-- deletes the superseded wrapped DEK, so a DEK suspected of exposure is gone from the database
-- and a KEK that only wrapped superseded DEKs can be retired.
GRANT DELETE ON patient_data_keys TO healthtwin_ingest;
