// Signed audit checkpoints written by a real service (issue 13): healthtwin-ingest started with
// the development keyring (which holds audit-signing.key) and --audit-checkpoint-every-records 5
// signs checkpoints on its own as clinician_api's QueryVitals calls are audited; `healthtwin
// audit verify` then checks their signatures with the PKI's audit-signing.pub, refuses them
// under another key, and finds a record edited after it was checkpointed and a forged signature.
// Bad checkpoint flags exit 2 naming the flag.
//
// Every wait is bounded; a hung binary fails its test instead of hanging ctest.
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/common/time_util.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/pg_cluster.h"
#include "tests/process/process_test_support.h"

namespace healthtwin::testing {
namespace {

using namespace std::chrono_literals;
using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;
namespace v1 = healthtwin::vitals::v1;

struct CliResult {
  int code = -1;
  std::string out, err;
};

class AuditCheckpointProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(work_.ok());
    auto pki = SharedDevPki(HT_PKI_SCRIPT, HT_PKI_CACHE_DIR);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
    auto cluster = StartMigratedCluster();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
  }

  std::string Db() const { return cluster_->ConnInfo("healthtwin"); }

  std::vector<std::string> IngestArgs(const std::vector<std::string>& extra, std::string keyring = "") const {
    if (keyring.empty()) keyring = pki_ + "/keyring";
    std::vector<std::string> args = {"--tls-ca",    pki_ + "/ca.pem",
                                     "--tls-cert",  pki_ + "/ingest.pem",
                                     "--tls-key",   pki_ + "/ingest.key",
                                     "--db",        ServiceConnInfo(Db(), "ingest"),
                                     "--listen",    "127.0.0.1:0",
                                     "--port-file", work_ / "ingest.port",
                                     "--keyring",   keyring};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  void StartIngest(const std::vector<std::string>& extra) {
    auto started = StartListening(
        HT_INGEST_BIN, IngestArgs(extra), work_ / "ingest.port",
        {.stdout_path = work_ / "ingest.stdout", .stderr_path = work_ / "ingest.stderr", .extra_env = {}});
    ASSERT_TRUE(started.ok()) << started.status();
    ingest_ = *std::move(started);
    const int port = PortInFile(work_ / "ingest.port");
    auto health = HealthStub(port, PkiIdentity(pki_, "cli-admin"), "ingest");
    ASSERT_TRUE(health.ok()) << health.status();
    ASSERT_TRUE(WaitForHealth(**health, HealthCheckResponse::SERVING, kHealthFlip)) << ingest_->Stderr();
    auto channel = TlsChannel(port, PkiIdentity(pki_, "clinician_api"), "ingest");
    ASSERT_TRUE(channel.ok()) << channel.status();
    vitals_ = v1::VitalsQueryService::NewStub(*channel);
  }

  // One audited call: clinician_api asks for a patient's vitals of the last hour.
  void QueryVitals(int i) {
    v1::QueryVitalsRequest request;
    request.set_patient_id("pat-" + std::to_string(i % 3));
    const int64_t now_us = common::NowUnixMicros();
    *request.mutable_start() = common::FromUnixMicros(now_us - 3'600'000'000LL);
    *request.mutable_end() = common::FromUnixMicros(now_us);
    v1::QueryVitalsResponse response;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    grpc::Status status = vitals_->QueryVitals(&ctx, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message() << "\n" << ingest_->Stderr();
  }

  CliResult RunCli(const std::vector<std::string>& args) {
    auto child = Subprocess::Spawn(HT_CLI_BIN, args);
    if (!child.ok()) return {.code = -1, .out = "", .err = child.status().ToString()};
    auto exit = RunToExit(**child);
    return {.code = exit.ok() && exit->exited ? exit->code : -1, .out = (*child)->Stdout(), .err = (*child)->Stderr()};
  }

  CliResult Verify(const std::string& public_key) {
    return RunCli({"audit", "verify", "--db", Db(), "--public-key", public_key});
  }

  TempDir work_;
  std::string pki_;
  std::unique_ptr<PgCluster> cluster_;
  std::unique_ptr<Subprocess> ingest_;
  std::unique_ptr<v1::VitalsQueryService::Stub> vitals_;
};

TEST_F(AuditCheckpointProcessTest, TheServiceSignsCheckpointsThatVerifyAndExposeTampering) {
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--audit-checkpoint-every-records", "5"}));
  for (int i = 0; i < 12; ++i) ASSERT_NO_FATAL_FAILURE(QueryVitals(i));

  // The first record is always due, then every 5: seq 1, 6 and 11 of 12.
  EXPECT_EQ(QueryInt64(Db(), "SELECT count(*) FROM audit_log"), 12);
  EXPECT_EQ(QueryInt64(Db(), "SELECT count(*) FROM audit_checkpoints"), 3);
  EXPECT_EQ(QueryInt64(Db(), "SELECT count(*) FROM audit_checkpoints WHERE seq IN (1, 6, 11)"), 3);
  EXPECT_THAT(ingest_->Stderr(), HasSubstr("audit.checkpoints_enabled"));

  const std::string pub = pki_ + "/audit-signing.pub";
  CliResult r = Verify(pub);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out,
            "audit chain good: 12 records, 3 stored checkpoints with good signatures, 0 exported checkpoints match\n");

  // Another Ed25519 key did not sign them.
  const std::string other_key = work_ / "other.key", other_pub = work_ / "other.pub";
  ASSERT_EQ(std::system(("openssl genpkey -algorithm ed25519 -out " + other_key + " 2>/dev/null && openssl pkey -in " +
                         other_key + " -pubout -out " + other_pub)
                            .c_str()),
            0);
  r = Verify(other_pub);
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("audit chain BAD at seq 1: stored checkpoint at seq 1 is signed by key"));

  // A record edited after a checkpoint covered it, by a superuser who disables the triggers.
  const std::string untamper = "ALTER TABLE audit_log ENABLE TRIGGER USER";
  ExecSql(Db(),
          "ALTER TABLE audit_log DISABLE TRIGGER USER; UPDATE audit_log SET actor = 'dr-mallory' WHERE seq = 3; " +
              untamper);
  r = Verify(pub);
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_EQ(r.err, "audit chain BAD at seq 3: the hash does not match the record's contents\n");
}

TEST_F(AuditCheckpointProcessTest, AForgedCheckpointSignatureIsFound) {
  ASSERT_NO_FATAL_FAILURE(StartIngest({"--audit-checkpoint-every-records", "5"}));
  for (int i = 0; i < 10; ++i) ASSERT_NO_FATAL_FAILURE(QueryVitals(i));
  ASSERT_EQ(QueryInt64(Db(), "SELECT count(*) FROM audit_checkpoints"), 2);  // seq 1 and 6
  ExecSql(Db(),
          "ALTER TABLE audit_checkpoints DISABLE TRIGGER USER; UPDATE audit_checkpoints SET signature = "
          "set_byte(signature, 0, get_byte(signature, 0) # 1) WHERE seq = 6; "
          "ALTER TABLE audit_checkpoints ENABLE TRIGGER USER");
  CliResult r = Verify(pki_ + "/audit-signing.pub");
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_EQ(r.err, "audit chain BAD at seq 6: stored checkpoint at seq 6 has a bad signature\n");
}

TEST_F(AuditCheckpointProcessTest, WithoutTheKeyOrWithBadFlags) {
  // A keyring without audit-signing.key: the service serves and signs nothing.
  TempDir ring;
  ASSERT_TRUE(ring.ok());
  ASSERT_EQ(std::system(("chmod 0700 " + ring.path() + " && cp -p " + pki_ + "/keyring/active-kek " + pki_ +
                         "/keyring/kek-1.key " + pki_ + "/keyring/blind-index.key " + ring.path())
                            .c_str()),
            0);
  auto started = StartListening(HT_INGEST_BIN, IngestArgs({"--audit-checkpoint-every-records", "1"}, ring.path()),
                                work_ / "ingest.port");
  ASSERT_TRUE(started.ok()) << started.status();
  ingest_ = *std::move(started);
  auto channel = TlsChannel(PortInFile(work_ / "ingest.port"), PkiIdentity(pki_, "clinician_api"), "ingest");
  ASSERT_TRUE(channel.ok());
  vitals_ = v1::VitalsQueryService::NewStub(*channel);
  auto health = HealthStub(PortInFile(work_ / "ingest.port"), PkiIdentity(pki_, "cli-admin"), "ingest");
  ASSERT_TRUE(health.ok());
  ASSERT_TRUE(WaitForHealth(**health, HealthCheckResponse::SERVING, kHealthFlip)) << ingest_->Stderr();
  for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(QueryVitals(i));
  EXPECT_EQ(QueryInt64(Db(), "SELECT count(*) FROM audit_log"), 3);
  EXPECT_EQ(QueryInt64(Db(), "SELECT count(*) FROM audit_checkpoints"), 0);
  ingest_.reset();

  for (const auto& [flag, value] :
       std::vector<std::pair<std::string, std::string>>{{"--audit-checkpoint-every-records", "0"},
                                                        {"--audit-checkpoint-every-minutes", "0"},
                                                        {"--audit-checkpoint-every-records", "many"}}) {
    auto child = Subprocess::Spawn(HT_INGEST_BIN, IngestArgs({flag, value}));
    ASSERT_TRUE(child.ok());
    auto exit = RunToExit(**child);
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->code, 2) << flag << " " << value;
    EXPECT_THAT((*child)->Stderr(), HasSubstr(flag)) << value;
  }
}

}  // namespace
}  // namespace healthtwin::testing
