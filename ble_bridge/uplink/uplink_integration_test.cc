// The uplink against the real ingest binary and a real PostgreSQL: a backend outage while
// rows pile up in the outbox, a kill -9 of the uplink process mid-stream, and the binding
// check. Each time PostgreSQL must end up holding exactly the outbox's rows: the same count,
// no duplicate keys, the same checksum.
#include <signal.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include <pqxx/pqxx>

#include "ble_bridge/outbox/outbox.h"
#include "ble_bridge/uplink/forwarder.h"
#include "ble_bridge/uplink/grpc_uplink.h"
#include "gtest/gtest.h"
#include "services/common/db/migrator.h"
#include "services/common/time_util.h"
#include "tests/harness/ingest_process.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::ble {
namespace {

using namespace std::chrono_literals;
using healthtwin::testing::PgCluster;
using healthtwin::testing::PollUntil;
using healthtwin::testing::ReadFileOrEmpty;
using healthtwin::testing::Subprocess;

const char* const kIngestBin = HT_INGEST_BIN;
const char* const kUplinkBin = HT_UPLINK_BIN;
const char* const kPkiScript = HT_PKI_SCRIPT;
constexpr int kDevices = 10;

class UplinkIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = PgCluster::Start(healthtwin::testing::WithMigratedTemplate());
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    auto conninfo = healthtwin::testing::CreateMigratedDatabase(*cluster_, "uplink");
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    conninfo_ = *conninfo;
    {
      pqxx::connection c(conninfo_);
      pqxx::work tx(c);
      tx.exec_params("INSERT INTO patients (patient_id) SELECT 'p' || g FROM generate_series(0, $1 - 1) g", kDevices);
      tx.exec_params("INSERT INTO devices (device_id, kind, patient_id, bound_at)"
                     " SELECT 'd' || g, 1, 'p' || g, now() - interval '1 day' FROM generate_series(0, $1 - 1) g",
                     kDevices);
      tx.exec("INSERT INTO device_gateways (device_id, bridge_id) SELECT device_id, 'bridge-001' FROM devices");
      tx.exec("INSERT INTO devices (device_id, kind) VALUES ('loose', 1)");  // enrolled, not bound
      tx.commit();
    }
    work_ = cluster_->dir() + "-uplink";
    std::filesystem::create_directories(work_);
    auto pki = healthtwin::testing::MakeDevPki(kPkiScript, work_ + "/pki");
    ASSERT_TRUE(pki.ok()) << pki;
    outbox_path_ = work_ + "/outbox.db";
  }

  void TearDown() override {
    if (ingest_) (void)ingest_->Signal(SIGKILL);
    ingest_.reset();
    std::filesystem::remove_all(work_);
  }

  void StartIngest() {
    auto ingest = healthtwin::testing::StartIngestProcess(kIngestBin, work_ + "/pki", conninfo_, work_);
    ASSERT_TRUE(ingest.ok()) << ingest.status();
    ingest_ = std::move(ingest->process);
    SetAddress(ingest->address);
  }

  void SetAddress(std::string a) {
    std::lock_guard lock(address_mu_);
    address_ = std::move(a);
  }
  std::string Address() {
    std::lock_guard lock(address_mu_);
    return address_;
  }

  common::TlsFiles Bridge() const {
    return {work_ + "/pki/ca.pem", work_ + "/pki/bridge-001.pem", work_ + "/pki/bridge-001.key"};
  }

  // `per_device` one-second heart-rate readings for each bound device (and `extra` devices),
  // an hour ago, appended as the BLE layer would; returns the expected checksum of the
  // bound ones.
  void FillOutbox(int per_device, const std::vector<std::string>& extra = {}) {
    auto outbox = Outbox::Open(outbox_path_);
    ASSERT_TRUE(outbox.ok()) << outbox.status();
    const int64_t base_s = common::NowUnixMicros() / 1'000'000 - 3600;
    std::vector<std::string> devices;
    for (int d = 0; d < kDevices; ++d) devices.push_back("d" + std::to_string(d));
    devices.insert(devices.end(), extra.begin(), extra.end());
    for (int s = 0; s < per_device; ++s) {
      std::vector<Measurement> batch;
      for (std::size_t d = 0; d < devices.size(); ++d) {
        const double value = 50 + (d * 31 + s * 17) % 90;
        batch.push_back({devices[d], common::VitalType::kHeartRate, value, "/min", (base_s + s) * 1'000'000,
                         (base_s + s) * 1'000'000 + 300'000, 0});
        if (d < kDevices) {
          expected_checksum_ += ((base_s + s) % 100003) * static_cast<int64_t>(value);
          ++expected_count_;
        }
      }
      ASSERT_TRUE((*outbox)->Append(batch).ok());
    }
  }

  int64_t VitalsCount() {
    pqxx::connection c(conninfo_);
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT count(*) FROM vitals")[0][0].as<int64_t>();
  }

  void ExpectExactlyTheOutbox() {
    pqxx::connection c(conninfo_);
    pqxx::nontransaction tx(c);
    auto r = tx.exec(
        "SELECT count(*), count(DISTINCT (device_id, measured_at)),"
        " coalesce(sum((extract(epoch FROM measured_at)::bigint % 100003) * value::bigint), 0) FROM vitals");
    EXPECT_EQ(r[0][0].as<int64_t>(), expected_count_);
    EXPECT_EQ(r[0][1].as<int64_t>(), expected_count_);
    EXPECT_EQ(r[0][2].as<int64_t>(), expected_checksum_);
    EXPECT_EQ(tx.exec("SELECT count(*) FROM quarantine")[0][0].as<int64_t>(), 0);
  }

  int64_t OutboxRows() {
    auto outbox = Outbox::Open(outbox_path_);
    EXPECT_TRUE(outbox.ok()) << outbox.status();
    return outbox.ok() ? (*outbox)->Stats().rows : -1;
  }

  std::unique_ptr<PgCluster> cluster_;
  std::string conninfo_;
  std::string work_;
  std::string outbox_path_;
  std::unique_ptr<Subprocess> ingest_;
  std::mutex address_mu_;
  std::string address_;
  int64_t expected_checksum_ = 0;
  int64_t expected_count_ = 0;
};

TEST_F(UplinkIntegrationTest, RegistryClientRefusesAServerThatIsNotTheExpectedService) {
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  // Same CA, same address: only the expected name differs.
  GrpcDeviceRegistry expecting_twin([this] { return Address(); }, Bridge(), 5s, "twin");
  auto refused = expecting_twin.MayForward("d0");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated) << refused.status();
  EXPECT_NE(refused.status().message().find("Peer name twin is not in peer certificate"), std::string::npos)
      << refused.status();

  GrpcDeviceRegistry expecting_ingest([this] { return Address(); }, Bridge(), 5s);
  auto answered = expecting_ingest.MayForward("d0");
  ASSERT_TRUE(answered.ok()) << answered.status();
  EXPECT_TRUE(*answered) << "d0 is bound to p0 with bridge-001 as its gateway";
}

TEST_F(UplinkIntegrationTest, BackendDownRowsBufferedThenDeliveredExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(FillOutbox(150));
  SetAddress("localhost:1");  // nothing listens: ingest is down
  auto outbox = Outbox::Open(outbox_path_);
  ASSERT_TRUE(outbox.ok());
  GrpcSampleSink sink([this] { return Address(); }, Bridge(), {.ack_timeout = 10s});
  Forwarder forwarder(**outbox, sink,
                      {.batch_size = 200, .initial_backoff = 20ms, .max_backoff = 200ms, .idle_poll = 20ms});
  StopSignal stop;
  std::thread runner([&] { forwarder.Run(stop); });

  ASSERT_TRUE(PollUntil([&] { return forwarder.Stats().stream_failures_total >= 3; }, 20s));
  EXPECT_EQ((*outbox)->Stats().rows, expected_count_);  // everything kept during the outage
  EXPECT_EQ(forwarder.Stats().acked_total, 0u);

  ASSERT_NO_FATAL_FAILURE(StartIngest());
  const bool delivered = PollUntil([&] { return (*outbox)->Stats().rows == 0; }, 30s);
  stop.Stop();
  runner.join();
  ASSERT_TRUE(delivered) << "pending " << (*outbox)->Stats().rows << "; ingest stderr: " << ingest_->Stderr();
  EXPECT_EQ(forwarder.Stats().acked_total, static_cast<uint64_t>(expected_count_));
  EXPECT_EQ(forwarder.Stats().rejected_total, 0u);
  ExpectExactlyTheOutbox();
}

TEST_F(UplinkIntegrationTest, KillNineOfTheUplinkMidStreamThenRestartDeliversExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(FillOutbox(800));
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  const std::vector<std::string> args = {"--outbox",     outbox_path_, "--ingest-addr", Address(),  "--pki",
                                         work_ + "/pki", "--batch-size", "40",          "--drain", "--log-level",
                                         "warn"};
  auto first = Subprocess::Spawn(kUplinkBin, args);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(PollUntil([&] { return VitalsCount() >= expected_count_ / 5; }, 30s)) << (*first)->Stderr();
  ASSERT_TRUE((*first)->Signal(SIGKILL).ok());
  auto killed = (*first)->Wait(10s);
  ASSERT_TRUE(killed.ok());
  ASSERT_FALSE(killed->exited) << "the uplink finished before it could be killed mid-stream";
  const int64_t at_kill = VitalsCount();
  EXPECT_LT(at_kill, expected_count_);

  auto second = Subprocess::Spawn(kUplinkBin, args);
  ASSERT_TRUE(second.ok());
  auto done = (*second)->Wait(60s);
  ASSERT_TRUE(done.ok()) << (*second)->Stderr();
  EXPECT_TRUE(done->exited && done->code == 0) << done->ToString() << "\n" << (*second)->Stderr();
  EXPECT_NE((*second)->Stdout().find("\"pending\":0"), std::string::npos) << (*second)->Stdout();
  EXPECT_EQ(OutboxRows(), 0);
  ExpectExactlyTheOutbox();
}

TEST_F(UplinkIntegrationTest, ForwardsOnlyBoundDevicesAndListsTheOthers) {
  ASSERT_NO_FATAL_FAILURE(FillOutbox(30, {"loose", "ghost"}));
  ASSERT_NO_FATAL_FAILURE(StartIngest());
  auto uplink = Subprocess::Spawn(kUplinkBin, {"--outbox", outbox_path_, "--ingest-addr", Address(), "--pki",
                                               work_ + "/pki", "--require-binding", "--drain", "--log-level", "warn"});
  ASSERT_TRUE(uplink.ok());
  auto done = (*uplink)->Wait(30s);
  ASSERT_TRUE(done.ok()) << (*uplink)->Stderr();
  EXPECT_TRUE(done->exited && done->code == 0) << done->ToString() << "\n" << (*uplink)->Stderr();
  const std::string out = (*uplink)->Stdout();
  EXPECT_NE(out.find(R"({"device_id":"ghost","known":false})"), std::string::npos) << out;
  EXPECT_NE(out.find(R"({"device_id":"loose","known":true})"), std::string::npos) << out;
  EXPECT_NE(out.find("\"pending\":60"), std::string::npos) << out;  // 30 each, kept for enrollment
  ExpectExactlyTheOutbox();
}

}  // namespace
}  // namespace healthtwin::ble
