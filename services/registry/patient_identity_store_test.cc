// Identifying data encrypted at rest (migration 0017) on a real PostgreSQL server, written and
// read as the registry's role: a pg_dump of the database holds no identifier, lookup by MRN
// decrypts nothing, ciphertexts moved between rows or columns are refused, and KEK rotation
// while readers run loses nothing.
#include "services/registry/patient_identity_store.h"

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/crypto/file_keyring.h"
#include "services/common/crypto/test_keyring.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/ingest_process.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::registry {
namespace {

using common::crypto::FileKeyring;
using common::crypto::KeyProvider;
using ::testing::AllOf;
using testing::ExecSql;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::QueryInt64;

// Passes every call to a real keyring and counts the unwraps.
class CountingKeys final : public KeyProvider {
 public:
  explicit CountingKeys(const KeyProvider& inner) : inner_(inner) {}
  uint32_t ActiveKekVersion() const override { return inner_.ActiveKekVersion(); }
  absl::StatusOr<std::string> WrapKey(uint32_t v, std::string_view dek, std::string_view ctx) const override {
    return inner_.WrapKey(v, dek, ctx);
  }
  absl::StatusOr<std::string> UnwrapKey(uint32_t v, std::string_view w, std::string_view ctx) const override {
    ++unwraps;
    return inner_.UnwrapKey(v, w, ctx);
  }
  absl::StatusOr<std::string> BlindIndexMac(std::string_view m) const override { return inner_.BlindIndexMac(m); }
  mutable std::atomic<int> unwraps{0};

 private:
  const KeyProvider& inner_;
};

PatientIdentity Ada() {
  return {.given = "Augusta",
          .family = "Kingsbury-Lovelace",
          .birth_date = "1915-12-10",
          .mrn = "MRN-90210-ADA",
          .mrn_system = "urn:oid:2.16.840.1.113883.19.5",
          .phone = "+44 20 7946 0958",
          .email = "augusta.kingsbury@example.org",
          .address = "12 St James's Square\nLondon"};
}

PatientIdentity Numbered(int i) {
  return {.given = absl::StrCat("Given", i),
          .family = absl::StrCat("Family", i),
          .birth_date = "1960-02-29",
          .mrn = absl::StrCat("MRN-", 100000 + i),
          .mrn_system = "",
          .phone = "",
          .email = "",
          .address = ""};
}

// Four threads reading patients 0 .. patients-1 round robin until Stop(), counting the reads and
// those `read_ok` says failed.
class Readers {
 public:
  Readers(int patients, std::function<bool(int)> read_ok) {
    for (int t = 0; t < 4; ++t) {
      threads_.emplace_back([this, t, patients, read_ok] {
        for (int i = t; !stop_.load(); i = (i + 1) % patients) {
          if (!read_ok(i)) ++failures_;
          ++reads_;
        }
      });
    }
  }
  ~Readers() { Stop(); }
  void WaitForReads(int n) const {
    while (reads_.load() < n) std::this_thread::yield();
  }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  int reads() const { return reads_.load(); }
  int failures() const { return failures_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> reads_{0}, failures_{0};
  std::vector<std::thread> threads_;
};

class PatientIdentityStoreTest : public testing::ClusterPerSuiteTest {
 protected:
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    auto conninfo = testing::CreateMigratedDatabase(*cluster_, TestDatabaseName());
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    superuser_ = *conninfo;
    pool_ = std::make_unique<common::PgPool>(testing::ServiceConnInfo(superuser_, "ingest"), 4);
    LoadKeys();
  }

  void LoadKeys() {
    auto keys = FileKeyring::Create(ring_.dir());
    ASSERT_TRUE(keys.ok()) << keys.status();
    keys_ = *std::move(keys);
    counting_ = std::make_unique<CountingKeys>(*keys_);
    store_ = std::make_unique<PatientIdentityStore>(*pool_, *counting_);
  }

  void AddPatients(const std::vector<std::string>& ids) {
    for (const auto& id : ids) ExecSql(superuser_, "INSERT INTO patients (patient_id) VALUES ('" + id + "')");
  }

  std::string PgDump() {
    pqxx::connection conn(superuser_);
    pqxx::nontransaction tx(conn);
    const std::string bin = tx.exec("SELECT setting FROM pg_config WHERE name = 'BINDIR'")[0][0].as<std::string>();
    auto dump = testing::Subprocess::Spawn(bin + "/pg_dump", {"--dbname=" + superuser_});
    EXPECT_TRUE(dump.ok()) << dump.status();
    if (!dump.ok()) return "";
    auto exit = (*dump)->Wait(std::chrono::seconds(60));
    EXPECT_TRUE(exit.ok() && exit->exited && exit->code == 0) << (*dump)->Stderr();
    return (*dump)->Stdout();
  }

  common::crypto::testing::TestKeyringDir ring_;
  std::string superuser_;
  std::unique_ptr<common::PgPool> pool_;
  std::unique_ptr<FileKeyring> keys_;
  std::unique_ptr<CountingKeys> counting_;
  std::unique_ptr<PatientIdentityStore> store_;
};

TEST_F(PatientIdentityStoreTest, StoresAndReadsBackAnIdentityAsTheRegistryRole) {
  AddPatients({"pat-0001"});
  ASSERT_TRUE(store_->Put("pat-0001", Ada()).ok());
  auto back = store_->Get("pat-0001");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, Ada());
  EXPECT_EQ(QueryInt64(superuser_,
                       "SELECT count(*) FROM patient_data_keys WHERE patient_id = 'pat-0001'"
                       " AND kek_version = 1 AND dek_version = 1"),
            1);
}

TEST_F(PatientIdentityStoreTest, AnUpdateKeepsThePatientsDataKeyAndOptionalFieldsMayBeEmpty) {
  AddPatients({"pat-0001"});
  ASSERT_TRUE(store_->Put("pat-0001", Ada()).ok());
  PatientIdentity moved = Numbered(1);
  ASSERT_TRUE(store_->Put("pat-0001", moved).ok());
  moved.mrn_system = "urn:healthtwin:mrn";  // the default system, as stored
  EXPECT_EQ(store_->Get("pat-0001").value_or(PatientIdentity{}), moved);
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM patient_data_keys"), 1);
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM patients WHERE phone_enc IS NULL AND email_enc IS NULL"), 1);
}

TEST_F(PatientIdentityStoreTest, APgDumpHoldsNoIdentifierInPlainOrHex) {
  AddPatients({"pat-0001", "pat-0002"});
  ASSERT_TRUE(store_->Put("pat-0001", Ada()).ok());
  ASSERT_TRUE(store_->Put("pat-0002", Numbered(2)).ok());

  const std::string dump = PgDump();
  // The dump is real and holds the rows: ids, and the wrapped keys' table.
  ASSERT_THAT(dump, AllOf(HasSubstr("pat-0001"), HasSubstr("pat-0002"), HasSubstr("COPY public.patient_data_keys")));
  const PatientIdentity ada = Ada();
  for (const std::string& value :
       {ada.given, ada.family, ada.birth_date, ada.mrn, ada.phone, ada.email, std::string("St James"),
        std::string("Given2"), std::string("Family2"), std::string("MRN-100002"), std::string("1960-02-29")}) {
    EXPECT_THAT(dump, Not(HasSubstr(value))) << "plaintext identifier in pg_dump";
    // bytea is dumped as hex: a value stored unencrypted in a bytea column would show so.
    EXPECT_THAT(dump, Not(HasSubstr(absl::BytesToHexString(value)))) << "hex identifier in pg_dump";
  }
}

TEST_F(PatientIdentityStoreTest, LookupByMrnUsesTheBlindIndexAndDecryptsNothing) {
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(absl::StrCat("pat-", 1000 + i));
  AddPatients(ids);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store_->Put(ids[i], Numbered(i)).ok());
  ASSERT_TRUE(store_->Put(ids[7], Ada()).ok());
  counting_->unwraps = 0;

  EXPECT_EQ(store_->FindByMrn(Ada().mrn_system, " MRN-90210-ADA ").value_or(""), "pat-1007");
  EXPECT_EQ(store_->FindByMrn("", "MRN-100013").value_or(""), "pat-1013");
  EXPECT_EQ(store_->FindByMrn("urn:oid:9.9", "MRN-100013").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->FindByMrn("", "MRN-90210-ADA").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(counting_->unwraps.load(), 0);
}

TEST_F(PatientIdentityStoreTest, TheSameMrnInTheSameSystemIsRefusedButNotInAnother) {
  AddPatients({"pat-0001", "pat-0002", "pat-0003"});
  ASSERT_TRUE(store_->Put("pat-0001", Ada()).ok());
  auto dup = store_->Put("pat-0002", Ada());
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(dup.message(), AllOf(HasSubstr("mrn: another patient"), Not(HasSubstr(Ada().mrn))));
  PatientIdentity other_system = Ada();
  other_system.mrn_system = "urn:oid:1.2.3";
  EXPECT_TRUE(store_->Put("pat-0003", other_system).ok());
}

TEST_F(PatientIdentityStoreTest, ACiphertextMovedToAnotherPatientOrColumnIsRefused) {
  AddPatients({"pat-0001", "pat-0002"});
  ASSERT_TRUE(store_->Put("pat-0001", Ada()).ok());
  ASSERT_TRUE(store_->Put("pat-0002", Numbered(2)).ok());

  ExecSql(superuser_, "UPDATE patients SET family_enc = given_enc WHERE patient_id = 'pat-0001'");
  auto column = store_->Get("pat-0001");
  EXPECT_EQ(column.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(column.status().message(), HasSubstr("patients.family_enc of patient pat-0001 does not authenticate"));

  // Another patient's wrapped key and ciphertext together: the wrap context names the patient.
  ExecSql(superuser_,
          "UPDATE patient_data_keys SET wrapped_dek = (SELECT wrapped_dek FROM patient_data_keys WHERE patient_id ="
          " 'pat-0001') WHERE patient_id = 'pat-0002'");
  auto key = store_->Get("pat-0002");
  EXPECT_EQ(key.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(key.status().message(), HasSubstr("data key version 1 of patient pat-0002"));
}

TEST_F(PatientIdentityStoreTest, ABadFieldOrUnknownPatientIsNamed) {
  PatientIdentity bad = Ada();
  bad.birth_date = "1915-02-30";
  EXPECT_THAT(store_->Put("pat-0001", bad).message(), HasSubstr("birth_date: not a calendar date"));
  bad = Ada();
  bad.email = "no-at-sign";
  EXPECT_THAT(store_->Put("pat-0001", bad).message(), HasSubstr("email:"));
  EXPECT_EQ(store_->Put("pat-nobody", Ada()).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM patient_data_keys"), 0);
  AddPatients({"pat-0001"});
  EXPECT_THAT(store_->Get("pat-0001").status().message(), HasSubstr("has no identifying data"));
}

// Rotation to KEK 2 in batches while four readers decrypt every patient over and over: every
// read succeeds with the right data, and afterwards KEK 1 wraps nothing and may be retired.
TEST_F(PatientIdentityStoreTest, RotationWhileReadingLosesNothingAndThenTheOldKekIsRetirable) {
  constexpr int kPatients = 60;
  std::vector<std::string> ids;
  for (int i = 0; i < kPatients; ++i) ids.push_back(absl::StrCat("pat-", 2000 + i));
  AddPatients(ids);
  for (int i = 0; i < kPatients; ++i) ASSERT_TRUE(store_->Put(ids[i], Numbered(i)).ok());
  EXPECT_THAT(store_->CheckKekRetirable(1).message(), HasSubstr("is the active version"));

  ring_.WriteFile("active-kek", "2\n", 0600);
  auto rotated_keys = FileKeyring::Create(ring_.dir());
  ASSERT_TRUE(rotated_keys.ok()) << rotated_keys.status();
  PatientIdentityStore rotated(*pool_, **rotated_keys);
  EXPECT_THAT(rotated.CheckKekRetirable(1).message(), HasSubstr("still wraps 60 data key(s)"));

  Readers readers(kPatients, [&](int i) {
    auto got = rotated.Get(ids[i]);
    return got.ok() && got->given == absl::StrCat("Given", i);
  });
  readers.WaitForReads(kPatients);  // readers are under way
  int total = 0;
  for (;;) {
    auto n = rotated.RewrapBatch(7);
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    total += *n;
  }
  readers.WaitForReads(3 * kPatients);
  readers.Stop();

  EXPECT_EQ(total, kPatients);
  EXPECT_EQ(readers.failures(), 0) << "of " << readers.reads() << " reads";
  EXPECT_EQ(rotated.DataKeysUnderKek(1).value_or(-1), 0);
  EXPECT_EQ(rotated.DataKeysUnderKek(2).value_or(-1), kPatients);
  EXPECT_TRUE(rotated.CheckKekRetirable(1).ok());
  EXPECT_EQ(rotated.FindByMrn("", "MRN-100042").value_or(""), "pat-2042");

  // With KEK 1 gone from the keyring, every patient still reads.
  std::filesystem::remove(ring_.path("kek-1.key"));
  auto without_old = FileKeyring::Create(ring_.dir());
  ASSERT_TRUE(without_old.ok()) << without_old.status();
  PatientIdentityStore after(*pool_, **without_old);
  for (int i = 0; i < kPatients; ++i) EXPECT_TRUE(after.Get(ids[i]).ok()) << ids[i];
}

// The keyring the development PKI script makes: private, loadable, and kept as it is when the
// script runs again (new keys would orphan data encrypted under the old ones).
TEST_F(PatientIdentityStoreTest, TheDevPkiKeyringIsPrivateLoadsAndSurvivesARerun) {
  std::string pattern = (std::filesystem::temp_directory_path() / "ht-pki-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::filesystem::path pki(pattern);
  ASSERT_TRUE(testing::MakeDevPki(HT_PKI_SCRIPT, pki.string()).ok());
  const std::filesystem::path ring = pki / "keyring";
  auto mode = [](const std::filesystem::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0u;
  };
  EXPECT_EQ(mode(ring), 0700u);
  EXPECT_EQ(mode(ring / "kek-1.key"), 0600u);
  EXPECT_EQ(mode(ring / "blind-index.key"), 0600u);
  auto keys = FileKeyring::Create(ring.string());
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ((*keys)->ActiveKekVersion(), 1u);

  PatientIdentityStore store(*pool_, **keys);
  AddPatients({"pat-0001"});
  ASSERT_TRUE(store.Put("pat-0001", Ada()).ok());
  ASSERT_TRUE(testing::MakeDevPki(HT_PKI_SCRIPT, pki.string()).ok());
  auto again = FileKeyring::Create(ring.string());
  ASSERT_TRUE(again.ok()) << again.status();
  PatientIdentityStore after_rerun(*pool_, **again);
  EXPECT_EQ(after_rerun.Get("pat-0001").value_or(PatientIdentity{}), Ada());
  std::filesystem::remove_all(pki);
}

// Every stored byte of a patient's identity: the wrapped DEK and each column (hex), keyed by
// patient; a column that is NULL is "-".
std::map<std::string, std::vector<std::string>> StoredBytes(const std::string& conninfo) {
  std::map<std::string, std::vector<std::string>> out;
  pqxx::connection conn(conninfo);
  pqxx::nontransaction tx(conn);
  for (const auto& row :
       tx.exec("SELECT p.patient_id, encode(k.wrapped_dek, 'hex'), coalesce(encode(p.given_enc, 'hex'), '-'),"
               " coalesce(encode(p.family_enc, 'hex'), '-'), coalesce(encode(p.birth_date_enc, 'hex'), '-'),"
               " coalesce(encode(p.mrn_enc, 'hex'), '-'), coalesce(encode(p.mrn_system_enc, 'hex'), '-'),"
               " coalesce(encode(p.phone_enc, 'hex'), '-'), coalesce(encode(p.email_enc, 'hex'), '-'),"
               " coalesce(encode(p.address_enc, 'hex'), '-')"
               " FROM patients p JOIN patient_data_keys k ON k.patient_id = p.patient_id")) {
    auto& bytes = out[row[0].as<std::string>()];
    for (int i = 1; i < static_cast<int>(row.size()); ++i) bytes.push_back(row[i].as<std::string>());
  }
  return out;
}

// Re-encryption of every patient in batches of 7 while four readers decrypt every patient over
// and over: no read fails or sees a mix, every wrapped DEK and every ciphertext changes, the old
// DEKs are gone, each patient moved is audited in its own transaction, and the dump still holds
// no identifier. The same run called again moves nobody; a new run for one patient moves it.
TEST_F(PatientIdentityStoreTest, ReencryptionWhileReadingMovesEveryPatientToAFreshDataKey) {
  constexpr int kPatients = 40;
  std::vector<std::string> ids = {"pat-0001"};
  for (int i = 1; i < kPatients; ++i) ids.push_back(absl::StrCat("pat-", 3000 + i));
  AddPatients(ids);
  ASSERT_TRUE(store_->Put(ids[0], Ada()).ok());
  for (int i = 1; i < kPatients; ++i) ASSERT_TRUE(store_->Put(ids[i], Numbered(i)).ok());
  AddPatients({"pat-plain"});             // no identity: nothing to move
  std::vector<PatientIdentity> expected;  // as stored (the MRN's system normalised)
  for (const auto& id : ids) expected.push_back(store_->Get(id).value_or(PatientIdentity{}));
  ASSERT_EQ(expected[0].family, Ada().family);
  const auto before = StoredBytes(superuser_);
  ASSERT_EQ(before.size(), static_cast<size_t>(kPatients));

  Readers readers(kPatients, [&](int i) {
    auto got = store_->Get(ids[i]);
    return got.ok() && *got == expected[i];
  });
  readers.WaitForReads(kPatients);  // readers are under way
  std::vector<std::string> audited;
  auto audit = [&](pqxx::work& tx, const std::string& patient_id, uint32_t dek_version) {
    // Inside the patient's transaction: it sees its own new key.
    EXPECT_EQ(tx.exec_params("SELECT dek_version FROM patient_data_keys WHERE patient_id = $1", patient_id)[0][0]
                  .as<uint32_t>(),
              dek_version);
    audited.push_back(patient_id);
  };
  int moved = 0, calls = 0;
  int64_t run = 0;
  for (;;) {
    auto progress = store_->Reencrypt("", 7, run, audit);
    ASSERT_TRUE(progress.ok()) << progress.status();
    ++calls;
    moved += progress->moved;
    run = progress->created_before_unix_us;
    if (progress->remaining == 0) break;
    ASSERT_LT(calls, 20);
  }
  readers.WaitForReads(readers.reads() + 2 * kPatients);  // and keep reading after the last move
  readers.Stop();

  EXPECT_EQ(moved, kPatients);
  EXPECT_EQ(calls, 6);  // 7 + 7 + 7 + 7 + 7 + 5
  EXPECT_EQ(audited.size(), static_cast<size_t>(kPatients));
  EXPECT_EQ(readers.failures(), 0) << "of " << readers.reads() << " reads";
  const auto after = StoredBytes(superuser_);
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM patient_data_keys"), kPatients) << "old DEKs deleted";
  ASSERT_EQ(after.size(), before.size());
  for (const auto& [patient, bytes] : before) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      if (bytes[i] == "-") {
        EXPECT_EQ(after.at(patient)[i], "-") << patient << " column " << i;
      } else {
        EXPECT_NE(after.at(patient)[i], bytes[i]) << patient << " column " << i << " (0: the wrapped DEK)";
      }
    }
  }
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM patient_data_keys WHERE dek_version = 2"), kPatients);
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM patients WHERE identity_dek_version = 2"), kPatients);
  for (int i = 0; i < kPatients; ++i) EXPECT_EQ(store_->Get(ids[i]).value_or(PatientIdentity{}), expected[i]);
  EXPECT_EQ(store_->FindByMrn(Ada().mrn_system, Ada().mrn).value_or(""), "pat-0001");
  const std::string dump = PgDump();
  EXPECT_THAT(dump, HasSubstr("pat-0001"));  // the dump is being read
  for (const std::string& plain : {Ada().given, Ada().family, Ada().birth_date, Ada().mrn, Ada().phone, Ada().email}) {
    EXPECT_THAT(dump, Not(HasSubstr(plain)));
  }

  auto again = store_->Reencrypt("", 100, run, audit);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->moved, 0);
  EXPECT_EQ(again->remaining, 0);
  auto one = store_->Reencrypt("pat-0001", 100, 0, audit);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->moved, 1);
  EXPECT_GT(one->created_before_unix_us, run);
  EXPECT_EQ(QueryInt64(superuser_, "SELECT identity_dek_version FROM patients WHERE patient_id = 'pat-0001'"), 3);
  EXPECT_EQ(store_->Get("pat-0001").value_or(PatientIdentity{}), expected[0]);
  EXPECT_EQ(store_->Reencrypt("", 0, 0, audit).status().code(), absl::StatusCode::kInvalidArgument);
}

// A run that fails halfway (here the audit write of the fourth patient fails, as a database error
// would) keeps what it committed and rolls the failing patient back whole: every patient reads.
// Calling again with the run's cutoff finishes it, moving nobody twice, even after a KEK rotation
// in between; then the old KEK wraps nothing and may be retired.
TEST_F(PatientIdentityStoreTest, AFailedReencryptionLeavesEveryPatientReadableAndTheRunFinishesLater) {
  constexpr int kPatients = 10;
  std::vector<std::string> ids;
  for (int i = 0; i < kPatients; ++i) ids.push_back(absl::StrCat("pat-", 4000 + i));
  AddPatients(ids);
  for (int i = 0; i < kPatients; ++i) ASSERT_TRUE(store_->Put(ids[i], Numbered(i)).ok());
  std::vector<PatientIdentity> expected;  // as stored (the MRN's system normalised)
  for (const auto& id : ids) expected.push_back(store_->Get(id).value_or(PatientIdentity{}));
  ASSERT_EQ(expected[3].given, "Given3");
  int audits = 0;
  auto failing = [&](pqxx::work& tx, const std::string&, uint32_t) {
    if (++audits == 4) tx.exec("SELECT 1 / 0");
  };
  auto first = store_->Reencrypt("", 100, 0, failing);
  EXPECT_FALSE(first.ok());
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM patients WHERE identity_dek_version = 2"), 3);
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM patient_data_keys"), kPatients);
  for (int i = 0; i < kPatients; ++i) EXPECT_EQ(store_->Get(ids[i]).value_or(PatientIdentity{}), expected[i]);
  const int64_t run =
      QueryInt64(superuser_,
                 "SELECT (extract(epoch FROM max(created_at)) * 1000000)::bigint + 1 FROM patient_data_keys"
                 " WHERE dek_version = 1");

  ring_.WriteFile("active-kek", "2\n", 0600);
  LoadKeys();
  auto rest = store_->Reencrypt("", 100, run, [](pqxx::work&, const std::string&, uint32_t) {});
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->moved, kPatients - 3);
  EXPECT_EQ(rest->remaining, 0);
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM patients WHERE identity_dek_version = 2"), kPatients);
  for (int i = 0; i < kPatients; ++i) EXPECT_EQ(store_->Get(ids[i]).value_or(PatientIdentity{}), expected[i]);
  EXPECT_EQ(store_->DataKeysUnderKek(1).value_or(-1), 3) << "the three moved before the failure";
  EXPECT_TRUE(store_->RewrapBatch(100).ok());
  EXPECT_TRUE(store_->CheckKekRetirable(1).ok());
}

struct CliResult {
  int code = -1;
  std::string out, err;
};

CliResult RunCli(const std::vector<std::string>& args) {
  auto cli = testing::Subprocess::Spawn(HT_CLI, args);
  if (!cli.ok()) return {.code = -1, .out = "", .err = std::string(cli.status().message())};
  auto exit = (*cli)->Wait(std::chrono::seconds(60));
  return {.code = exit.ok() && exit->exited ? exit->code : -1, .out = (*cli)->Stdout(), .err = (*cli)->Stderr()};
}

// `healthtwin admin keys`: retire is refused while the KEK is active or in use, rotate moves
// every data key, and a retired KEK's file is set aside while every patient still reads.
TEST_F(PatientIdentityStoreTest, TheKeysCommandsRotateAndRetireOnlyAnUnusedKek) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(absl::StrCat("pat-", 3000 + i));
  AddPatients(ids);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->Put(ids[i], Numbered(i)).ok());
  const std::string db = testing::ServiceConnInfo(superuser_, "ingest");
  const std::vector<std::string> common = {"--db", db, "--keyring", ring_.dir()};
  auto keys = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"admin", "keys"});
    args.insert(args.begin() + 3, common.begin(), common.end());
    return RunCli(args);
  };

  CliResult active = keys({"retire", "--kek", "1"});
  EXPECT_EQ(active.code, 1) << active.err;
  EXPECT_THAT(active.err, HasSubstr("KEK version 1 is the active version"));

  ring_.WriteFile("active-kek", "2\n", 0600);
  CliResult in_use = keys({"retire", "--kek", "1"});
  EXPECT_EQ(in_use.code, 1) << in_use.err;
  EXPECT_THAT(in_use.err, HasSubstr("still wraps 5 data key(s)"));

  CliResult rotate = keys({"rotate", "--batch", "2"});
  EXPECT_EQ(rotate.code, 0) << rotate.err;
  EXPECT_THAT(rotate.out, HasSubstr("rewrapped 5 data key(s) under KEK version 2"));
  CliResult status = keys({"status"});
  EXPECT_EQ(status.code, 0) << status.err;
  EXPECT_THAT(status.out, AllOf(HasSubstr("active KEK version 2; keyring versions 1, 2"),
                                HasSubstr("KEK version 2 wraps 5 data key(s)"), Not(HasSubstr("KEK version 1 wraps"))));

  CliResult retire = keys({"retire", "--kek", "1"});
  EXPECT_EQ(retire.code, 0) << retire.err;
  EXPECT_TRUE(std::filesystem::exists(ring_.path("kek-1.key.retired")));
  EXPECT_FALSE(std::filesystem::exists(ring_.path("kek-1.key")));
  LoadKeys();
  for (const auto& id : ids) EXPECT_TRUE(store_->Get(id).ok()) << id;

  ::chmod(ring_.path("kek-2.key").c_str(), 0640);
  CliResult open_key = keys({"status"});
  EXPECT_EQ(open_key.code, 2);
  EXPECT_THAT(open_key.err, AllOf(HasSubstr("kek-2.key' has mode 0640"), Not(HasSubstr("\n ")))) << open_key.err;
}

}  // namespace
}  // namespace healthtwin::registry
