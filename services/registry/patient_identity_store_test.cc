// Identifying data encrypted at rest (migration 0017) on a real PostgreSQL server, written and
// read as the registry's role: a pg_dump of the database holds no identifier, lookup by MRN
// decrypts nothing, ciphertexts moved between rows or columns are refused, and KEK rotation
// while readers run loses nothing.
#include "services/registry/patient_identity_store.h"

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
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

  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (int i = t; !stop.load(); i = (i + 1) % kPatients) {
        auto got = rotated.Get(ids[i]);
        if (!got.ok() || got->given != absl::StrCat("Given", i)) ++failures;
        ++reads;
      }
    });
  }
  while (reads.load() < kPatients) std::this_thread::yield();  // readers are under way
  int total = 0;
  for (;;) {
    auto n = rotated.RewrapBatch(7);
    ASSERT_TRUE(n.ok()) << n.status();
    if (*n == 0) break;
    total += *n;
  }
  while (reads.load() < 3 * kPatients) std::this_thread::yield();
  stop = true;
  for (auto& r : readers) r.join();

  EXPECT_EQ(total, kPatients);
  EXPECT_EQ(failures.load(), 0) << "of " << reads.load() << " reads";
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
