// clinician_api in front of two twin shards, all real binaries (issue 15): each Predict goes to
// the shard that owns its patient. A shard asked about another shard's patient answers
// FAILED_PRECONDITION; the owner of a patient without a twin answers NOT_FOUND. So a routed
// clinician_api gives NOT_FOUND for every patient, and one that knows only shard 0 (the
// negative control) gives FAILED_PRECONDITION for shard 1's patients.
//
// The two shards listen on the same port of two loopback addresses (127.0.0.1 and 127.0.1.1,
// both lo on Linux), so one --twin-addr template names both: ipv4:127.0.{shard}.1:PORT. Shard
// 0 takes a free port (port 0); shard 1 binds the same number on the other address.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "services/twin/shard.h"
#include "tests/harness/migrated_database.h"
#include "tests/process/process_test_support.h"

namespace healthtwin::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr int kShards = 2;
constexpr int kPatients = 12;

class TwinRoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(work_.ok());
    auto pki = SharedDevPki(HT_PKI_SCRIPT, HT_PKI_CACHE_DIR);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
    auto cluster = StartMigratedCluster();
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    for (int i = 0; i < kPatients; ++i) {
      const std::string id = absl::StrCat("pat-route-", i);
      patients_.push_back(id);
      ExecSql(Db(), "INSERT INTO patients (patient_id) VALUES ('" + id + "')");
      ExecSql(Db(), "INSERT INTO care_team (patient_id, member) VALUES ('" + id + "', 'dr-alice')");
    }
    // Both shards own some of the patients, or the test proves nothing.
    int on_shard_1 = 0;
    for (const auto& id : patients_) on_shard_1 += twin::ShardSpec{0, kShards}.ShardOf(id);
    ASSERT_GT(on_shard_1, 0);
    ASSERT_LT(on_shard_1, kPatients);
  }

  std::string Db() const { return cluster_->ConnInfo("healthtwin"); }

  std::vector<std::string> CommonArgs(const std::string& name, const std::string& listen,
                                      const std::string& port_file) const {
    return {"--tls-ca",    pki_ + "/ca.pem",
            "--tls-cert",  pki_ + "/" + name + ".pem",
            "--tls-key",   pki_ + "/" + name + ".key",
            "--db",        ServiceConnInfo(Db(), name),
            "--listen",    listen,
            "--port-file", port_file};
  }

  // Twin shard `index` of kShards on `listen`; returns its port.
  int StartTwinShard(int index, const std::string& listen) {
    const std::string port_file = work_ / absl::StrCat("twin-", index, ".port");
    std::vector<std::string> args = CommonArgs("twin", listen, port_file);
    for (const std::string& a :
         {std::string("--shard-index"), std::to_string(index), std::string("--shard-count"), std::to_string(kShards)}) {
      args.push_back(a);
    }
    auto started = StartListening(HT_TWIN_BIN, args, port_file);
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return 0;
    twins_.push_back(*std::move(started));
    return PortInFile(port_file);
  }

  // clinician_api with `extra` flags (its twin address among them); returns a stub as dr-alice.
  std::unique_ptr<clinician::v1::ClinicianService::Stub> StartApi(const std::string& tag,
                                                                  const std::vector<std::string>& extra) {
    const std::string port_file = work_ / (tag + ".port");
    std::vector<std::string> args = CommonArgs("clinician_api", "127.0.0.1:0", port_file);
    args.insert(args.end(), {"--ingest-addr", "127.0.0.1:1", "--alerts-addr", "127.0.0.1:1", "--simulation-addr",
                             "127.0.0.1:1"});
    args.insert(args.end(), extra.begin(), extra.end());
    auto started = StartListening(HT_CLINICIAN_API_BIN, args, port_file);
    EXPECT_TRUE(started.ok()) << started.status();
    if (!started.ok()) return nullptr;
    apis_.push_back(*std::move(started));
    auto channel = TlsChannel(PortInFile(port_file), PkiIdentity(pki_, "dr-alice"), "clinician_api");
    EXPECT_TRUE(channel.ok()) << channel.status();
    return channel.ok() ? clinician::v1::ClinicianService::NewStub(*channel) : nullptr;
  }

  static grpc::Status Predict(clinician::v1::ClinicianService::Stub& api, const std::string& patient) {
    twin::v1::PredictRequest req;
    req.set_patient_id(patient);
    twin::v1::PredictResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 15s);
    return api.Predict(&ctx, req, &resp);
  }

  TempDir work_;
  std::string pki_;
  std::unique_ptr<PgCluster> cluster_;
  std::vector<std::string> patients_;
  std::vector<std::unique_ptr<Subprocess>> twins_;
  std::vector<std::unique_ptr<Subprocess>> apis_;
};

TEST_F(TwinRoutingTest, EachCallReachesThePatientsShardAndOnlyOneShardIsWrongForHalf) {
  const int port = StartTwinShard(0, "127.0.0.1:0");
  ASSERT_GT(port, 0);
  ASSERT_EQ(StartTwinShard(1, absl::StrCat("127.0.1.1:", port)), port);

  auto routed = StartApi("routed", {"--twin-addr", absl::StrCat("ipv4:127.0.{shard}.1:", port), "--twin-shards", "2"});
  ASSERT_NE(routed, nullptr);
  for (const std::string& id : patients_) {
    const grpc::Status s = Predict(*routed, id);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << id << ": " << s.error_message();
    EXPECT_THAT(s.error_message(), HasSubstr("has no twin yet")) << id;
  }

  // The command line's forecast goes the same way: to the owner, which has no twin yet.
  for (const std::string& id : patients_) {
    auto cli = Subprocess::Spawn(HT_CLI_BIN, {"--pki", pki_, "--as", "dr-alice", "--api",
                                              absl::StrCat("127.0.0.1:", PortInFile(work_ / "routed.port")), "twin",
                                              "predict", "--patient", id});
    ASSERT_TRUE(cli.ok()) << cli.status();
    auto exit = RunToExit(**cli);
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->ToString(), "exit code 1") << (*cli)->Stderr();
    EXPECT_THAT((*cli)->Stderr(), HasSubstr("has no twin yet")) << id;
  }

  // Negative control: one address, shard 0's. Shard 1's patients are refused by shard 0.
  auto shard0_only = StartApi("shard0", {"--twin-addr", absl::StrCat("127.0.0.1:", port)});
  ASSERT_NE(shard0_only, nullptr);
  int refused = 0;
  for (const std::string& id : patients_) {
    const grpc::Status s = Predict(*shard0_only, id);
    if (twin::ShardSpec{0, kShards}.ShardOf(id) == 1) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << id << ": " << s.error_message();
      EXPECT_THAT(s.error_message(), HasSubstr("belongs to twin shard 1 of 2")) << id;
      ++refused;
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << id << ": " << s.error_message();
    }
  }
  EXPECT_GT(refused, 0);
}

TEST_F(TwinRoutingTest, ShardsWithoutAPlaceholderOrOutOfRangeExitTwoNamingTheFlag) {
  const auto expect_exit_2 = [&](const std::vector<std::string>& extra, const std::string& names) {
    std::vector<std::string> args = CommonArgs("clinician_api", "127.0.0.1:0", work_ / "bad.port");
    args.insert(args.end(), {"--ingest-addr", "127.0.0.1:1", "--alerts-addr", "127.0.0.1:1", "--simulation-addr",
                             "127.0.0.1:1"});
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = Subprocess::Spawn(HT_CLINICIAN_API_BIN, args);
    ASSERT_TRUE(process.ok()) << process.status();
    auto exit = RunToExit(**process);
    ASSERT_TRUE(exit.ok()) << exit.status();
    EXPECT_EQ(exit->ToString(), "exit code 2") << (*process)->Stderr();
    EXPECT_EQ(NonEmptyLines((*process)->Stderr()).size(), 1u) << (*process)->Stderr();
    EXPECT_THAT((*process)->Stderr(), HasSubstr(names));
  };
  expect_exit_2({"--twin-addr", "127.0.0.1:7003", "--twin-shards", "3"}, "--twin-addr");
  expect_exit_2({"--twin-addr", "twin-{shard}:7003", "--twin-shards", "0"}, "--twin-shards");
  expect_exit_2({"--twin-addr", "twin-{shard}:7003", "--twin-shards", "5000"}, "--twin-shards");
}

}  // namespace
}  // namespace healthtwin::testing
