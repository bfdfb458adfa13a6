// Vitals queries from a hot standby (issue 15 item 5), seen from outside the real ingest binary:
// a primary from the harness and a streaming standby made from it with pg_basebackup
// (PgClusterOptions::standby_of), QueryVitals over mutual TLS as clinician_api, health over
// grpc.health.v1.
//
// - Served by the standby: with replay paused, a row committed on the primary afterwards is
//   not returned while the lag is within --db-read-max-lag-ms, and is once the bound has
//   passed (the read fell back to the primary), and again from the standby after resume.
// - Health: "healthtwin.db_read" is NOT_SERVING while the standby is down or too far behind,
//   while the server itself stays SERVING and queries keep working.
// - Writes never reach the standby: it logs every data-modifying statement (log_statement =
//   'mod'); none comes from ingest's role, though ingest writes an audit row per query, and a
//   write we send there ourselves is logged (so the check can fail). A read conninfo naming
//   the primary is refused (not a standby).
//
// Every wait is bounded.
#include <grpcpp/grpcpp.h>

#include <chrono>
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
#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/common/time_util.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/pg_cluster.h"
#include "tests/process/process_test_support.h"

namespace healthtwin::testing {
namespace {

using namespace std::chrono_literals;
using grpc::health::v1::HealthCheckResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
namespace v1 = healthtwin::vitals::v1;

constexpr char kReadHealth[] = "healthtwin.db_read";
constexpr auto kMaxLag = 4000ms;
constexpr char kPatient[] = "p-replica";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ReadReplicaProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(work_.ok());
    auto pki = SharedDevPki(HT_PKI_SCRIPT, HT_PKI_CACHE_DIR);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
    auto primary = StartMigratedCluster();
    ASSERT_TRUE(primary.ok()) << primary.status();
    primary_ = *std::move(primary);
  }

  // A streaming standby of the primary that logs every statement changing data, with the role
  // that sent it.
  void StartStandby() {
    auto standby = PgCluster::Start(
        {.standby_of = primary_.get(), .extra_config = {"log_statement = 'mod'", "log_line_prefix = 'user=%u '"}});
    ASSERT_TRUE(standby.ok()) << standby.status();
    standby_ = *std::move(standby);
  }

  std::string PrimaryDb() const { return primary_->ConnInfo("healthtwin"); }
  std::string StandbyDb() const { return standby_->ConnInfo("healthtwin"); }

  // Ingest with the standby (or `read_conninfo`) as its read connection.
  void StartIngest(const std::string& read_conninfo = "") {
    const std::string port_file = work_ / "ingest.port";
    std::vector<std::string> args = {"--tls-ca",
                                     pki_ + "/ca.pem",
                                     "--tls-cert",
                                     pki_ + "/ingest.pem",
                                     "--tls-key",
                                     pki_ + "/ingest.key",
                                     "--db",
                                     ServiceConnInfo(PrimaryDb(), "ingest"),
                                     "--db-read",
                                     read_conninfo.empty() ? ServiceConnInfo(StandbyDb(), "ingest") : read_conninfo,
                                     "--db-read-max-lag-ms",
                                     std::to_string(kMaxLag.count()),
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--port-file",
                                     port_file,
                                     "--log-format",
                                     "json"};
    auto started = StartListening(
        HT_INGEST_BIN, args, port_file,
        {.stdout_path = work_ / "ingest.stdout", .stderr_path = work_ / "ingest.stderr", .extra_env = {}});
    ASSERT_TRUE(started.ok()) << started.status();
    ingest_ = *std::move(started);
    const int port = PortInFile(port_file);
    auto health = HealthStub(port, PkiIdentity(pki_, "cli-admin"), "ingest");
    ASSERT_TRUE(health.ok()) << health.status();
    health_ = *std::move(health);
    auto channel = TlsChannel(port, PkiIdentity(pki_, "clinician_api"), "ingest");
    ASSERT_TRUE(channel.ok()) << channel.status();
    vitals_ = v1::VitalsQueryService::NewStub(*channel);
    ASSERT_TRUE(WaitForHealth(*health_, HealthCheckResponse::SERVING, kHealthFlip)) << ingest_->Stderr();
  }

  // A heart rate of `bpm` on the primary, measured `seconds_ago`.
  void InsertOnPrimary(int bpm, int seconds_ago) {
    ExecSql(PrimaryDb(), absl::StrCat("INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit,"
                                      " measured_at, bridge_id) VALUES ('",
                                      kPatient, "', 'dev-1', 1, ", bpm, ", '/min', now() - interval '", seconds_ago,
                                      " seconds', 'b')"));
  }

  // The heart rates QueryVitals returns for the last hour, in time order.
  std::vector<int> QueryHeartRates() {
    v1::QueryVitalsRequest request;
    request.set_patient_id(kPatient);
    const int64_t now_us = common::NowUnixMicros();
    *request.mutable_start() = common::FromUnixMicros(now_us - 3'600'000'000LL);
    *request.mutable_end() = common::FromUnixMicros(now_us + 60'000'000LL);
    v1::QueryVitalsResponse response;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    grpc::Status status = vitals_->QueryVitals(&ctx, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message() << "\n" << ingest_->Stderr();
    std::vector<int> out;
    for (const auto& s : response.samples()) out.push_back(static_cast<int>(s.value()));
    return out;
  }

  HealthCheckResponse::ServingStatus Health(const std::string& service) {
    HealthCheckResponse::ServingStatus status = HealthCheckResponse::UNKNOWN;
    grpc::Status rpc = CheckHealth(*health_, &status, service);
    EXPECT_TRUE(rpc.ok()) << rpc.error_message();
    return status;
  }

  // Until the standby has replayed everything the primary has committed so far.
  void WaitForStandbyToCatchUp() {
    const int64_t target = QueryInt64(PrimaryDb(), "SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint");
    ASSERT_TRUE(PollUntil(
        [&] {
          try {
            return QueryInt64(StandbyDb(), "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint") >= target;
          } catch (const std::exception&) {
            return false;
          }
        },
        20s));
  }

  TempDir work_;
  std::string pki_;
  std::unique_ptr<PgCluster> primary_;
  std::unique_ptr<PgCluster> standby_;
  std::unique_ptr<Subprocess> ingest_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
  std::unique_ptr<v1::VitalsQueryService::Stub> vitals_;
};

TEST_F(ReadReplicaProcessTest, ReadsComeFromTheStandbyWithinTheLagBoundAndFromThePrimaryPastIt) {
  ASSERT_NO_FATAL_FAILURE(StartStandby());
  InsertOnPrimary(61, 60);
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  ASSERT_NO_FATAL_FAILURE(WaitForStandbyToCatchUp());
  ASSERT_TRUE(WaitForHealth(*health_, HealthCheckResponse::SERVING, kHealthFlip, kReadHealth)) << ingest_->Stderr();
  EXPECT_THAT(QueryHeartRates(), ElementsAre(61));

  // Replay stops; the standby keeps receiving WAL but shows nothing new.
  ExecSql(StandbyDb(), "SELECT pg_wal_replay_pause()");
  ASSERT_TRUE(PollUntil(
      [&] {
        pqxx::connection conn(StandbyDb());
        pqxx::nontransaction tx(conn);
        return tx.exec1("SELECT pg_get_wal_replay_pause_state()")[0].as<std::string>() == "paused";
      },
      10s));
  const auto inserted_at = std::chrono::steady_clock::now();
  InsertOnPrimary(62, 30);
  ASSERT_EQ(QueryInt64(PrimaryDb(), "SELECT count(*) FROM vitals WHERE patient_id = 'p-replica'"), 2);

  // Within the bound the standby answers, without the new row.
  EXPECT_THAT(QueryHeartRates(), ElementsAre(61));
  ASSERT_LT(std::chrono::steady_clock::now() - inserted_at, kMaxLag - 1s)
      << "the read above came too late to be inside the lag bound; the machine is overloaded";
  EXPECT_EQ(Health(""), HealthCheckResponse::SERVING);

  // Past the bound the standby's data is too old: the read goes to the primary, which has it.
  const size_t before_bound = ingest_->Stderr().size();
  std::this_thread::sleep_until(inserted_at + kMaxLag + 500ms);
  EXPECT_THAT(QueryHeartRates(), ElementsAre(61, 62));
  EXPECT_THAT(LineWith(ingest_->Stderr().substr(before_bound), "\"event\":\"db_read.fallback\""),
              HasSubstr("\"reason\":\""))
      << ingest_->Stderr();
  EXPECT_TRUE(WaitForHealth(*health_, HealthCheckResponse::NOT_SERVING, kHealthFlip, kReadHealth));
  EXPECT_THAT(LineWith(ingest_->Stderr().substr(before_bound), "\"event\":\"db_read.standby_degraded\""),
              HasSubstr("\"reason\":\"lag_over_bound\""));
  EXPECT_EQ(Health(""), HealthCheckResponse::SERVING);

  // Replay resumes: the standby catches up and serves again, the new row included.
  const std::string before_resume = ingest_->Stderr();
  ExecSql(StandbyDb(), "SELECT pg_wal_replay_resume()");
  ASSERT_TRUE(WaitForHealth(*health_, HealthCheckResponse::SERVING, kHealthFlip, kReadHealth)) << ingest_->Stderr();
  EXPECT_THAT(QueryHeartRates(), ElementsAre(61, 62));
  const std::string after_resume = ingest_->Stderr().substr(before_resume.size());
  EXPECT_THAT(LineWith(after_resume, "\"event\":\"db_read.standby_reads\""), HasSubstr("query vitals")) << after_resume;
}

TEST_F(ReadReplicaProcessTest, HealthShowsTheReadPathDegradedWhileTheStandbyIsDownAndRecovers) {
  ASSERT_NO_FATAL_FAILURE(StartStandby());
  InsertOnPrimary(70, 60);
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  ASSERT_TRUE(WaitForHealth(*health_, HealthCheckResponse::SERVING, kHealthFlip, kReadHealth)) << ingest_->Stderr();

  const size_t before_stop = ingest_->Stderr().size();
  ASSERT_TRUE(standby_->Stop().ok());
  EXPECT_TRUE(WaitForHealth(*health_, HealthCheckResponse::NOT_SERVING, kHealthFlip, kReadHealth));
  EXPECT_THAT(LineWith(ingest_->Stderr().substr(before_stop), "\"event\":\"db_read.standby_degraded\""),
              HasSubstr("\"reason\":\"standby_unreachable\""));
  // The service itself serves on, its reads from the primary.
  EXPECT_EQ(Health(""), HealthCheckResponse::SERVING);
  InsertOnPrimary(71, 30);
  EXPECT_THAT(QueryHeartRates(), ElementsAre(70, 71));

  ASSERT_TRUE(standby_->Restart().ok());
  EXPECT_TRUE(WaitForHealth(*health_, HealthCheckResponse::SERVING, kHealthFlip, kReadHealth)) << ingest_->Stderr();
  EXPECT_THAT(QueryHeartRates(), ElementsAre(70, 71));
}

TEST_F(ReadReplicaProcessTest, WritesNeverReachTheStandby) {
  ASSERT_NO_FATAL_FAILURE(StartStandby());
  InsertOnPrimary(80, 60);
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  ASSERT_TRUE(WaitForHealth(*health_, HealthCheckResponse::SERVING, kHealthFlip, kReadHealth)) << ingest_->Stderr();
  const int64_t audits_before = QueryInt64(PrimaryDb(), "SELECT count(*) FROM audit_log");
  for (int i = 0; i < 3; ++i) EXPECT_THAT(QueryHeartRates(), ElementsAre(80));
  // Each query wrote its audit record, on the primary.
  EXPECT_GE(QueryInt64(PrimaryDb(), "SELECT count(*) FROM audit_log") - audits_before, 3);
  EXPECT_THAT(ReadFile(standby_->dir() + "/postgres.log"), Not(HasSubstr("user=healthtwin_ingest LOG:  statement:")));
  EXPECT_THAT(ingest_->Stderr(), HasSubstr("\"event\":\"db_read.standby_reads\""));

  // The check can fail: a write sent to the standby as ingest's role is refused and logged.
  EXPECT_THROW(ExecSql(ServiceConnInfo(StandbyDb(), "ingest"),
                       "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at,"
                       " bridge_id) VALUES ('p-replica', 'dev-1', 1, 81, '/min', now(), 'b')"),
               pqxx::sql_error);
  EXPECT_TRUE(PollUntil(
      [&] {
        return ReadFile(standby_->dir() + "/postgres.log").find("user=healthtwin_ingest LOG:  statement: INSERT") !=
               std::string::npos;
      },
      5s));
}

TEST_F(ReadReplicaProcessTest, AReadConnectionToThePrimaryIsRefusedAndReadsStayOnThePrimary) {
  InsertOnPrimary(90, 60);
  ASSERT_NO_FATAL_FAILURE(StartIngest(ServiceConnInfo(PrimaryDb(), "ingest")));
  ASSERT_TRUE(
      PollUntil([&] { return !LineWith(ingest_->Stderr(), "\"reason\":\"not_a_standby\"").empty(); }, kHealthFlip))
      << ingest_->Stderr();
  EXPECT_EQ(Health(kReadHealth), HealthCheckResponse::NOT_SERVING);
  EXPECT_EQ(Health(""), HealthCheckResponse::SERVING);
  EXPECT_THAT(QueryHeartRates(), ElementsAre(90));
}

// Needs no database: the conninfo is refused before anything connects.
TEST(ReadReplicaFlagTest, AnUnparsableReadConnectionExits2NamingTheFlag) {
  TempDir work;
  ASSERT_TRUE(work.ok());
  auto pki = SharedDevPki(HT_PKI_SCRIPT, HT_PKI_CACHE_DIR);
  ASSERT_TRUE(pki.ok()) << pki.status();
  auto started =
      Subprocess::Spawn(HT_INGEST_BIN,
                        {"--tls-ca", *pki + "/ca.pem", "--tls-cert", *pki + "/ingest.pem", "--tls-key",
                         *pki + "/ingest.key", "--db", kUnreachableDb, "--db-read", "host=x nonsense_key=1", "--listen",
                         "127.0.0.1:0", "--port-file", work / "bad.port"},
                        {.stdout_path = work / "bad.stdout", .stderr_path = work / "bad.stderr", .extra_env = {}});
  ASSERT_TRUE(started.ok()) << started.status();
  auto exit = RunToExit(**started);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit code 2");
  EXPECT_THAT((*started)->Stderr(), HasSubstr("--db-read: read conninfo: invalid connection option \"nonsense_key\""));
}

}  // namespace
}  // namespace healthtwin::testing
