// Identifying data through the real edge: the healthtwin CLI (cli-admin certificate) creates a
// patient with identifiers on a real healthtwin-ingest (which hosts the registry) started with
// the development PKI's keyring; the database then holds them only encrypted, findable by MRN.
#include <atomic>
#include <filesystem>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "services/common/crypto/file_keyring.h"
#include "services/common/pg.h"
#include "services/common/tls/tls.h"
#include "services/registry/patient_identity_store.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/ingest_process.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::registry {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

class PatientIdentityGrpcTest : public testing::ClusterPerSuiteTest {
 protected:
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    std::string pattern = (std::filesystem::temp_directory_path() / "ht-identity-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    work_ = pattern;
    ASSERT_TRUE(testing::MakeDevPki(HT_PKI_SCRIPT, work_ + "/pki").ok());
    auto conninfo = testing::CreateMigratedDatabase(*cluster_, TestDatabaseName());
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    superuser_ = *conninfo;
  }
  void TearDown() override {
    ingest_.process.reset();
    std::filesystem::remove_all(work_);
  }

  void StartIngest(const std::vector<std::string>& extra) {
    auto started = testing::StartIngestProcess(HT_INGEST_BIN, work_ + "/pki", superuser_, work_, extra);
    ASSERT_TRUE(started.ok()) << started.status();
    ingest_ = *std::move(started);
  }

  // `healthtwin ... --as cli-admin admin create-patient ARGS`.
  std::pair<int, std::string> CreatePatient(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"create-patient"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Admin(argv);
  }

  // `healthtwin --registry ... --pki ... --as AS admin ARGS`: exit code, stdout then stderr.
  std::pair<int, std::string> Admin(const std::vector<std::string>& args, const std::string& as = "cli-admin") {
    std::vector<std::string> argv = {"--registry", ingest_.address, "--pki", work_ + "/pki", "--as", as, "admin"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto cli = testing::Subprocess::Spawn(HT_CLI, argv);
    if (!cli.ok()) return {-1, std::string(cli.status().message())};
    auto exit = (*cli)->Wait(std::chrono::seconds(60));
    return {exit.ok() && exit->exited ? exit->code : -1, (*cli)->Stdout() + (*cli)->Stderr()};
  }

  std::string work_;
  std::string superuser_;
  testing::IngestProcess ingest_;
};

const std::vector<std::string> kIdentity = {
    "--given",    "Henrietta",    "--family",      "Lacksworth", "--birth-date",    "1951-08-01", "--mrn",
    "JH-0004417", "--mrn-system", "urn:oid:1.2.9", "--phone",    "+1 410 555 0199", "--email",    "hl@example.org"};

TEST_F(PatientIdentityGrpcTest, TheCliCreatesAPatientWithIdentifiersStoredOnlyEncrypted) {
  StartIngest({"--keyring", work_ + "/pki/keyring", "--log-level", "debug"});
  std::vector<std::string> args = {"--patient", "pat-0001"};
  args.insert(args.end(), kIdentity.begin(), kIdentity.end());
  auto [code, output] = CreatePatient(args);
  ASSERT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("created patient pat-0001"));

  pqxx::connection conn(superuser_);
  pqxx::nontransaction tx(conn);
  for (const char* plain : {"Henrietta", "Lacksworth", "1951-08-01", "JH-0004417", "555 0199", "hl@example.org"}) {
    // The plaintext bytes inside any stored column (bytea or text) of the row.
    EXPECT_EQ(tx.exec_params("SELECT count(*) FROM patients p WHERE position(convert_to($1, 'UTF8') IN"
                             " coalesce(given_enc, '') || coalesce(family_enc, '') || coalesce(birth_date_enc, '')"
                             " || coalesce(mrn_enc, '') || coalesce(mrn_system_enc, '') || coalesce(phone_enc, '')"
                             " || coalesce(email_enc, '') || convert_to(p::text, 'UTF8')) > 0",
                             std::string(plain))[0][0]
                  .as<int>(),
              0)
        << plain;
  }
  // The same query finds what is stored in clear (the patient id): it can fail.
  EXPECT_EQ(tx.exec_params("SELECT count(*) FROM patients p WHERE position(convert_to($1, 'UTF8') IN"
                           " convert_to(p::text, 'UTF8')) > 0",
                           std::string("pat-0001"))[0][0]
                .as<int>(),
            1);
  auto keys = common::crypto::FileKeyring::Create(work_ + "/pki/keyring");
  ASSERT_TRUE(keys.ok()) << keys.status();
  common::PgPool pool(testing::ServiceConnInfo(superuser_, "ingest"), 1);
  PatientIdentityStore store(pool, **keys);
  EXPECT_EQ(store.FindByMrn("urn:oid:1.2.9", "JH-0004417").value_or(""), "pat-0001");
  auto identity = store.Get("pat-0001");
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->family, "Lacksworth");
  EXPECT_EQ(identity->phone, "+1 410 555 0199");

  // Lookup through the registry API: the admin gets the id, a clinician is refused (and
  // audited), an MRN of another system is NOT_FOUND.
  auto [found_code, found] = Admin({"find-patient", "--mrn", " JH-0004417 ", "--mrn-system", "urn:oid:1.2.9"});
  EXPECT_EQ(found_code, 0) << found;
  EXPECT_THAT(found, HasSubstr("pat-0001\n"));
  auto [missing_code, missing] = Admin({"find-patient", "--mrn", "JH-0004417"});  // the default system
  EXPECT_EQ(missing_code, 1) << missing;
  EXPECT_THAT(missing, HasSubstr("no patient has this MRN"));
  auto [refused_code, refused] =
      Admin({"find-patient", "--mrn", "JH-0004417", "--mrn-system", "urn:oid:1.2.9"}, "dr-alice");
  EXPECT_EQ(refused_code, 1) << refused;
  EXPECT_THAT(refused, Not(HasSubstr("pat-0001")));
  EXPECT_EQ(testing::QueryInt64(superuser_,
                                "SELECT count(*) FROM audit_log WHERE action ="
                                " 'registry.find_patient_by_mrn' AND patient_id = 'pat-0001'"
                                " AND actor = 'cli-admin' AND outcome = 'allowed'"),
            1);
  EXPECT_EQ(testing::QueryInt64(superuser_,
                                "SELECT count(*) FROM audit_log WHERE action ="
                                " 'registry.find_patient_by_mrn' AND actor = 'dr-alice'"
                                " AND outcome = 'denied'"),
            1);

  // A duplicate MRN refuses the whole creation: no patient without its identity.
  args[1] = "pat-0002";
  auto [dup_code, dup_output] = CreatePatient(args);
  EXPECT_EQ(dup_code, 1) << dup_output;
  EXPECT_THAT(dup_output, HasSubstr("identity.mrn: another patient already has this MRN"));
  EXPECT_THAT(dup_output, Not(HasSubstr("JH-0004417")));
  EXPECT_EQ(testing::QueryInt64(superuser_, "SELECT count(*) FROM patients WHERE patient_id = 'pat-0002'"), 0);

  // Nothing the registry logged (ingest's stderr, debug level, after a creation, lookups and
  // refusals) names an identifier.
  const std::string log = ingest_.process->Stderr();
  EXPECT_THAT(log, HasSubstr("db.schema_ok"));  // the log is being read
  for (const char* plain : {"Henrietta", "Lacksworth", "1951-08-01", "JH-0004417", "555 0199", "hl@example.org"}) {
    EXPECT_THAT(log, Not(HasSubstr(plain))) << "identifier in the ingest log";
  }

  auto [bad_code, bad_output] = CreatePatient(
      {"--patient", "pat-0003", "--given", "A", "--family", "B", "--birth-date", "2001-02-29", "--mrn", "X1"});
  EXPECT_EQ(bad_code, 1) << bad_output;
  EXPECT_THAT(bad_output, HasSubstr("identity.birth_date: not a calendar date"));
}

// `healthtwin admin keys reencrypt` through the registry while clinician_api's certificate reads
// identities over and over with GetPatientIdentity: no read fails or changes, every patient
// moves to a fresh data key, and the admin's run is audited per patient and as a whole. A
// clinician is refused and audited; bad arguments exit 2.
TEST_F(PatientIdentityGrpcTest, AdminsReencryptWhileIdentitiesAreReadAndOthersAreRefusedAndAudited) {
  StartIngest({"--keyring", work_ + "/pki/keyring"});
  constexpr int kPatients = 5;
  for (int i = 0; i < kPatients; ++i) {
    std::vector<std::string> args = {"--patient", absl::StrCat("pat-000", i)};
    args.insert(args.end(), kIdentity.begin(), kIdentity.end());
    args[9] = absl::StrCat("JH-000441", i);  // the value after --mrn: one MRN each
    auto [code, output] = CreatePatient(args);
    ASSERT_EQ(code, 0) << output;
  }
  const std::string pki = work_ + "/pki";
  auto channel = common::MakePeerChannel(
      ingest_.address, {pki + "/ca.pem", pki + "/clinician_api.pem", pki + "/clinician_api.key"}, "ingest");
  ASSERT_TRUE(channel.ok()) << channel.status();
  auto stub = v1::RegistryService::NewStub(*channel);
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::string> errors;  // the reader's only
  std::thread reader([&] {
    for (int i = 0; !stop.load(); i = (i + 1) % kPatients) {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::GetPatientIdentityRequest req;
      req.set_patient_id(absl::StrCat("pat-000", i));
      v1::PatientIdentity identity;
      grpc::Status s = stub->GetPatientIdentity(&ctx, req, &identity);
      if (!s.ok()) errors.push_back(s.error_message());
      if (s.ok() && (identity.family() != "Lacksworth" || identity.mrn() != absl::StrCat("JH-000441", i))) {
        errors.push_back("wrong identity for pat-000" + std::to_string(i));
      }
      ++reads;
    }
  });
  while (reads.load() < kPatients) std::this_thread::yield();
  auto [code, output] = Admin({"keys", "reencrypt", "--batch", "2"});
  while (reads.load() < 4 * kPatients) std::this_thread::yield();
  stop = true;
  reader.join();
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("re-encrypted 5 patient(s) under fresh data keys (run "));
  EXPECT_THAT(errors, ::testing::IsEmpty()) << "of " << reads.load() << " reads";
  EXPECT_EQ(testing::QueryInt64(superuser_, "SELECT count(*) FROM patients WHERE identity_dek_version = 2"), kPatients);
  EXPECT_EQ(testing::QueryInt64(superuser_, "SELECT count(*) FROM patient_data_keys"), kPatients);
  EXPECT_EQ(testing::QueryInt64(superuser_,
                                "SELECT count(DISTINCT patient_id) FROM audit_log WHERE action ="
                                " 'registry.data_key.update' AND actor = 'cli-admin' AND outcome = 'allowed'"
                                " AND action_code = 'U' AND detail LIKE '%DEK version 2%'"),
            kPatients);
  // One summary per registry call: batches of 2, 2 and 1.
  EXPECT_EQ(testing::QueryInt64(superuser_,
                                "SELECT count(*) FROM audit_log WHERE action = 'registry.data_keys.update'"
                                " AND actor = 'cli-admin' AND outcome = 'allowed' AND patient_id IS NULL"),
            3);

  auto [one_code, one] = Admin({"keys", "reencrypt", "--patient", "pat-0003"});
  EXPECT_EQ(one_code, 0) << one;
  EXPECT_THAT(one, HasSubstr("re-encrypted 1 patient(s)"));
  EXPECT_EQ(testing::QueryInt64(superuser_, "SELECT identity_dek_version FROM patients WHERE patient_id = 'pat-0003'"),
            3);

  auto [refused_code, refused] = Admin({"keys", "reencrypt"}, "dr-alice");
  EXPECT_EQ(refused_code, 1) << refused;
  EXPECT_THAT(refused, HasSubstr("PERMISSION_DENIED"));
  EXPECT_EQ(testing::QueryInt64(superuser_,
                                "SELECT count(*) FROM audit_log WHERE action = 'registry.data_keys.update'"
                                " AND actor = 'dr-alice' AND outcome = 'denied'"),
            1);
  EXPECT_EQ(testing::QueryInt64(superuser_, "SELECT max(identity_dek_version) FROM patients"), 3);

  for (const std::vector<std::string>& bad : {std::vector<std::string>{"keys", "reencrypt", "--batch", "0"},
                                              {"keys", "reencrypt", "--patient", "pat 1"},
                                              {"keys", "reencrypt", "--patient", ""},
                                              {"keys", "reencrypt", "--run", "-5"},
                                              {"keys", "reencrypt", "--frobnicate"}}) {
    auto [bad_code, bad_output] = Admin(bad);
    EXPECT_EQ(bad_code, 2) << bad_output;
    EXPECT_THAT(bad_output,
                AnyOf(HasSubstr("--batch"), HasSubstr("--patient"), HasSubstr("--run"), HasSubstr("--frobnicate")));
  }
}

TEST_F(PatientIdentityGrpcTest, WithoutAKeyringAnIdentityIsRefusedAndAPlainPatientIsCreated) {
  StartIngest({});
  std::vector<std::string> args = {"--patient", "pat-0001"};
  args.insert(args.end(), kIdentity.begin(), kIdentity.end());
  auto [code, output] = CreatePatient(args);
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("identity: this registry has no keyring"));
  auto [plain_code, plain_output] = CreatePatient({"--patient", "pat-0002"});
  EXPECT_EQ(plain_code, 0) << plain_output;
  EXPECT_EQ(testing::QueryInt64(superuser_, "SELECT count(*) FROM patients"), 1);
}

TEST_F(PatientIdentityGrpcTest, IngestRefusesToStartWithAnOpenKeyring) {
  std::filesystem::permissions(work_ + "/pki/keyring/kek-1.key", std::filesystem::perms::group_read,
                               std::filesystem::perm_options::add);
  std::vector<std::string> args = testing::ServiceFlags(work_ + "/pki", "ingest", superuser_, work_ + "/ingest.port");
  args.insert(args.end(), {"--keyring", work_ + "/pki/keyring"});
  auto ingest = testing::Subprocess::Spawn(HT_INGEST_BIN, args);
  ASSERT_TRUE(ingest.ok()) << ingest.status();
  auto exit = (*ingest)->Wait(std::chrono::seconds(30));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->exited && exit->code == 2) << exit->ToString();
  EXPECT_THAT((*ingest)->Stderr(),
              HasSubstr("--keyring: keyring file '" + work_ + "/pki/keyring/kek-1.key' has mode 0640"));
}

}  // namespace
}  // namespace healthtwin::registry
