#include "services/registry/patient_identity_store.h"

#include <array>
#include <optional>
#include <pqxx/pqxx>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/crypto/blind_index.h"
#include "services/common/crypto/envelope.h"

namespace healthtwin::registry {
namespace {

using common::crypto::DataKey;
using common::crypto::WrappedDataKey;

constexpr char kTable[] = "patients";

// The identity columns of patients, in one order for SELECT, UPDATE and the struct.
struct Column {
  const char* name;
  std::string PatientIdentity::*field;
};
constexpr std::array<Column, 8> kColumns{{
    {"given_enc", &PatientIdentity::given},
    {"family_enc", &PatientIdentity::family},
    {"birth_date_enc", &PatientIdentity::birth_date},
    {"mrn_enc", &PatientIdentity::mrn},
    {"mrn_system_enc", &PatientIdentity::mrn_system},
    {"phone_enc", &PatientIdentity::phone},
    {"email_enc", &PatientIdentity::email},
    {"address_enc", &PatientIdentity::address},
}};

std::string Bytes(const pqxx::field& field) { return pqxx::binarystring(field).str(); }

// A bytea parameter (libpqxx 6 on Debian 12 takes binarystring; it has no optional, so an
// absent field is passed as empty bytes and the SQL turns it into NULL: no ciphertext is empty).
pqxx::binarystring Bytea(const std::string& s) { return pqxx::binarystring(s.data(), s.size()); }

std::optional<std::string> OptionalBytes(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return Bytes(field);
}

// Carries a status out of a transaction so that it rolls back instead of committing.
class Rollback : public std::exception {
 public:
  explicit Rollback(absl::Status status) : status_(std::move(status)) {}
  const char* what() const noexcept override { return "rolled back"; }
  const absl::Status& status() const { return status_; }

 private:
  absl::Status status_;
};

// Runs `fn` in a transaction and commits; a Rollback it throws aborts the transaction and
// becomes the result, unchanged (an expected refusal, not a database error to log).
absl::Status Transaction(common::PgPool& pool, std::string_view what, const std::function<void(pqxx::work&)>& fn) {
  absl::Status refused;
  absl::Status s = pool.WithConnection(what, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    try {
      fn(tx);
    } catch (const Rollback& r) {
      refused = r.status();
      return;  // ~work aborts
    }
    tx.commit();
  });
  return s.ok() ? refused : s;
}

template <typename T>
T OrRollback(absl::StatusOr<T> v) {
  if (!v.ok()) throw Rollback(v.status());
  return *std::move(v);
}

// Field ciphertexts in kColumns order; an empty one is stored as NULL (no ciphertext is empty).
using Ciphertexts = std::array<std::string, kColumns.size()>;

void InsertDataKey(pqxx::work& tx, const WrappedDataKey& key) {
  tx.exec_params(
      "INSERT INTO patient_data_keys (patient_id, dek_version, kek_version, wrapped_dek) VALUES ($1, $2, $3, $4)",
      key.patient_id, key.dek_version, key.kek_version, Bytea(key.wrapped));
}

// Points the patient's row at DEK `dek_version` with `ciphertexts` under it; `mrn_index` empty: NULL.
void UpdateIdentityColumns(pqxx::work& tx, const std::string& patient_id, uint32_t dek_version,
                           const Ciphertexts& ciphertexts, const std::string& mrn_index) {
  auto param = [&](size_t i) { return Bytea(ciphertexts[i]); };
  tx.exec_params(
      "UPDATE patients SET identity_dek_version = $2, given_enc = NULLIF($3, ''::bytea),"
      " family_enc = NULLIF($4, ''::bytea), birth_date_enc = NULLIF($5, ''::bytea), mrn_enc = NULLIF($6, ''::bytea),"
      " mrn_system_enc = NULLIF($7, ''::bytea), phone_enc = NULLIF($8, ''::bytea),"
      " email_enc = NULLIF($9, ''::bytea), address_enc = NULLIF($10, ''::bytea), mrn_index = NULLIF($11, ''::bytea)"
      " WHERE patient_id = $1",
      patient_id, dek_version, param(0), param(1), param(2), param(3), param(4), param(5), param(6), param(7),
      Bytea(mrn_index));
}

}  // namespace

absl::Status PatientIdentityStore::Put(std::string_view patient_id, const PatientIdentity& identity) {
  return Transaction(pool_, "store patient identity", [&](pqxx::work& tx) {
    if (absl::Status s = PutInTransaction(tx, patient_id, identity); !s.ok()) throw Rollback(s);
  });
}

absl::Status PatientIdentityStore::PutInTransaction(pqxx::work& tx, std::string_view patient_id_view,
                                                    const PatientIdentity& input) {
  if (absl::Status s = ValidateIdentity(input); !s.ok()) return s;
  const std::string patient_id(patient_id_view);
  PatientIdentity identity = input;
  auto mrn = common::crypto::NormalizeMrn(identity.mrn_system, identity.mrn);
  if (!mrn.ok()) return mrn.status();
  identity.mrn = mrn->value;
  identity.mrn_system = mrn->system;
  auto index = common::crypto::MrnBlindIndex(keys_, identity.mrn_system, identity.mrn);
  if (!index.ok()) return index.status();

  try {
    auto patient =
        tx.exec_params("SELECT identity_dek_version FROM patients WHERE patient_id = $1 FOR UPDATE", patient_id);
    if (patient.empty()) throw Rollback(absl::NotFoundError(absl::StrCat("patient ", patient_id, " does not exist")));
    auto other =
        tx.exec_params("SELECT 1 FROM patients WHERE mrn_index = $1 AND patient_id <> $2", Bytea(*index), patient_id);
    if (!other.empty()) {
      throw Rollback(absl::AlreadyExistsError("mrn: another patient already has this MRN in this system"));
    }

    std::optional<DataKey> dek;
    std::optional<WrappedDataKey> new_wrapped;
    if (patient[0][0].is_null()) {
      dek.emplace(OrRollback(DataKey::Generate(patient_id, 1)));
      new_wrapped = OrRollback(dek->Wrap(keys_, keys_.ActiveKekVersion()));
    } else {
      const auto dek_version = patient[0][0].as<uint32_t>();
      auto key = tx.exec_params(
          "SELECT kek_version, wrapped_dek FROM patient_data_keys WHERE patient_id = $1 AND dek_version = $2",
          patient_id, dek_version);
      WrappedDataKey wrapped{patient_id, dek_version, key[0][0].as<uint32_t>(), Bytes(key[0][1])};
      dek.emplace(OrRollback(DataKey::Unwrap(keys_, wrapped)));
    }

    Ciphertexts ciphertexts;  // optional fields stay empty: NULL, not an encrypted ""
    for (size_t i = 0; i < kColumns.size(); ++i) {
      const std::string& value = identity.*kColumns[i].field;
      if (!value.empty()) ciphertexts[i] = OrRollback(dek->Encrypt(kTable, kColumns[i].name, value));
    }
    if (new_wrapped) InsertDataKey(tx, *new_wrapped);
    UpdateIdentityColumns(tx, patient_id, dek->dek_version(), ciphertexts, *index);
  } catch (const Rollback& r) {
    return r.status();  // refused before anything was written
  }
  return absl::OkStatus();
}

absl::StatusOr<PatientIdentity> PatientIdentityStore::Get(std::string_view patient_id_view) {
  const std::string patient_id(patient_id_view);
  std::optional<WrappedDataKey> wrapped;
  std::array<std::optional<std::string>, kColumns.size()> ciphertexts;
  bool found = false;
  // One statement, so a concurrent rotation is seen wholly before or wholly after.
  absl::Status s = pool_.WithTransaction("read patient identity", [&](pqxx::work& tx) {
    std::string columns;
    for (const Column& c : kColumns) absl::StrAppend(&columns, ", p.", c.name);
    auto r = tx.exec_params(absl::StrCat("SELECT p.identity_dek_version, k.kek_version, k.wrapped_dek", columns,
                                         " FROM patients p LEFT JOIN patient_data_keys k ON k.patient_id = "
                                         "p.patient_id AND k.dek_version = p.identity_dek_version"
                                         " WHERE p.patient_id = $1"),
                            patient_id);
    if (r.empty()) return;
    found = true;
    if (r[0][0].is_null()) return;
    wrapped = WrappedDataKey{patient_id, r[0][0].as<uint32_t>(), r[0][1].as<uint32_t>(), Bytes(r[0][2])};
    for (size_t i = 0; i < kColumns.size(); ++i) ciphertexts[i] = OptionalBytes(r[0][3 + static_cast<int>(i)]);
  });
  if (!s.ok()) return s;
  if (!found) return absl::NotFoundError(absl::StrCat("patient ", patient_id, " does not exist"));
  if (!wrapped) return absl::NotFoundError(absl::StrCat("patient ", patient_id, " has no identifying data"));

  auto dek = DataKey::Unwrap(keys_, *wrapped);
  if (!dek.ok()) return dek.status();
  PatientIdentity identity;
  for (size_t i = 0; i < kColumns.size(); ++i) {
    if (!ciphertexts[i]) continue;
    auto plain = dek->Decrypt(kTable, kColumns[i].name, *ciphertexts[i]);
    if (!plain.ok()) return plain.status();
    identity.*kColumns[i].field = *std::move(plain);
  }
  return identity;
}

absl::StatusOr<std::string> PatientIdentityStore::FindByMrn(std::string_view mrn_system, std::string_view mrn) {
  auto index = common::crypto::MrnBlindIndex(keys_, mrn_system, mrn);
  if (!index.ok()) return index.status();
  std::optional<std::string> patient_id;
  absl::Status s = pool_.WithTransaction("find patient by MRN", [&](pqxx::work& tx) {
    auto r = tx.exec_params("SELECT patient_id FROM patients WHERE mrn_index = $1", Bytea(*index));
    if (!r.empty()) patient_id = r[0][0].as<std::string>();
  });
  if (!s.ok()) return s;
  if (!patient_id) return absl::NotFoundError("no patient has this MRN in this system");
  return *patient_id;
}

absl::StatusOr<int> PatientIdentityStore::RewrapBatch(int batch) {
  if (batch < 1) return absl::InvalidArgumentError("batch: must be 1 or more");
  const uint32_t active = keys_.ActiveKekVersion();
  int rewrapped = 0;
  absl::Status s = Transaction(pool_, "rewrap data keys", [&](pqxx::work& tx) {
    rewrapped = 0;
    auto rows = tx.exec_params(
        "SELECT patient_id, dek_version, kek_version, wrapped_dek FROM patient_data_keys WHERE kek_version <> $1"
        " ORDER BY patient_id, dek_version LIMIT $2 FOR UPDATE SKIP LOCKED",
        active, batch);
    for (const auto& row : rows) {
      WrappedDataKey old{row[0].as<std::string>(), row[1].as<uint32_t>(), row[2].as<uint32_t>(), Bytes(row[3])};
      DataKey dek = OrRollback(DataKey::Unwrap(keys_, old));
      WrappedDataKey now = OrRollback(dek.Wrap(keys_, active));
      tx.exec_params(
          "UPDATE patient_data_keys SET kek_version = $3, wrapped_dek = $4, rewrapped_at = now()"
          " WHERE patient_id = $1 AND dek_version = $2",
          now.patient_id, now.dek_version, now.kek_version, Bytea(now.wrapped));
      ++rewrapped;
    }
  });
  if (!s.ok()) return s;
  return rewrapped;
}

namespace {

// A patient of a re-encryption run: their current DEK is older than the cutoff ($1, µs since the
// epoch) and, with $2 not empty, they are patient $2.
constexpr char kStaleKey[] =
    " FROM patients p JOIN patient_data_keys k ON k.patient_id = p.patient_id AND k.dek_version ="
    " p.identity_dek_version WHERE k.created_at < 'epoch'::timestamptz + $1::bigint * interval '1 microsecond'"
    " AND ($2 = '' OR p.patient_id = $2)";

}  // namespace

absl::StatusOr<PatientIdentityStore::ReencryptProgress> PatientIdentityStore::Reencrypt(std::string_view patient_id,
                                                                                        int batch,
                                                                                        int64_t created_before_unix_us,
                                                                                        const ReencryptAudit& audit) {
  if (batch < 1) return absl::InvalidArgumentError("batch: must be 1 or more");
  if (created_before_unix_us < 0) return absl::InvalidArgumentError("created_before: must not be negative");
  const std::string only(patient_id);
  ReencryptProgress progress{.created_before_unix_us = created_before_unix_us};
  std::vector<std::string> patients;
  absl::Status s = pool_.WithTransaction("find data keys to replace", [&](pqxx::work& tx) {
    if (progress.created_before_unix_us == 0) {
      progress.created_before_unix_us =
          tx.exec("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint")[0][0].as<int64_t>();
    }
    patients.clear();
    for (const auto& row :
         tx.exec_params(absl::StrCat("SELECT p.patient_id", kStaleKey, " ORDER BY p.patient_id LIMIT $3"),
                        progress.created_before_unix_us, only, batch)) {
      patients.push_back(row[0].as<std::string>());
    }
  });
  if (!s.ok()) return s;
  for (const std::string& id : patients) {
    bool moved = false;
    s = Transaction(pool_, "re-encrypt patient identity", [&](pqxx::work& tx) {
      moved = ReencryptInTransaction(tx, id, progress.created_before_unix_us, audit);
    });
    if (!s.ok()) return s;
    if (moved) ++progress.moved;
  }
  s = pool_.WithTransaction("count data keys to replace", [&](pqxx::work& tx) {
    progress.remaining =
        tx.exec_params(absl::StrCat("SELECT count(*)", kStaleKey), progress.created_before_unix_us, only)[0][0]
            .as<int64_t>();
  });
  if (!s.ok()) return s;
  return progress;
}

bool PatientIdentityStore::ReencryptInTransaction(pqxx::work& tx, const std::string& patient_id,
                                                  int64_t created_before_unix_us, const ReencryptAudit& audit) {
  std::string columns;
  for (const Column& c : kColumns) absl::StrAppend(&columns, ", p.", c.name);
  // Both rows locked: a concurrent Put or rotation of this patient waits, then sees the new key.
  auto r = tx.exec_params(absl::StrCat("SELECT p.identity_dek_version, k.kek_version, k.wrapped_dek", columns,
                                       ", p.mrn_index", kStaleKey, " FOR UPDATE"),
                          created_before_unix_us, patient_id);
  if (r.empty()) return false;  // moved meanwhile, by another run or an earlier call
  const auto old_version = r[0][0].as<uint32_t>();
  DataKey old_dek = OrRollback(
      DataKey::Unwrap(keys_, WrappedDataKey{patient_id, old_version, r[0][1].as<uint32_t>(), Bytes(r[0][2])}));
  DataKey dek = OrRollback(DataKey::Generate(patient_id, old_version + 1));
  WrappedDataKey wrapped = OrRollback(dek.Wrap(keys_, keys_.ActiveKekVersion()));
  Ciphertexts ciphertexts;
  for (size_t i = 0; i < kColumns.size(); ++i) {
    const pqxx::field field = r[0][3 + static_cast<int>(i)];
    if (field.is_null()) continue;
    const std::string plain = OrRollback(old_dek.Decrypt(kTable, kColumns[i].name, Bytes(field)));
    ciphertexts[i] = OrRollback(dek.Encrypt(kTable, kColumns[i].name, plain));
  }
  InsertDataKey(tx, wrapped);
  // The blind index is under a key of its own and stays.
  const pqxx::field index = r[0][3 + static_cast<int>(kColumns.size())];
  UpdateIdentityColumns(tx, patient_id, wrapped.dek_version, ciphertexts, index.is_null() ? "" : Bytes(index));
  tx.exec_params("DELETE FROM patient_data_keys WHERE patient_id = $1 AND dek_version <> $2", patient_id,
                 wrapped.dek_version);
  audit(tx, patient_id, wrapped.dek_version);
  return true;
}

absl::StatusOr<int64_t> PatientIdentityStore::DataKeysUnderKek(uint32_t kek_version) {
  int64_t n = 0;
  absl::Status s = pool_.WithTransaction("count data keys under a KEK", [&](pqxx::work& tx) {
    n = tx.exec_params("SELECT count(*) FROM patient_data_keys WHERE kek_version = $1", kek_version)[0][0]
            .as<int64_t>();
  });
  if (!s.ok()) return s;
  return n;
}

absl::Status PatientIdentityStore::CheckKekRetirable(uint32_t kek_version) {
  if (kek_version == keys_.ActiveKekVersion()) {
    return absl::FailedPreconditionError(
        absl::StrCat("KEK version ", kek_version, " is the active version; make another active first"));
  }
  auto n = DataKeysUnderKek(kek_version);
  if (!n.ok()) return n.status();
  if (*n > 0) {
    return absl::FailedPreconditionError(absl::StrCat("KEK version ", kek_version, " still wraps ", *n,
                                                      " data key(s); rotate them to the active version first"));
  }
  return absl::OkStatus();
}

}  // namespace healthtwin::registry
