// The audit chain (migration 0016) on a real PostgreSQL server: records written through
// Access as a service role, tampering made as the superuser with the triggers disabled, and
// verification as `healthtwin audit verify` does it.
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/access.h"
#include "services/common/audit/checkpoints.h"
#include "services/common/audit/keyring_key.h"
#include "services/common/audit/record.h"
#include "services/common/audit/signing.h"
#include "services/common/audit/verify.h"
#include "services/common/audit_checkpointing.h"
#include "services/common/db/migrator.h"
#include "services/common/db/roles.h"
#include "services/common/pg.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/ingest_process.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::common::audit {
namespace {

using testing::ExecSql;
using ::testing::HasSubstr;
using testing::QueryInt64;

class AuditChainTest : public testing::ClusterPerSuiteTest {
 protected:
  static void SetUpTestSuite() {
    ClusterPerSuiteTest::SetUpTestSuite();
    std::string pattern = (std::filesystem::temp_directory_path() / "ht-audit-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    pki_ = new std::filesystem::path(pattern);
    const absl::Status pki = testing::MakeDevPki(HT_PKI_SCRIPT, pki_->string());
    ASSERT_TRUE(pki.ok()) << pki;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*pki_);
    delete pki_;
    pki_ = nullptr;
    ClusterPerSuiteTest::TearDownTestSuite();
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    auto conninfo = testing::CreateMigratedDatabase(*cluster_, TestDatabaseName());
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    superuser_ = *conninfo;
    auto key = CheckpointKeyFromKeyring((*pki_ / "keyring").string());
    ASSERT_TRUE(key.ok()) << key.status();
    ASSERT_NE(*key, nullptr) << "the development keyring has no audit-signing.key";
    signing_key_ = *std::move(key);
    auto pub = CheckpointKey::FromPublicKeyFile((*pki_ / "audit-signing.pub").string());
    ASSERT_TRUE(pub.ok()) << pub.status();
    public_key_ = *std::move(pub);
    pool_ = std::make_unique<PgPool>(testing::ServiceConnInfo(superuser_, "clinician_api"), 8);
  }

  // `n` records through Access as the clinician_api role, alternating allowed and denied, with
  // a checkpoint every `checkpoint_every` records (0: none).
  void WriteRecords(int n, int checkpoint_every = 0) {
    Access access(*pool_);
    if (checkpoint_every > 0) {
      access.EnableCheckpoints(signing_key_, {.every_records = checkpoint_every, .every = absl::Hours(1)});
    }
    for (int i = 0; i < n; ++i) {
      Caller caller;
      caller.identity = {.common_name = "dr-alice", .role = Role::kClinician, .role_name = "clinician"};
      caller.peer_address = "ipv4:127.0.0.1:5000" + std::to_string(i % 10);
      ASSERT_TRUE(access
                      .Audit(caller, i % 3 == 0 ? "vitals.query" : "alert.acknowledge",
                             "pat-000" + std::to_string(i % 4), i % 2 == 0 ? "allowed" : "denied",
                             i % 2 == 0 ? "" : "not on care team")
                      .ok());
    }
  }

  VerifyReport Verify(std::vector<Checkpoint> exported = {}, bool with_key = true) {
    pqxx::connection conn(superuser_);
    VerifyOptions options;
    options.exported = std::move(exported);
    if (with_key) options.public_keys = {*public_key_};
    return VerifyChain(conn, options);
  }

  std::vector<Checkpoint> Export() {
    pqxx::connection conn(superuser_);
    pqxx::work tx(conn);
    auto text = CheckpointsToJsonLines(ReadCheckpoints(tx));
    auto parsed = CheckpointsFromJsonLines(text, "export");
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? *parsed : std::vector<Checkpoint>{};
  }

  // Verifies, expecting the chain to be bad first at `seq` for a reason that contains `why`.
  void ExpectBadAt(int64_t seq, const std::string& why, std::vector<Checkpoint> exported = {}) {
    const VerifyReport report = Verify(std::move(exported));
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.first_bad_seq, seq) << report.Summary();
    EXPECT_THAT(report.problem, HasSubstr(why));
  }

  // What a superuser can do: run `sql` with the user triggers of the audit tables disabled.
  void Tamper(const std::string& sql) {
    ExecSql(superuser_,
            "ALTER TABLE audit_log DISABLE TRIGGER USER; ALTER TABLE audit_checkpoints DISABLE TRIGGER USER; " + sql +
                "; ALTER TABLE audit_log ENABLE TRIGGER USER; ALTER TABLE audit_checkpoints ENABLE TRIGGER USER");
  }

  // Moves record `from` to seq `to` (free), through a seq no record uses.
  static std::string MoveSeq(int64_t from, int64_t to) {
    return absl::StrCat("UPDATE audit_log SET seq = ", to, " WHERE seq = ", from);
  }

  inline static std::filesystem::path* pki_ = nullptr;
  std::string superuser_;
  std::shared_ptr<const CheckpointKey> signing_key_;
  std::optional<CheckpointKey> public_key_;
  std::unique_ptr<PgPool> pool_;
};

TEST_F(AuditChainTest, ACleanChainVerifiesAndTheDatabaseHashesTheSameBytesAsOpenSsl) {
  WriteRecords(30, /*checkpoint_every=*/10);

  const VerifyReport report = Verify(Export());

  EXPECT_TRUE(report.ok) << report.Summary();
  EXPECT_EQ(report.records, 30);
  EXPECT_EQ(report.checkpoints_stored, 3);  // seq 1, 11, 21: the first record is always due
  EXPECT_THAT(report.Summary(), HasSubstr("audit chain good: 30 records"));
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(DISTINCT seq) FROM audit_log WHERE seq BETWEEN 1 AND 30"), 30);
}

TEST_F(AuditChainTest, RecordsAreShapedLikeFhirAuditEvents) {
  WriteRecords(3);
  pqxx::connection conn(superuser_);
  pqxx::nontransaction tx(conn);
  auto rows = tx.exec(
      "SELECT event_type, action, action_code, outcome_code, purpose_of_use, actor, peer FROM audit_log ORDER BY seq");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "110110");
  EXPECT_EQ(rows[0][1].as<std::string>(), "vitals.query");
  EXPECT_EQ(rows[0][2].as<std::string>(), "R");
  EXPECT_EQ(rows[0][3].as<std::string>(), "0");
  EXPECT_EQ(rows[0][4].as<std::string>(), "TREAT");
  EXPECT_EQ(rows[1][2].as<std::string>(), "U");  // alert.acknowledge
  EXPECT_EQ(rows[1][3].as<std::string>(), "4");  // denied
  EXPECT_EQ(rows[2][6].as<std::string>(), "ipv4:127.0.0.1:50002");
}

TEST_F(AuditChainTest, AWriterCannotChooseItsSeqHashOrTime) {
  WriteRecords(2);
  ExecSql(testing::ServiceConnInfo(superuser_, "twin"),
          "INSERT INTO audit_log (actor, role, action, outcome, seq, prev_hash, hash, at) VALUES ('t', 'service',"
          " 'twin.read', 'allowed', 99, '\\x00'::bytea, '\\x00'::bytea, '2001-01-01')");
  EXPECT_EQ(QueryInt64(superuser_, "SELECT max(seq) FROM audit_log"), 3);
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM audit_log WHERE at < '2020-01-01'"), 0);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditChainTest, AnEditedRecordIsFoundAtItsSeq) {
  WriteRecords(20);
  ASSERT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM audit_log WHERE seq = 8 AND outcome = 'denied'"), 1);
  Tamper("UPDATE audit_log SET outcome = 'allowed' WHERE seq = 8");
  ExpectBadAt(8, "the hash does not match the record's contents");
}

TEST_F(AuditChainTest, ADeletedRecordIsFoundAtItsSeq) {
  WriteRecords(20);
  Tamper("DELETE FROM audit_log WHERE seq = 8");
  ExpectBadAt(8, "seq 8 is missing (the next record is seq 9)");
}

TEST_F(AuditChainTest, ADeletedTailIsFoundThroughTheChainHead) {
  WriteRecords(20);
  Tamper("DELETE FROM audit_log WHERE seq >= 18");
  ExpectBadAt(18, "the chain head is at seq 20 but the last record is seq 17: records after it were removed");
}

// The forged record carries a correct hash over its own contents and links to seq 7, so it
// is self-consistent; the first record that cannot be right is the one after it.
TEST_F(AuditChainTest, AnInsertedRecordIsFoundAtTheRecordAfterIt) {
  WriteRecords(20);
  std::string shift;
  for (int seq = 20; seq >= 8; --seq) absl::StrAppend(&shift, MoveSeq(seq, seq + 1), "; ");
  Tamper(shift +
         "INSERT INTO audit_log (at, actor, role, action, action_code, patient_id, outcome, outcome_code,"
         " purpose_of_use, seq, prev_hash, hash) SELECT now(), 'dr-mallory', 'clinician', 'vitals.query', 'R',"
         " 'pat-0001', 'allowed', '0', 'TREAT', 8, hash, hash FROM audit_log WHERE seq = 7; "
         "UPDATE audit_log SET hash = healthtwin_audit_hash(audit_log) WHERE seq = 8");
  ExpectBadAt(9, "prev_hash is not the hash of seq 8");
}

TEST_F(AuditChainTest, TwoSwappedRecordsAreFoundAtTheFirst) {
  WriteRecords(20);
  Tamper(MoveSeq(8, 1000) + "; " + MoveSeq(9, 8) + "; " + MoveSeq(1000, 9));
  ExpectBadAt(8, "prev_hash is not the hash of seq 7");
}

// A superuser who rewrites record 13 and recomputes every later hash, the head and removes the
// stored checkpoints leaves a chain that verifies on its own; the exported checkpoints do not
// match it, and the last one that still does (seq 11) bounds where the change can be.
TEST_F(AuditChainTest, AConsistentlyRewrittenTailIsFoundThroughTheExportedCheckpoints) {
  WriteRecords(30, /*checkpoint_every=*/10);
  const std::vector<Checkpoint> exported = Export();
  ASSERT_EQ(exported.size(), 3u);
  const int64_t changed_before = QueryInt64(superuser_, "SELECT count(*) FROM audit_log WHERE detail = 'rewritten'");
  Tamper(
      "UPDATE audit_log SET detail = 'rewritten' WHERE seq = 13; "
      "DO $$ DECLARE r audit_log; h bytea; BEGIN "
      "  SELECT hash INTO h FROM audit_log WHERE seq = 12; "
      "  FOR r IN SELECT * FROM audit_log WHERE seq >= 13 ORDER BY seq LOOP "
      "    r.prev_hash := h; h := healthtwin_audit_hash(r); "
      "    UPDATE audit_log SET prev_hash = r.prev_hash, hash = h WHERE seq = r.seq; "
      "  END LOOP; "
      "  UPDATE audit_chain_head SET hash = h; "
      "END $$; "
      "DELETE FROM audit_checkpoints WHERE seq > 11");
  ASSERT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM audit_log WHERE detail = 'rewritten'"), changed_before + 1);

  EXPECT_TRUE(Verify().ok) << "the rewrite is consistent: without the export it cannot be seen";
  ExpectBadAt(12, "records 12..21 differ from the exported checkpoint at seq 21", exported);
}

TEST_F(AuditChainTest, AFlippedCheckpointSignatureIsFound) {
  WriteRecords(30, /*checkpoint_every=*/10);
  Tamper("UPDATE audit_checkpoints SET signature = set_byte(signature, 5, get_byte(signature, 5) # 1) WHERE seq = 11");
  ExpectBadAt(11, "stored checkpoint at seq 11 has a bad signature");
  EXPECT_TRUE(Verify({}, /*with_key=*/false).ok) << "without a public key signatures are not checked";
}

// A fresh Ed25519 private key, PEM: the replacement of the development signing key.
std::string NewEd25519Pem() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"),
                                                          EVP_PKEY_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!key || !bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return "";
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

// After the signing key is replaced (docs/security.md, key runbook), the chain holds checkpoints
// of both keys: verify takes both public keys and finds each checkpoint's by its key id; with
// the old key alone the first checkpoint of the new one is refused, naming both ids.
TEST_F(AuditChainTest, AfterTheSigningKeyIsReplacedVerifyTakesBothPublicKeys) {
  WriteRecords(6, /*checkpoint_every=*/3);
  auto replacement = CheckpointKey::FromPrivateKeyPem(NewEd25519Pem(), "replacement key");
  ASSERT_TRUE(replacement.ok()) << replacement.status();
  ASSERT_NE(replacement->key_id(), public_key_->key_id());
  signing_key_ = std::make_shared<const CheckpointKey>(*replacement);
  WriteRecords(6, /*checkpoint_every=*/3);
  const int64_t first_new = QueryInt64(
      superuser_, "SELECT min(seq) FROM audit_checkpoints WHERE key_id = '" + replacement->key_id() + "'");
  ASSERT_GT(first_new, 3);

  pqxx::connection conn(superuser_);
  VerifyOptions both;
  both.public_keys = {*public_key_, *replacement};
  const VerifyReport report = VerifyChain(conn, both);
  EXPECT_TRUE(report.ok) << report.Summary();
  EXPECT_TRUE(report.signatures_checked);
  ExpectBadAt(first_new, absl::StrCat("is signed by key ", replacement->key_id(), ", not by a given key (",
                                      public_key_->key_id(), ")"));
}

// The time rule without a further write: the timer of services/common/audit_checkpointing.h
// signs records left unsigned once `every` has passed, and nothing while none is new.
TEST_F(AuditChainTest, TheTimerSignsTheLastRecordsOnAQuietSystem) {
  Access access(*pool_);
  access.EnableCheckpoints(signing_key_, {.every_records = 1000, .every = absl::Milliseconds(1500)});
  Caller caller;
  caller.identity = {.common_name = "dr-alice", .role = Role::kClinician, .role_name = "clinician"};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(access.Audit(caller, "vitals.query", "pat-0001", "allowed", "").ok());
  EXPECT_EQ(QueryInt64(superuser_, "SELECT max(seq) FROM audit_checkpoints"), 1);  // the first is always due
  AuditCheckpointTimer timer(access, std::chrono::milliseconds(100));
  EXPECT_TRUE(testing::PollUntil([&] { return QueryInt64(superuser_, "SELECT max(seq) FROM audit_checkpoints") == 3; },
                                 std::chrono::seconds(10)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1800));  // more periods, no new record
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(*) FROM audit_checkpoints"), 2);
  EXPECT_TRUE(Verify().ok) << Verify().Summary();
}

TEST_F(AuditChainTest, EightConcurrentWritersMakeOneUnforkedChain) {
  constexpr int kWriters = 8;
  constexpr int kEach = 40;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      Access access(*pool_);
      access.EnableCheckpoints(signing_key_, {.every_records = 25, .every = absl::Hours(1)});
      Caller caller;
      caller.identity.common_name = "writer-" + std::to_string(w);
      caller.identity.role = Role::kService;
      for (int i = 0; i < kEach; ++i) {
        EXPECT_TRUE(access.AuditEach(caller, "twin.read", {"pat-1", "pat-2"}, "allowed", "").ok());
      }
    });
  }
  for (auto& t : writers) t.join();

  const VerifyReport report = Verify(Export());
  EXPECT_TRUE(report.ok) << report.Summary();
  EXPECT_EQ(report.records, kWriters * kEach * 2);
  EXPECT_EQ(QueryInt64(superuser_, "SELECT max(seq) FROM audit_log"), kWriters * kEach * 2);
  EXPECT_EQ(QueryInt64(superuser_, "SELECT count(DISTINCT prev_hash) FROM audit_log"), kWriters * kEach * 2);
  EXPECT_GE(report.checkpoints_stored, 2);
}

TEST_F(AuditChainTest, TheTriggersRefuseUpdateDeleteAndTruncateEvenToTheOwner) {
  WriteRecords(3, /*checkpoint_every=*/1);
  for (const char* table : {"audit_log", "audit_checkpoints"}) {
    for (const std::string& sql : {absl::StrCat("UPDATE ", table, " SET seq = seq"),
                                   absl::StrCat("DELETE FROM ", table), absl::StrCat("TRUNCATE ", table)}) {
      try {
        ExecSql(superuser_, sql);
        ADD_FAILURE() << sql << " was not refused";
      } catch (const std::exception& e) {
        EXPECT_THAT(e.what(), HasSubstr("is append-only")) << sql;
      }
    }
  }
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditChainTest, RecordsWrittenBeforeTheMigrationAreChainedInIdOrder) {
  ASSERT_TRUE(cluster_->CreateDatabase("before_chain").ok());
  const std::string conninfo = cluster_->ConnInfo("before_chain");
  {
    pqxx::connection superuser(conninfo);
    ASSERT_TRUE(BootstrapRoles(superuser).ok());
    std::vector<Migration> before, all = BuiltInMigrations();
    for (const auto& m : all) {
      if (m.version < 16) before.push_back(m);
    }
    pqxx::connection migrator(ConnInfoAs(conninfo, kMigratorRole));
    ASSERT_TRUE(ApplyMigrations(migrator, before).ok());
    ExecSql(conninfo,
            "INSERT INTO audit_log (actor, role, action, patient_id, outcome) VALUES"
            " ('dr-alice', 'clinician', 'vitals.query', 'p1', 'allowed'),"
            " ('dr-bob', 'clinician', 'vitals.query', 'p1', 'denied'),"
            " ('ingest', 'service', 'registry.create_patient', NULL, 'allowed')");
    ASSERT_TRUE(ApplyMigrations(migrator, all).ok());
  }
  EXPECT_EQ(QueryInt64(conninfo, "SELECT seq FROM audit_log WHERE actor = 'dr-bob'"), 2);
  EXPECT_EQ(QueryInt64(conninfo, "SELECT count(*) FROM audit_log WHERE action_code = 'C' AND outcome_code = '0'"), 1);
  ExecSql(testing::ServiceConnInfo(conninfo, "ingest"),
          "INSERT INTO audit_log (actor, role, action, outcome) VALUES ('ingest', 'service', 'x.read', 'allowed')");
  pqxx::connection conn(conninfo);
  const VerifyReport report = VerifyChain(conn, {});
  EXPECT_TRUE(report.ok) << report.Summary();
  EXPECT_EQ(report.records, 4);
}

// Runs the real `healthtwin` binary: its exit code and what it printed (stdout, then stderr).
struct CliResult {
  int code = -1;
  std::string output;
};

CliResult RunCli(const std::vector<std::string>& args, const std::filesystem::path& dir) {
  testing::SubprocessOptions options;
  options.stdout_path = (dir / "cli.out").string();
  options.stderr_path = (dir / "cli.err").string();
  auto child = testing::Subprocess::Spawn(HT_CLI, args, options);
  if (!child.ok()) return {.code = -1, .output = child.status().ToString()};
  auto exit = (*child)->Wait(std::chrono::seconds(60));
  std::string output;
  for (const std::string& path : {options.stdout_path, options.stderr_path}) {
    std::ifstream in(path);
    output.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return {.code = exit.ok() && exit->exited ? exit->code : -1, .output = output};
}

TEST_F(AuditChainTest, TheCliSignsExportsAndVerifiesAndNamesTheFirstBadSeq) {
  WriteRecords(12);
  const std::string keyring = (*pki_ / "keyring").string();
  const std::string pub = (*pki_ / "audit-signing.pub").string();
  const std::string file = (*pki_ / (TestDatabaseName() + ".jsonl")).string();

  CliResult r = RunCli(
      {"audit", "checkpoint", "--db", superuser_, "--key", (*pki_ / "keyring/audit-signing.key").string()}, *pki_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--key: a loose key file is no longer taken"));
  r = RunCli({"audit", "checkpoint", "--db", superuser_}, *pki_);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--keyring: required"));
  r = RunCli({"audit", "checkpoint", "--db", superuser_, "--keyring", keyring}, *pki_);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("wrote a checkpoint of the newest record"));
  r = RunCli({"audit", "checkpoints", "export", "--db", superuser_, "--out", file}, *pki_);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("exported 1 checkpoints (up to seq 12)"));
  r = RunCli({"audit", "verify", "--db", superuser_, "--checkpoints", file, "--public-key", pub}, *pki_);
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output,
            "audit chain good: 12 records, 1 stored checkpoints with good signatures, 1 exported checkpoints match\n");

  Tamper("UPDATE audit_log SET actor = 'dr-mallory' WHERE seq = 5");
  r = RunCli({"audit", "verify", "--db", superuser_, "--checkpoints", file, "--public-key", pub}, *pki_);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_EQ(r.output, "audit chain BAD at seq 5: the hash does not match the record's contents\n");
}

// A column added to audit_log later is not protected until the record format (record.h, the
// trigger's healthtwin_audit_hash and the README) says how it is hashed: decide, then list it.
TEST_F(AuditChainTest, EveryColumnOfAuditLogIsCoveredByTheHash) {
  pqxx::connection conn(superuser_);
  pqxx::nontransaction tx(conn);
  std::vector<std::string> columns;
  for (const auto& row : tx.exec("SELECT column_name FROM information_schema.columns WHERE table_name = 'audit_log'"
                                 " ORDER BY ordinal_position")) {
    columns.push_back(row[0].as<std::string>());
  }
  EXPECT_THAT(columns,
              ::testing::ElementsAre("id",  // not hashed: a bigserial with gaps; seq is the chain's order
                                     "at", "actor", "role", "action", "patient_id", "outcome", "detail", "peer",
                                     "on_behalf_of", "event_type", "action_code", "outcome_code", "agent_token_id",
                                     "entity_what", "purpose_of_use", "seq", "prev_hash", "hash"));
}

TEST(CheckpointFileTest, ABadLineIsNamed) {
  auto bad = CheckpointsFromJsonLines("{\"seq\":1}\n", "cp.jsonl");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("cp.jsonl line 1: signed_at_us"));
  EXPECT_THAT(CheckpointsFromJsonLines("not json", "f").status().message(), HasSubstr("f line 1: not a JSON object"));
}

}  // namespace
}  // namespace healthtwin::common::audit
