// Black-box tests of the real service and CLI binaries: exit codes, stderr, health
// checking that follows PostgreSQL, the schema guard, vitals retention, certificate reload and mutual TLS,
// observed from outside the process exactly as an operator or a supervisor sees them.
// What every service shares (bad input, health, the SIGTERM drain, reflection) is checked for
// each binary, ingest included, in every_service_process_test.cc.
//
// Every wait is bounded; a hung binary fails its test instead of hanging ctest.

#include <grpcpp/grpcpp.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/db/roles.h"
#include "tests/harness/ingest_process.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/subprocess.h"
#include "tests/process/process_test_support.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

const char* const kIngestBin = HT_INGEST_BIN;
const char* const kCliBin = HT_CLI_BIN;
const char* const kPkiScript = HT_PKI_SCRIPT;

constexpr int kDrainTimeoutS = 2;

// The serial number (upper-case hex, as `openssl x509 -serial` prints it) of the first
// certificate in `pem`; "" if none parses.
std::string SerialOfPem(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (cert == nullptr) return "";
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr),
                                                 &BN_free);
  char* hex = BN_bn2hex(bn.get());
  std::string serial = hex;
  OPENSSL_free(hex);
  return serial;
}

class ServiceProcessTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  void SetUp() override { ASSERT_TRUE(work_.ok()) << "mkdtemp failed"; }

  // The healthtwin development PKI, made once per test binary run.
  static const std::string& PkiDir() {
    if (pki_ == nullptr) {
      pki_ = new TempDir();
      absl::Status made = MakeDevPki(kPkiScript, pki_->path());
      if (!made.ok()) ADD_FAILURE() << made;
    }
    return pki_->path();
  }

  static ClientIdentity Identity(const std::string& name) { return PkiIdentity(PkiDir(), name); }

  // The flags every ingest run in these tests shares, plus `db_conninfo` as the ingest role;
  // `pki` defaults to the shared PkiDir().
  std::vector<std::string> IngestArgs(const std::string& db_conninfo, std::string pki = "") {
    if (pki.empty()) pki = PkiDir();
    return {"--tls-ca",
            pki + "/ca.pem",
            "--tls-cert",
            pki + "/ingest.pem",
            "--tls-key",
            pki + "/ingest.key",
            "--db",
            ServiceConnInfo(db_conninfo, "ingest"),
            "--listen",
            "127.0.0.1:0",
            "--port-file",
            PortFile(),
            "--drain-timeout-s",
            std::to_string(kDrainTimeoutS)};
  }

  std::string PortFile() const { return work_ / "ingest.port"; }

  // Starts the ingest binary and waits (bounded) until it has written its port file.
  absl::StatusOr<std::unique_ptr<Subprocess>> StartIngest(const std::string& db_conninfo,
                                                          const std::vector<std::string>& extra_args = {},
                                                          const std::string& pki = "") {
    std::vector<std::string> args = IngestArgs(db_conninfo, pki);
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    return StartListening(
        kIngestBin, args, PortFile(),
        {.stdout_path = work_ / "ingest.stdout", .stderr_path = work_ / "ingest.stderr", .extra_env = {}});
  }

  int Port() const { return PortInFile(PortFile()); }

  TempDir work_;

 private:
  static TempDir* pki_;
};

TempDir* ServiceProcessTest::pki_ = nullptr;

TEST_F(ServiceProcessTest, UnknownFlagExits2WithOneLineNamingTheFlag) {
  auto ingest = Subprocess::Spawn(kIngestBin, {"--frobnicate"});
  ASSERT_TRUE(ingest.ok()) << ingest.status();

  auto exit = RunToExit(**ingest);

  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit code 2");
  const std::string err = (*ingest)->Stderr();
  EXPECT_EQ(NonEmptyLines(err).size(), 1u) << err;
  EXPECT_THAT(err, HasSubstr("--frobnicate"));
}

TEST_F(ServiceProcessTest, UnknownConfigKeyExits2WithOneLineNamingTheKey) {
  const std::string config = work_ / "ingest.toml";
  std::ofstream(config) << "listen = \"127.0.0.1:0\"\n[database]\nconninfo = \"\"\nconnection_string = \"x\"\n";
  auto ingest = Subprocess::Spawn(kIngestBin, {"--config", config});
  ASSERT_TRUE(ingest.ok()) << ingest.status();

  auto exit = RunToExit(**ingest);

  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit code 2");
  const std::string err = (*ingest)->Stderr();
  EXPECT_EQ(NonEmptyLines(err).size(), 1u) << err;
  EXPECT_THAT(err, HasSubstr("database.connection_string"));
  EXPECT_THAT(err, HasSubstr("unknown key"));
}

TEST_F(ServiceProcessTest, TomlSyntaxErrorExits2NamingFileAndLine) {
  const std::string config = work_ / "broken.toml";
  std::ofstream(config) << "listen = \"127.0.0.1:0\"\n[tls]\nca = \"unterminated\n";
  auto ingest = Subprocess::Spawn(kIngestBin, {"--config", config});
  ASSERT_TRUE(ingest.ok()) << ingest.status();

  auto exit = RunToExit(**ingest);

  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit code 2");
  const std::string err = (*ingest)->Stderr();
  EXPECT_EQ(NonEmptyLines(err).size(), 1u) << err;
  EXPECT_THAT(err, HasSubstr(config + ":3:"));
}

TEST_F(ServiceProcessTest, MissingCertificateFileExits2NamingThePath) {
  std::vector<std::string> args = IngestArgs(kUnreachableDb);
  ASSERT_EQ(args[2], "--tls-cert");
  args[3] = "/nonexistent.pem";
  auto ingest = Subprocess::Spawn(kIngestBin, args);
  ASSERT_TRUE(ingest.ok()) << ingest.status();

  auto exit = RunToExit(**ingest);

  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit code 2");
  EXPECT_THAT((*ingest)->Stderr(), HasSubstr("/nonexistent.pem"));
  EXPECT_FALSE(fs::exists(PortFile())) << "it must not listen without its certificate";
}

TEST_F(ServiceProcessTest, HealthFollowsPostgresAvailability) {
  auto db = StartMigratedCluster();
  ASSERT_TRUE(db.ok()) << db.status();
  PgCluster& cluster = **db;
  ASSERT_TRUE(cluster.Stop().ok());

  auto started = StartIngest(cluster.ConnInfo("healthtwin"));
  ASSERT_TRUE(started.ok()) << started.status();
  Subprocess& ingest = **started;
  auto stub = HealthStub(Port(), Identity("cli-admin"), "ingest");
  ASSERT_TRUE(stub.ok()) << stub.status();

  // Down from the start: listening, but NOT_SERVING, and saying why.
  HealthCheckResponse::ServingStatus status = HealthCheckResponse::UNKNOWN;
  grpc::Status rpc = CheckHealth(**stub, &status);
  ASSERT_TRUE(rpc.ok()) << rpc.error_message();
  EXPECT_EQ(status, HealthCheckResponse::NOT_SERVING);
  ASSERT_TRUE(PollUntil([&] { return !LineWith(ingest.Stderr(), "\"event\":\"db.unreachable\"").empty(); }, 10s))
      << ingest.Stderr();
  const std::string retry_line = LineWith(ingest.Stderr(), "\"event\":\"db.unreachable\"");
  EXPECT_THAT(retry_line, HasSubstr("\"retry_in_ms\":"));
  EXPECT_THAT(retry_line, HasSubstr("\"level\":\"warning\""));
  EXPECT_TRUE(ingest.Running());

  // PostgreSQL comes up: SERVING.
  ASSERT_TRUE(cluster.Restart().ok());
  EXPECT_TRUE(WaitForHealth(**stub, HealthCheckResponse::SERVING, kHealthFlip)) << ingest.Stderr();
  EXPECT_TRUE(ingest.Running());

  // And goes away again: back to NOT_SERVING, still alive.
  ASSERT_TRUE(cluster.Stop().ok());
  EXPECT_TRUE(WaitForHealth(**stub, HealthCheckResponse::NOT_SERVING, kHealthFlip)) << ingest.Stderr();
  ASSERT_TRUE(ingest.Running()) << ingest.exit_info()->ToString() << "\n" << ingest.Stderr();

  // It never crashed: a SIGTERM still finds it and it ends cleanly.
  ASSERT_TRUE(ingest.Signal(SIGTERM).ok());
  auto exit = ingest.Wait(std::chrono::seconds(kDrainTimeoutS + 10));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit code 0") << ingest.Stderr();
}

// --vitals-retention-days reaches the partition maintainer the binary runs once it is healthy
// (main.cc): monthly partitions that ended more than 40 days ago are dropped, with their rows,
// and so are older rows in vitals_default; the previous and current months stay. Months 2 and 3
// back are left out: whether they end before the cutoff depends on today's date.
TEST_F(ServiceProcessTest, VitalsRetentionDaysDropsOldPartitionsThroughTheRunningMaintainer) {
  auto db = StartMigratedCluster();
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string conninfo = (*db)->ConnInfo("healthtwin");
  const auto query_int = [&](const std::string& sql) {
    pqxx::connection conn(conninfo);
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<int>();
  };
  const auto partition = [](int months_back) {
    return absl::StrCat("to_char(date_trunc('month', now() AT TIME ZONE 'UTC') - interval '", months_back,
                        " months', '\"vitals_\"YYYYMM')");
  };
  {
    pqxx::connection conn(conninfo);
    pqxx::work tx(conn);
    // As the migrator, which owns the partitions healthtwin_ensure_vitals_partitions creates.
    tx.exec("SET LOCAL ROLE healthtwin_migrator");
    for (int months_back : {6, 4, 1}) {
      tx.exec(absl::StrCat(
          "DO $$ DECLARE m date := date_trunc('month', now() AT TIME ZONE 'UTC')::date - interval '", months_back,
          " months'; BEGIN EXECUTE format('CREATE TABLE %I PARTITION OF vitals FOR VALUES FROM (%L) TO (%L)',"
          " 'vitals_' || to_char(m, 'YYYYMM'), m, m + interval '1 month'); END $$"));
    }
    tx.exec("RESET ROLE");
    // A row mid-month in each month (0: the current one, never in the future), one 400 days old in default.
    for (int months_back : {6, 4, 1, 0}) {
      tx.exec(absl::StrCat(
          "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, bridge_id) VALUES"
          " ('p-ret', 'dev', 1, ",
          60 + months_back,
          ", '/min', least(now(), date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '",
          months_back, " months' + interval '14 days'), 'b')"));
    }
    tx.exec(
        "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, bridge_id) VALUES"
        " ('p-ret', 'dev', 1, 99, '/min', now() - interval '400 days', 'b')");
    tx.commit();
  }
  const std::string parts_sql =
      "SELECT count(*) FROM pg_class WHERE relname IN (" + partition(6) + ", " + partition(4) + ")";
  ASSERT_EQ(query_int(parts_sql), 2);
  ASSERT_EQ(query_int("SELECT count(*) FROM vitals_default"), 1);
  ASSERT_EQ(query_int("SELECT count(*) FROM vitals"), 5);

  auto started = StartIngest(conninfo, {"--vitals-retention-days", "40"});
  ASSERT_TRUE(started.ok()) << started.status();
  Subprocess& ingest = **started;
  auto stub = HealthStub(Port(), Identity("cli-admin"), "ingest");
  ASSERT_TRUE(stub.ok()) << stub.status();
  ASSERT_TRUE(WaitForHealth(**stub, HealthCheckResponse::SERVING, kHealthFlip)) << ingest.Stderr();
  EXPECT_TRUE(PollUntil([&] { return query_int(parts_sql) == 0; }, 15s))
      << "the 4- and 6-month-old partitions are still there\n"
      << ingest.Stderr();
  EXPECT_EQ(query_int("SELECT count(*) FROM vitals_default"), 0) << "the 400-day-old row is deleted";
  EXPECT_EQ(query_int("SELECT count(*) FROM pg_class WHERE relname IN (" + partition(1) + ", " + partition(0) + ")"),
            2);
  EXPECT_EQ(query_int("SELECT count(*) FROM vitals"), 2);
  EXPECT_EQ(query_int("SELECT min(value)::int FROM vitals"), 60) << "this month's row stays";
  EXPECT_EQ(query_int("SELECT max(value)::int FROM vitals"), 61) << "last month's row stays";
  EXPECT_THAT(LineWith(ingest.Stderr(), "\"event\":\"ingest.partitions\""), HasSubstr("\"dropped\":2"));

  ASSERT_TRUE(ingest.Signal(SIGTERM).ok());
  auto exit = ingest.Wait(std::chrono::seconds(kDrainTimeoutS + 10));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit code 0") << ingest.Stderr();
}

TEST_F(ServiceProcessTest, SchemaNewerThanTheCodeExits2) {
  auto db = StartMigratedCluster();
  ASSERT_TRUE(db.ok()) << db.status();
  const std::string conninfo = (*db)->ConnInfo("healthtwin");
  {
    pqxx::connection conn(conninfo);
    pqxx::work tx(conn);
    tx.exec(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
        "VALUES (9999, 'from_the_future', 'unknown', now())");
    tx.commit();
  }

  auto ingest = Subprocess::Spawn(kIngestBin, IngestArgs(conninfo));
  ASSERT_TRUE(ingest.ok()) << ingest.status();
  auto exit = (*ingest)->Wait(30s);

  ASSERT_TRUE(exit.ok()) << exit.status() << "\n" << (*ingest)->Stderr();
  EXPECT_EQ(exit->ToString(), "exit code 2");
  EXPECT_THAT((*ingest)->Stderr(), HasSubstr("schema version 9999 is newer than this build"));
}

// Services do not migrate: the ingest role has no DDL privilege, and an unmigrated database is
// refused at once instead of retried.
TEST_F(ServiceProcessTest, UnmigratedDatabaseExits2AndIngestCreatesNothing) {
  auto cluster = PgCluster::Start();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateDatabase("healthtwin").ok());
  const std::string conninfo = (*cluster)->ConnInfo("healthtwin");
  {
    pqxx::connection superuser(conninfo);
    ASSERT_TRUE(common::BootstrapRoles(superuser).ok());
  }

  auto ingest = Subprocess::Spawn(kIngestBin, IngestArgs(conninfo));
  ASSERT_TRUE(ingest.ok()) << ingest.status();
  auto exit = (*ingest)->Wait(30s);

  ASSERT_TRUE(exit.ok()) << exit.status() << "\n" << (*ingest)->Stderr();
  EXPECT_EQ(exit->ToString(), "exit code 2");
  EXPECT_THAT((*ingest)->Stderr(), HasSubstr("has no healthtwin schema; run healthtwin-migrate"));
  pqxx::connection check(conninfo);
  pqxx::nontransaction tx(check);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace")[0].as<int>(), 0);
}

TEST_F(ServiceProcessTest, ClientWithForeignCaCertificateIsRefused) {
  TempDir foreign;
  ASSERT_TRUE(foreign.ok());
  ASSERT_TRUE(MakeDevPki(kPkiScript, foreign.path(), /*foreign=*/true).ok());
  auto started = StartIngest(kUnreachableDb);
  ASSERT_TRUE(started.ok()) << started.status();

  // Control: our own admin reaches the server (NOT_SERVING, since there is no database).
  auto admin = HealthStub(Port(), Identity("cli-admin"), "ingest");
  ASSERT_TRUE(admin.ok()) << admin.status();
  HealthCheckResponse::ServingStatus status = HealthCheckResponse::UNKNOWN;
  grpc::Status control = CheckHealth(**admin, &status);
  ASSERT_TRUE(control.ok()) << control.error_message();

  // The intruder trusts our CA, so it accepts the server; the server must refuse it.
  auto intruder =
      HealthStub(Port(), {Identity("cli-admin").ca_path, foreign / "intruder.pem", foreign / "intruder.key"}, "ingest");
  ASSERT_TRUE(intruder.ok()) << intruder.status();
  grpc::Status refused = CheckHealth(**intruder, &status);

  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  EXPECT_TRUE((*started)->Running()) << (*started)->Stderr();
}

// The serial of the certificate the ingest at `port` shows a new connection; "" when refused.
std::string ServedSerial(int port, const ClientIdentity& id) {
  auto stub = HealthStub(port, id, "ingest");
  if (!stub.ok()) return "";
  HealthCheckResponse::ServingStatus status = HealthCheckResponse::UNKNOWN;
  std::string pem;
  if (!CheckHealth(**stub, &status, "", &pem).ok()) return "";
  return SerialOfPem(pem);
}

TEST_F(ServiceProcessTest, SighupReloadsTheCertificateForNewConnections) {
  // A private copy of the PKI, so reissuing "ingest" (same CA, new serial) touches no other test.
  TempDir pki;
  ASSERT_TRUE(pki.ok());
  fs::copy(PkiDir(), pki.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  auto started = StartIngest(kUnreachableDb, {}, pki.path());
  ASSERT_TRUE(started.ok()) << started.status();
  const ClientIdentity admin = Identity("cli-admin");
  const std::string serial_a = SerialOfPem(ReadFileOrEmpty(pki / "ingest.pem"));
  ASSERT_FALSE(serial_a.empty());
  ASSERT_EQ(ServedSerial(Port(), admin), serial_a);

  fs::remove(pki / "ingest.pem");
  fs::remove(pki / "ingest.key");
  ASSERT_TRUE(MakeDevPki(kPkiScript, pki.path()).ok());
  const std::string serial_b = SerialOfPem(ReadFileOrEmpty(pki / "ingest.pem"));
  ASSERT_NE(serial_b, serial_a);
  ASSERT_TRUE((*started)->Signal(SIGHUP).ok());

  std::string served;
  EXPECT_TRUE(PollUntil([&] { return (served = ServedSerial(Port(), admin)) == serial_b; }, 10s))
      << "still serving " << served << "; stderr:\n"
      << (*started)->Stderr();
  EXPECT_TRUE((*started)->Running());
  EXPECT_THAT(LineWith((*started)->Stderr(), "tls.reloaded"), HasSubstr(serial_b));
}

// What health service healthtwin.tls of the ingest at `port` reports; UNKNOWN if unreachable.
HealthCheckResponse::ServingStatus TlsHealth(int port, const ClientIdentity& id) {
  HealthCheckResponse::ServingStatus status = HealthCheckResponse::UNKNOWN;
  auto stub = HealthStub(port, id, "ingest");
  if (!stub.ok() || !CheckHealth(**stub, &status, "healthtwin.tls").ok()) return HealthCheckResponse::UNKNOWN;
  return status;
}

TEST_F(ServiceProcessTest, CertificateInsideTheWarningWindowIsLoggedAndReportedByHealthtwinTls) {
  // The dev leaves live 825 days, so a 900-day window puts them inside it.
  auto started = StartIngest(kUnreachableDb, {"--tls-expiry-warning-days", "900"});
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(TlsHealth(Port(), Identity("cli-admin")), HealthCheckResponse::NOT_SERVING);
  const std::string logs = (*started)->Stderr();
  const std::string warning = LineWith(logs, "tls.certificate_expiring");
  // Whole days left of an 825-day leaf: 825 if issued within the same second, else 824.
  EXPECT_THAT(warning, ::testing::ContainsRegex("\"days_left\":82[45][,}]")) << logs;
  EXPECT_THAT(warning, HasSubstr("\"threshold_days\":900"));
}

TEST_F(ServiceProcessTest, CertificateOutsideTheWarningWindowKeepsHealthtwinTlsServing) {
  auto started = StartIngest(kUnreachableDb);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(TlsHealth(Port(), Identity("cli-admin")), HealthCheckResponse::SERVING);
  EXPECT_EQ(LineWith((*started)->Stderr(), "tls.certificate_expiring"), "");
}

TEST_F(ServiceProcessTest, CliHealthRefusesAServerThatIsNotTheExpectedService) {
  auto started = StartIngest(kUnreachableDb);
  ASSERT_TRUE(started.ok()) << started.status();
  const std::string addr = absl::StrCat("127.0.0.1:", Port());
  auto wrong = Subprocess::Spawn(
      kCliBin, {"--pki", PkiDir(), "--as", "cli-admin", "health", "--addr", addr, "--service", "twin"});
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  auto wrong_exit = RunToExit(**wrong);
  ASSERT_TRUE(wrong_exit.ok()) << wrong_exit.status();
  EXPECT_EQ(wrong_exit->ToString(), "exit code 2");
  EXPECT_THAT((*wrong)->Stderr(), HasSubstr("not the service expected"));

  // Control: the right name gets through (NOT_SERVING: there is no database).
  auto right = Subprocess::Spawn(
      kCliBin, {"--pki", PkiDir(), "--as", "cli-admin", "health", "--addr", addr, "--service", "ingest"});
  ASSERT_TRUE(right.ok()) << right.status();
  auto right_exit = RunToExit(**right);
  ASSERT_TRUE(right_exit.ok()) << right_exit.status();
  EXPECT_EQ(right_exit->ToString(), "exit code 1");
  EXPECT_THAT((*right)->Stdout(), HasSubstr("NOT_SERVING"));
}

TEST_F(ServiceProcessTest, CliWithUnknownIdentityExits2NamingTheCertificateFile) {
  const std::string pki = PkiDir();
  auto cli = Subprocess::Spawn(kCliBin, {"--pki", pki, "--as", "nobody", "--api", "127.0.0.1:1", "whoami"});
  ASSERT_TRUE(cli.ok()) << cli.status();

  auto exit = RunToExit(**cli);

  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit code 2");
  EXPECT_THAT((*cli)->Stderr(), HasSubstr(pki + "/nobody.pem"));
}

TEST_F(ServiceProcessTest, CliVitalsWithoutPatientExits2) {
  auto cli = Subprocess::Spawn(kCliBin, {"--api", "127.0.0.1:1", "vitals"});
  ASSERT_TRUE(cli.ok()) << cli.status();

  auto exit = RunToExit(**cli);

  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit code 2");
  EXPECT_THAT((*cli)->Stderr(), HasSubstr("--patient"));
}

}  // namespace
}  // namespace healthtwin::testing
