// What every healthtwin service binary promises an operator, checked from outside the process
// for each of them: bad flags, configuration or certificates exit 2 with one line naming the
// problem; without --db the PG* environment reaches PostgreSQL; grpc.health.v1 follows
// PostgreSQL; SIGTERM drains for at most the drain timeout and exits 0; server reflection lists
// the service.
//
// The PKI is shared by every test process of the run (SharedDevPki); each test that needs
// PostgreSQL starts its own cluster. Every wait is bounded.

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/db/roles.h"
#include "services/common/testing/reflection_probe.h"
#include "tests/harness/migrated_database.h"
#include "tests/process/process_test_support.h"
#include "tests/process/tls_scan.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

struct ServiceBinary {
  std::string name;                        // its certificate, database role and DNS SAN
  std::string binary;                      // path of the executable
  std::vector<std::string> grpc_services;  // full names it registers
  std::vector<std::string> peers;          // services it calls (each needs --<peer>-addr)
};

void PrintTo(const ServiceBinary& service, std::ostream* os) { *os << service.name; }

std::vector<ServiceBinary> EveryService() {
  return {
      {"ingest",
       HT_INGEST_BIN,
       {"healthtwin.vitals.v1.IngestService", "healthtwin.vitals.v1.VitalsQueryService",
        "healthtwin.registry.v1.RegistryService"},
       {}},
      {"alerts", HT_ALERTS_BIN, {"healthtwin.alerts.v1.AlertService"}, {}},
      {"twin", HT_TWIN_BIN, {"healthtwin.twin.v1.TwinService"}, {}},
      {"simulation", HT_SIMULATION_BIN, {"healthtwin.simulation.v1.SimulationService"}, {}},
      {"clinician_api",
       HT_CLINICIAN_API_BIN,
       {"healthtwin.clinician.v1.ClinicianService"},
       {"ingest", "alerts", "twin", "simulation"}},
      // Serves health (and reflection) only; its work is the feed loop (services/feeds).
      {"feeds", HT_FEEDS_BIN, {}, {}},
  };
}

class EveryServiceTest : public ::testing::TestWithParam<ServiceBinary> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(work_.ok()) << "mkdtemp failed";
    auto pki = SharedDevPki(HT_PKI_SCRIPT, HT_PKI_CACHE_DIR);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
  }

  const ServiceBinary& service() const { return GetParam(); }
  std::string PortFile() const { return work_ / "port"; }
  int Port() const { return PortInFile(PortFile()); }

  // The flags demo.sh gives the service, with `db_conninfo` as its own role. Peers get a
  // closed port: none of these checks calls them.
  std::vector<std::string> Args(const std::string& db_conninfo, int drain_timeout_s = 10) const {
    const std::string& name = service().name;
    std::vector<std::string> args = {"--tls-ca",
                                     pki_ + "/ca.pem",
                                     "--tls-cert",
                                     pki_ + "/" + name + ".pem",
                                     "--tls-key",
                                     pki_ + "/" + name + ".key",
                                     "--db",
                                     ServiceConnInfo(db_conninfo, name),
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--port-file",
                                     PortFile(),
                                     "--drain-timeout-s",
                                     std::to_string(drain_timeout_s)};
    for (const std::string& peer : service().peers) {
      args.push_back("--" + peer + "-addr");
      args.push_back("127.0.0.1:1");
    }
    return args;
  }

  // Runs the service with `args`, which it must refuse, and returns its stderr.
  std::string ExpectExit2(const std::vector<std::string>& args) {
    auto process = Subprocess::Spawn(service().binary, args);
    if (!process.ok()) {
      ADD_FAILURE() << process.status();
      return "";
    }
    auto exit = RunToExit(**process);
    const std::string err = (*process)->Stderr();
    EXPECT_TRUE(exit.ok()) << exit.status();
    if (exit.ok()) {
      EXPECT_EQ(exit->ToString(), "exit code 2") << err;
    }
    EXPECT_EQ(NonEmptyLines(err).size(), 1u) << err;
    EXPECT_FALSE(fs::exists(PortFile())) << "it must not listen";
    return err;
  }

  absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::string& db_conninfo, int drain_timeout_s = 10,
                                                    const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = Args(db_conninfo, drain_timeout_s);
    args.insert(args.end(), extra.begin(), extra.end());
    return StartListening(service().binary, args, PortFile());
  }

  absl::StatusOr<std::unique_ptr<grpc::health::v1::Health::Stub>> AdminHealth() const {
    return HealthStub(Port(), PkiIdentity(pki_, "cli-admin"), service().name);
  }

  // A running service with PostgreSQL up, SERVING; `extra` flags after Args'.
  void StartServing(int drain_timeout_s, const std::vector<std::string>& extra = {}) {
    auto cluster = StartMigratedCluster();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    auto started = Start(cluster_->ConnInfo("healthtwin"), drain_timeout_s, extra);
    ASSERT_TRUE(started.ok()) << started.status();
    process_ = *std::move(started);
    auto stub = AdminHealth();
    ASSERT_TRUE(stub.ok()) << stub.status();
    health_ = *std::move(stub);
    ASSERT_TRUE(WaitForHealth(*health_, HealthCheckResponse::SERVING, kHealthFlip)) << process_->Stderr();
  }

  TempDir work_;
  std::string pki_;
  std::unique_ptr<PgCluster> cluster_;
  std::unique_ptr<Subprocess> process_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

TEST_P(EveryServiceTest, UnknownFlagExits2WithOneLineNamingTheFlag) {
  std::vector<std::string> args = Args(kUnreachableDb);
  args.push_back("--frobnicate");

  EXPECT_THAT(ExpectExit2(args), HasSubstr("--frobnicate"));
}

// Every service that writes audit records signs checkpoints with its keyring's
// audit-signing.key (services/common/audit_checkpointing.h): its flags are checked, and so is
// the key, before it listens.
TEST_P(EveryServiceTest, BadAuditCheckpointFlagsOrKeyExit2WithOneLineNamingThem) {
  for (const char* flag : {"--audit-checkpoint-every-records", "--audit-checkpoint-every-minutes"}) {
    std::vector<std::string> args = Args(kUnreachableDb);
    args.insert(args.end(), {flag, "0"});
    EXPECT_THAT(ExpectExit2(args), HasSubstr(flag));
  }
  // The dev keyring, with its signing key readable by others.
  const std::string ring = work_ / "keyring";
  fs::copy(pki_ + "/keyring", ring);
  fs::permissions(ring, fs::perms::owner_all);
  fs::permissions(ring + "/audit-signing.key", fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  std::vector<std::string> args = Args(kUnreachableDb);
  args.insert(args.end(), {"--keyring", ring});
  const std::string err = ExpectExit2(args);
  EXPECT_THAT(err, HasSubstr("--keyring"));
  EXPECT_THAT(err, HasSubstr(ring + "/audit-signing.key' has mode 0604"));
}

// clinician_api reads only pseudonym.key and audit-signing.key from its keyring
// (services/common/crypto/pseudonym_keyring.h): without pseudonym.key it refuses to start,
// naming the file; with those two files and no KEK it serves.
TEST_P(EveryServiceTest, ClinicianApiKeyringOfPseudonymAndSigningKeysOnly) {
  if (service().name != "clinician_api") GTEST_SKIP() << "only clinician_api reads pseudonym.key";
  const std::string ring = work_ / "clinician-keyring";
  fs::create_directory(ring);
  fs::permissions(ring, fs::perms::owner_all);
  const auto copy_key = [&](const std::string& name) {
    fs::copy_file(pki_ + "/keyring/" + name, ring + "/" + name);
    fs::permissions(ring + "/" + name, fs::perms::owner_read | fs::perms::owner_write);
  };
  copy_key("audit-signing.key");
  std::vector<std::string> args = Args(kUnreachableDb);
  args.insert(args.end(), {"--keyring", ring});
  const std::string err = ExpectExit2(args);
  EXPECT_THAT(err, HasSubstr("--keyring"));
  EXPECT_THAT(err, HasSubstr(ring + "/pseudonym.key' does not exist"));

  copy_key("pseudonym.key");
  ASSERT_EQ(std::distance(fs::directory_iterator(ring), fs::directory_iterator()), 2) << "no KEK in it";
  ASSERT_NO_FATAL_FAILURE(StartServing(/*drain_timeout_s=*/10, {"--keyring", ring}));
}

TEST_P(EveryServiceTest, UnknownConfigKeyExits2WithOneLineNamingTheKey) {
  const std::string config = work_ / "service.toml";
  std::ofstream(config) << "[database]\nconnection_string = \"x\"\n";
  std::vector<std::string> args = Args(kUnreachableDb);
  args.insert(args.end(), {"--config", config});

  const std::string err = ExpectExit2(args);

  EXPECT_THAT(err, HasSubstr("database.connection_string"));
  EXPECT_THAT(err, HasSubstr("unknown key"));
}

TEST_P(EveryServiceTest, MissingCertificateFileExits2WithOneLineNamingThePath) {
  std::vector<std::string> args = Args(kUnreachableDb);
  ASSERT_EQ(args[2], "--tls-cert");
  args[3] = work_ / "absent.pem";

  EXPECT_THAT(ExpectExit2(args), HasSubstr(work_ / "absent.pem"));
}

TEST_P(EveryServiceTest, CertificateThatIsNotPemExits2WithOneLineNamingThePath) {
  const std::string not_pem = work_ / "not-a-certificate.pem";
  std::ofstream(not_pem) << "this is not a certificate\n";
  std::vector<std::string> args = Args(kUnreachableDb);
  ASSERT_EQ(args[2], "--tls-cert");
  args[3] = not_pem;

  const std::string err = ExpectExit2(args);

  EXPECT_THAT(err, HasSubstr(not_pem));
  EXPECT_THAT(err, HasSubstr("no PEM certificate"));
}

TEST_P(EveryServiceTest, HealthIsNotServingWhilePostgresIsDownAndServingAfter) {
  ASSERT_NO_FATAL_FAILURE(StartServing(/*drain_timeout_s=*/10));

  ASSERT_TRUE(cluster_->Stop().ok());
  EXPECT_TRUE(WaitForHealth(*health_, HealthCheckResponse::NOT_SERVING, kHealthFlip)) << process_->Stderr();
  ASSERT_TRUE(process_->Running()) << process_->exit_info()->ToString() << "\n" << process_->Stderr();

  ASSERT_TRUE(cluster_->Restart().ok());
  EXPECT_TRUE(WaitForHealth(*health_, HealthCheckResponse::SERVING, kHealthFlip)) << process_->Stderr();
  EXPECT_TRUE(process_->Running()) << process_->Stderr();
}

// sslscan from outside (issue 13 item 6): TLS 1.2 or 1.3 and AEAD suites only. No database is
// needed for the handshake.
TEST_P(EveryServiceTest, ItsPortOffersOnlyTls12Or13WithAeadSuites) {
  auto process = Start(kUnreachableDb);
  ASSERT_TRUE(process.ok()) << process.status();
  auto scan = ScanTls(Port(), PkiIdentity(pki_, "cli-admin"));
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(TlsPolicyViolations(*scan), ::testing::IsEmpty()) << scan->xml;
  EXPECT_THAT(scan->protocols, ::testing::Contains("tls1.3")) << scan->xml;
  EXPECT_FALSE(scan->suites.empty()) << scan->xml;
}

// With no call in flight and no client connected the drain has nothing to wait for: exit 0
// inside the timeout.
TEST_P(EveryServiceTest, SigtermWhenIdleExits0WithinTheDrainTimeout) {
  constexpr auto kDrainTimeout = 4s;
  ASSERT_NO_FATAL_FAILURE(StartServing(kDrainTimeout.count()));
  health_.reset();  // closes the connection: an open one alone holds gRPC's shutdown to the deadline

  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_TRUE(process_->Signal(SIGTERM).ok());
  auto exit = process_->Wait(kDrainTimeout + 15s);
  const auto elapsed = std::chrono::steady_clock::now() - signalled;

  ASSERT_TRUE(exit.ok()) << exit.status() << "\n" << process_->Stderr();
  EXPECT_EQ(exit->ToString(), "exit code 0") << process_->Stderr();
  EXPECT_LT(elapsed, kDrainTimeout) << process_->Stderr();
  EXPECT_THAT(process_->Stderr(), HasSubstr("\"event\":\"server.stopped\""));
  EXPECT_FALSE(fs::exists(PortFile())) << "a port file must not outlive the server";
}

// A call still open (a health Watch stream, which only the client ends) holds the drain for
// the whole drain timeout and no longer: the server reports NOT_SERVING on it at once, then
// cancels it when the timeout runs out and exits 0.
TEST_P(EveryServiceTest, SigtermWithAnOpenCallDrainsForTheDrainTimeoutThenExits0) {
  constexpr auto kDrainTimeout = 3s;
  constexpr auto kSlack = 500ms;  // signal delivery and process exit
  ASSERT_NO_FATAL_FAILURE(StartServing(kDrainTimeout.count()));
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() + kDrainTimeout + 30s);
  auto watch = health_->Watch(&watch_ctx, grpc::health::v1::HealthCheckRequest());
  HealthCheckResponse update;
  ASSERT_TRUE(watch->Read(&update));
  ASSERT_EQ(update.status(), HealthCheckResponse::SERVING);

  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_TRUE(process_->Signal(SIGTERM).ok());
  ASSERT_TRUE(watch->Read(&update)) << process_->Stderr();
  EXPECT_EQ(update.status(), HealthCheckResponse::NOT_SERVING);
  auto exit = process_->Wait(kDrainTimeout + 15s);
  const auto elapsed = std::chrono::steady_clock::now() - signalled;

  ASSERT_TRUE(exit.ok()) << exit.status() << "\n" << process_->Stderr();
  EXPECT_EQ(exit->ToString(), "exit code 0") << process_->Stderr();
  EXPECT_GE(elapsed, kDrainTimeout - 200ms) << "the open call was not given the drain timeout";
  EXPECT_LT(elapsed, kDrainTimeout + kSlack) << process_->Stderr();
  EXPECT_THAT(LineWith(process_->Stderr(), "\"event\":\"server.draining\""),
              HasSubstr(absl::StrCat("\"timeout_s\":", kDrainTimeout.count())));
  EXPECT_THAT(process_->Stderr(), HasSubstr("\"event\":\"server.stopped\""));
  while (watch->Read(&update)) {
  }
  EXPECT_FALSE(watch->Finish().ok()) << "the open call must have been cancelled, not finished";
}

// Without --db (and no [database] in a config file) a service connects the way libpq does by
// default, from PGHOST, PGPORT, PGDATABASE and PGUSER (the --db help says so).
TEST_P(EveryServiceTest, WithoutDbTheServiceReachesPostgresThroughThePgEnvironment) {
  auto cluster = StartMigratedCluster();
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  cluster_ = *std::move(cluster);
  // The harness's conninfo names the socket directory and port; the service gets them only
  // through the environment.
  const std::string conninfo = cluster_->ConnInfo("healthtwin");
  pqxx::connection superuser(conninfo);
  const std::string host = superuser.hostname() ? superuser.hostname() : "";
  const std::string port = superuser.port() ? superuser.port() : "";
  ASSERT_FALSE(host.empty()) << conninfo;
  ASSERT_FALSE(port.empty()) << conninfo;
  const std::string role = common::ServiceRole(service().name);

  std::vector<std::string> args = Args(kUnreachableDb);
  ASSERT_EQ(args[6], "--db");
  args.erase(args.begin() + 6, args.begin() + 8);
  auto started =
      StartListening(service().binary, args, PortFile(),
                     {.stdout_path = "",
                      .stderr_path = "",
                      .extra_env = {"PGHOST=" + host, "PGPORT=" + port, "PGDATABASE=healthtwin", "PGUSER=" + role}});
  ASSERT_TRUE(started.ok()) << started.status();
  process_ = *std::move(started);
  auto stub = AdminHealth();
  ASSERT_TRUE(stub.ok()) << stub.status();
  EXPECT_TRUE(WaitForHealth(**stub, HealthCheckResponse::SERVING, kHealthFlip)) << process_->Stderr();

  // And it is there as its own role, not by some other route.
  pqxx::nontransaction tx(superuser);
  EXPECT_GE(
      tx.exec_params1("SELECT count(*) FROM pg_stat_activity WHERE usename = $1 AND datname = 'healthtwin'", role)[0]
          .as<int>(),
      1);
}

TEST_P(EveryServiceTest, ServerReflectionListsTheService) {
  auto started = Start(kUnreachableDb);
  ASSERT_TRUE(started.ok()) << started.status();
  auto channel = TlsChannel(Port(), PkiIdentity(pki_, "cli-admin"), service().name);
  ASSERT_TRUE(channel.ok()) << channel.status();

  const common::testing::ReflectionReply reply = common::testing::ListServices(*channel);

  ASSERT_TRUE(reply.status.ok()) << reply.status.error_message();
  for (const std::string& name : service().grpc_services) {
    EXPECT_THAT(reply.response, HasSubstr(name));
  }
}

INSTANTIATE_TEST_SUITE_P(Services, EveryServiceTest, ::testing::ValuesIn(EveryService()),
                         [](const ::testing::TestParamInfo<ServiceBinary>& param) { return param.param.name; });

// The alerts service's own flag: a rule catalogue named with --alert-rules must load (without
// it the built-in catalogue is used, which the tests above start with).
using AlertsServiceTest = EveryServiceTest;

TEST_P(AlertsServiceTest, AlertRulesThatCannotBeReadExit2WithOneLineNamingThePath) {
  std::vector<std::string> args = Args(kUnreachableDb);
  args.insert(args.end(), {"--alert-rules", work_ / "absent.toml"});

  EXPECT_THAT(ExpectExit2(args), HasSubstr(work_ / "absent.toml"));
}

TEST_P(AlertsServiceTest, AlertRulesWithABadValueExit2WithOneLineNamingTheKey) {
  const std::string rules = work_ / "rules.toml";
  std::ofstream(rules) << "[rules.hr_high]\nkind = \"threshold_high\"\nvital = \"heart_rate\"\n"
                          "priority = \"urgent\"\nthreshold = 120\n";
  std::vector<std::string> args = Args(kUnreachableDb);
  args.insert(args.end(), {"--alert-rules", rules});

  const std::string err = ExpectExit2(args);

  EXPECT_THAT(err, HasSubstr(rules));
  EXPECT_THAT(err, HasSubstr("rules.hr_high.priority"));
}

INSTANTIATE_TEST_SUITE_P(Alerts, AlertsServiceTest, ::testing::Values(EveryService()[1]),
                         [](const ::testing::TestParamInfo<ServiceBinary>& param) { return param.param.name; });

}  // namespace
}  // namespace healthtwin::testing
