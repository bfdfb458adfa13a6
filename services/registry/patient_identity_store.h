// The registry's store of patients' identifying data, encrypted at rest through the envelope
// (services/common/crypto): each patient has one data key (DEK) in patient_data_keys, wrapped
// by a KEK of the KeyProvider, and each identity column of patients is a field ciphertext bound
// to its column and patient. The MRN is found through the blind index alone (migration 0017).
//
// Thread-safe (the pool and the provider are). Plaintext values exist only in the caller's
// PatientIdentity and in memory during a call; none is logged or put into a status message.
#pragma once

#include <cstdint>
#include <functional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/crypto/key_provider.h"
#include "services/common/pg.h"
#include "services/registry/patient_identity.h"

namespace healthtwin::registry {

class PatientIdentityStore {
 public:
  // `pool` connects as the registry's role (healthtwin_ingest); both must outlive the store.
  PatientIdentityStore(common::PgPool& pool, const common::crypto::KeyProvider& keys) : pool_(pool), keys_(keys) {}

  // Validates, encrypts and stores `identity` for an existing patient, replacing any earlier
  // one. The patient's DEK is made (and wrapped under the active KEK) on first use and reused
  // after. NOT_FOUND: no such patient; ALREADY_EXISTS: another patient has this MRN in this
  // system; INVALID_ARGUMENT: a bad field (named).
  absl::Status Put(std::string_view patient_id, const PatientIdentity& identity);
  // Put inside the caller's transaction (e.g. with the INSERT of the patient). Every refusal
  // comes before the first write; on any error the caller must abort, not commit.
  absl::Status PutInTransaction(pqxx::work& tx, std::string_view patient_id, const PatientIdentity& identity);

  // Decrypts a patient's identity. NOT_FOUND: no such patient, or none stored; DATA_LOSS: a
  // ciphertext or wrapped key that does not authenticate (names the column).
  absl::StatusOr<PatientIdentity> Get(std::string_view patient_id);

  // The patient whose MRN this is, through the blind index (no row is decrypted). NOT_FOUND
  // when none is.
  absl::StatusOr<std::string> FindByMrn(std::string_view mrn_system, std::string_view mrn);

  // Rotation: rewraps up to `batch` DEKs that are not under the provider's active KEK (rows
  // locked FOR UPDATE SKIP LOCKED, so several rotators and concurrent readers are safe), and
  // returns how many. Call until it returns 0. Field ciphertexts are untouched.
  absl::StatusOr<int> RewrapBatch(int batch);

  // Re-encryption under fresh DEKs, for a suspected DEK exposure (`healthtwin admin keys
  // reencrypt`). A run moves every patient (or only `patient_id`) whose current DEK was created
  // before `created_before_unix_us` (database clock; 0: now, which the result returns for the
  // next call of the same run). Each call moves up to `batch` patients, each in a transaction of
  // its own: under the patient's row lock, every identity column is decrypted and encrypted
  // again (fresh IVs, AAD with the new version) under DEK version N + 1, wrapped under the
  // active KEK, and the superseded wrapped DEK is deleted; `audit` writes the patient's audit
  // record inside that transaction (if it throws, the patient is not moved). A reader sees the
  // old identity or the new one, never a mix; a crash leaves every patient readable and calling
  // again with the same cutoff finishes the run (a moved patient is not moved twice).
  struct ReencryptProgress {
    int moved = 0;                       // patients moved by this call
    int64_t remaining = 0;               // patients of the run still to move
    int64_t created_before_unix_us = 0;  // the run's cutoff
  };
  using ReencryptAudit = std::function<void(pqxx::work&, const std::string& patient_id, uint32_t dek_version)>;
  absl::StatusOr<ReencryptProgress> Reencrypt(std::string_view patient_id, int batch, int64_t created_before_unix_us,
                                              const ReencryptAudit& audit);

  // How many DEKs KEK `kek_version` still wraps.
  absl::StatusOr<int64_t> DataKeysUnderKek(uint32_t kek_version);

  // OK when KEK `kek_version` can be removed from the keyring: it is not the active version
  // and no DEK is wrapped under it; FAILED_PRECONDITION saying why not otherwise.
  absl::Status CheckKekRetirable(uint32_t kek_version);

 private:
  // Moves one patient of a run inside `tx`; false when it needs no move (any more).
  bool ReencryptInTransaction(pqxx::work& tx, const std::string& patient_id, int64_t created_before_unix_us,
                              const ReencryptAudit& audit);

  common::PgPool& pool_;
  const common::crypto::KeyProvider& keys_;
};

}  // namespace healthtwin::registry
