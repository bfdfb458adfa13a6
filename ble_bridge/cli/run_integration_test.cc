// `healthtwin-bridge run` end to end without a radio: a heart-rate strap on the mock BlueZ
// (private dbus-daemon + python3-dbusmock), the real ingest binary and a real PostgreSQL. The
// strap notifies N heart rates; the bridge is killed with SIGKILL mid-stream and started again;
// PostgreSQL must hold every reading exactly once (count, distinct keys and a checksum), and a
// strap that is not bound to a patient is held back and listed as unbound by `devices`.
//
// Outages under a running bridge, with the same checks: bluetoothd killed and restarted, the
// dbus-daemon killed and a new one started at the same address, org.bluez released and taken
// again. Each time the bridge keeps uplinking its outbox while BlueZ is away, subscribes again
// when it is back, and nothing is lost or stored twice. SIGINT while the bus is down exits 0 at
// once, a bridge started before the bus connects when it appears, and under systemd
// (NOTIFY_SOCKET) the bridge reports READY=1 and WATCHDOG=1.
//
// The gateway clock stepping 3 h forward and back mid-stream (libfaketime in the bridge only;
// ingest and PostgreSQL keep the real time): every heart rate is stored once, stamped with the
// real time, and both steps are logged. A full disk under the outbox (a tmpfs filled with a
// ballast file) refuses readings loudly while the bridge keeps running, and it stores again once
// space returns.
#include <signal.h>
#include <sys/mount.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "ble_bridge/bluez/testing/mock_bluez.h"
#include "ble_bridge/cli/testing/notify_socket.h"
#include "ble_bridge/outbox/outbox.h"
#include "services/common/db/migrator.h"
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
using testing::Outage;
using testing::OutageName;

const char* const kIngestBin = HT_INGEST_BIN;
const char* const kBridgeBin = HT_BRIDGE_BIN;
const char* const kPkiScript = HT_PKI_SCRIPT;
constexpr char kStrap[] = "AA:BB:CC:DD:EE:01";
constexpr char kLoose[] = "AA:BB:CC:DD:EE:09";  // enrolled, bound to nobody
constexpr int kReadings = 120;
// Debian's libfaketime (package faketime, scripts/bootstrap.sh).
constexpr char kLibFaketime[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

class BridgeRunIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto cluster = PgCluster::Start(healthtwin::testing::WithMigratedTemplate());
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    auto conninfo = healthtwin::testing::CreateMigratedDatabase(*cluster_, "bridge");
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    conninfo_ = *conninfo;
    {
      pqxx::connection c(conninfo_);
      pqxx::work tx(c);
      tx.exec("INSERT INTO patients (patient_id) VALUES ('pat-0001')");
      tx.exec_params("INSERT INTO devices (device_id, kind, patient_id, bound_at)"
                     " VALUES ($1, 1, 'pat-0001', now() - interval '1 day')",
                     std::string(kStrap));
      tx.exec_params("INSERT INTO device_gateways (device_id, bridge_id) VALUES ($1, 'bridge-001')",
                     std::string(kStrap));
      tx.exec_params("INSERT INTO devices (device_id, kind) VALUES ($1, 1)", std::string(kLoose));
      tx.commit();
    }
    work_ = cluster_->dir() + "-bridge";
    std::filesystem::create_directories(work_);
    auto pki = healthtwin::testing::MakeDevPki(kPkiScript, work_ + "/pki");
    ASSERT_TRUE(pki.ok()) << pki;

    auto ingest = healthtwin::testing::StartIngestProcess(kIngestBin, work_ + "/pki", conninfo_, work_);
    ASSERT_TRUE(ingest.ok()) << ingest.status();
    ingest_ = std::move(ingest->process);
    ingest_addr_ = ingest->address;

    // The mock BlueZ; Start() points DBUS_SYSTEM_BUS_ADDRESS (inherited by the bridge) at it.
    auto mock = testing::MockBluez::Start();
    ASSERT_TRUE(mock.ok()) << mock.status();
    mock_ = *std::move(mock);
    ASSERT_NO_FATAL_FAILURE(AddWearables());
  }

  // The adapter and both straps; again after the mock or the bus restarted (a restarted BlueZ
  // starts empty here, as bluetoothd reads its devices back from storage).
  void AddWearables() {
    auto adapter = mock_->AddAdapter("hci0");
    ASSERT_TRUE(adapter.ok()) << adapter.status();
    // The bound strap also has a battery (org.bluez.Battery1), Device Information and a
    // writable Current Time whose clock is 10 minutes behind.
    const std::string strap = testing::MockBluez::DevicePath(*adapter, kStrap);
    auto manufacturer = mock_->AddCharacteristic(strap, 0x20, 0x180A, 0x21, 0x2A29, {"read"}, {'P', 'o', 'l', 'a', 'r'});
    ASSERT_TRUE(manufacturer.ok()) << manufacturer.status();
    const std::time_t behind = std::time(nullptr) - 600;
    device_clock_unix_s_ = behind;
    std::tm tm{};
    localtime_r(&behind, &tm);
    ASSERT_TRUE(mock_->AddCharacteristic(strap, 0x40, 0x1805, 0x41, 0x2A2B, {"read", "write", "notify"},
                                         {static_cast<uint8_t>((tm.tm_year + 1900) & 0xFF),
                                          static_cast<uint8_t>((tm.tm_year + 1900) >> 8),
                                          static_cast<uint8_t>(tm.tm_mon + 1), static_cast<uint8_t>(tm.tm_mday),
                                          static_cast<uint8_t>(tm.tm_hour), static_cast<uint8_t>(tm.tm_min),
                                          static_cast<uint8_t>(tm.tm_sec), 0, 0, 0})
                    .ok());
    strap_hr_ = AddStrap(*adapter, kStrap);
    loose_hr_ = AddStrap(*adapter, kLoose);
    ASSERT_TRUE(mock_->AddBattery(strap, 88).ok());  // the device object exists now
  }

  void TearDown() override {
    bridge_.reset();
    if (!mounted_.empty()) {
      EXPECT_EQ(umount(mounted_.c_str()), 0) << mounted_;
    }
    mock_.reset();
    if (ingest_) (void)ingest_->Signal(SIGKILL);
    ingest_.reset();
    std::filesystem::remove_all(work_);
  }

  std::string AddStrap(const std::string& adapter, const std::string& address) {
    auto ch = mock_->AddCharacteristic(testing::MockBluez::DevicePath(adapter, address), 0x0c, 0x180D, 0x0d, 0x2A37);
    EXPECT_TRUE(ch.ok()) << ch.status();
    auto dev = mock_->AddDevice(adapter, address, "HR strap", {0x180D});
    EXPECT_TRUE(dev.ok()) << dev.status();
    return ch.value_or("");
  }

  void StartBridge(const std::vector<std::string>& extra_env = {}, bool wait_subscribed = true) {
    healthtwin::testing::SubprocessOptions options;
    options.extra_env = extra_env;
    const std::string outbox = outbox_path_.empty() ? work_ + "/outbox.db" : outbox_path_;
    auto bridge = Subprocess::Spawn(
        kBridgeBin,
        {"run", "--ingest-addr", ingest_addr_, "--registry-addr", ingest_addr_, "--pki", work_ + "/pki", "--as",
         "bridge-001", "--outbox", outbox, "--batch-size", "10", "--binding-ttl-s", "1", "--log-level", "debug"},
        options);
    ASSERT_TRUE(bridge.ok()) << bridge.status();
    bridge_ = *std::move(bridge);
    if (!wait_subscribed) return;
    ASSERT_TRUE(PollUntil([&] { return StrapSubscriptions() >= 1; }, 15s)) << bridge_->Stderr();
  }

  // How often the bridge has logged the bound strap as subscribed.
  int StrapSubscriptions() { return CountLogged(std::string(kStrap) + " subscribed"); }
  int CountLogged(const std::string& needle) {
    const std::string log = bridge_->Stderr();
    int n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }

  // SIGTERM, exit 0, and PostgreSQL holds readings [0, n) of the bound strap exactly once.
  void StopBridgeAndCheckExactlyOnce(int n) {
    ASSERT_TRUE(PollUntil([&] { return Query("SELECT count(*) FROM vitals") >= n; }, 20s))
        << Query("SELECT count(*) FROM vitals") << "\n"
        << bridge_->Stderr();
    std::this_thread::sleep_for(500ms);  // a late duplicate would show up now
    ASSERT_TRUE(bridge_->Signal(SIGTERM).ok());
    auto done = bridge_->Wait(30s);
    ASSERT_TRUE(done.ok());
    EXPECT_TRUE(done->exited && done->code == 0) << done->ToString() << "\n" << bridge_->Stderr();
    EXPECT_EQ(bridge_->Stderr().find("std::terminate"), std::string::npos) << bridge_->Stderr();
    EXPECT_EQ(Query("SELECT count(*) FROM vitals WHERE device_id = '" + std::string(kStrap) + "'"), n);
    EXPECT_EQ(Query("SELECT count(DISTINCT measured_at) FROM vitals"), n);
    EXPECT_EQ(Query("SELECT count(*) FROM vitals WHERE patient_id = 'pat-0001' AND vital_type = 1"), n);
    EXPECT_EQ(Query("SELECT coalesce(sum(value::bigint), 0) FROM vitals"), expected_sum_);
  }

  // Notifies readings [from, to) from the bound strap, 3 ms apart.
  void Notify(int from, int to) {
    for (int i = from; i < to; ++i) {
      const uint8_t bpm = static_cast<uint8_t>(60 + (i * 7) % 90);
      ASSERT_TRUE(mock_->Notify(strap_hr_, {0x00, bpm}).ok());
      expected_sum_ += bpm;
      std::this_thread::sleep_for(3ms);
    }
  }

  bool BridgeLogged(const std::string& needle) { return bridge_->Stderr().find(needle) != std::string::npos; }

  // The first "clock skew N s" the bridge logged, if any.
  std::optional<long> LoggedSkewSeconds() {
    static const std::regex kSkew("clock skew (-?[0-9]+) s");
    const std::string log = bridge_->Stderr();
    std::smatch m;
    if (!std::regex_search(log, m, kSkew)) return std::nullopt;
    return std::stol(m[1].str());
  }

  static int64_t NowUnixMicros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // When a bridge read the device's Current Time: after it was started, and before its
  // "clock skew" line was seen.
  struct ReadBracket {
    int64_t after_unix_us;
    int64_t before_unix_us;
  };

  // Starts the bridge, waits for its "clock skew N s" line, then for the strap's subscription.
  // The mock's clock does not tick, so the skew is exactly `device_unix_s` minus the moment of
  // the read, which lies inside the bracket; N is that skew truncated to whole seconds.
  ReadBracket StartBridgeAndExpectLoggedSkew(int64_t device_unix_s) {
    const int64_t started_us = NowUnixMicros();
    StartBridge({}, /*wait_subscribed=*/false);
    if (bridge_ == nullptr) return {};
    EXPECT_TRUE(PollUntil([&] { return LoggedSkewSeconds().has_value(); }, 10s)) << bridge_->Stderr();
    const ReadBracket read{started_us, NowUnixMicros()};
    const int64_t device_us = device_unix_s * 1'000'000;
    const double earliest_s = static_cast<double>(device_us - read.before_unix_us) / 1e6;
    const double latest_s = static_cast<double>(device_us - read.after_unix_us) / 1e6;
    const long logged_s = LoggedSkewSeconds().value_or(0);
    // Truncation toward zero: a skew in (logged_s - 1, logged_s] is logged as logged_s.
    EXPECT_GE(logged_s, earliest_s) << "skew between " << earliest_s << " and " << latest_s << " s\n"
                                    << bridge_->Stderr();
    EXPECT_LT(logged_s - 1, latest_s) << "skew between " << earliest_s << " and " << latest_s << " s\n"
                                      << bridge_->Stderr();
    EXPECT_TRUE(PollUntil([&] { return StrapSubscriptions() >= 1; }, 15s)) << bridge_->Stderr();
    return read;
  }

  // Rows left in the (stopped) bridge's outbox: status rows or measurement rows.
  int64_t PendingRows(bool statuses) {
    auto outbox = Outbox::Open(outbox_path_.empty() ? work_ + "/outbox.db" : outbox_path_);
    EXPECT_TRUE(outbox.ok()) << outbox.status();
    if (!outbox.ok()) return -1;
    auto rows = (*outbox)->ReadAfter(0, 100'000);
    EXPECT_TRUE(rows.ok()) << rows.status();
    return std::count_if(rows->begin(), rows->end(), [&](const OutboxRow& r) { return r.is_status() == statuses; });
  }

  int64_t Query(const std::string& sql) {
    pqxx::connection c(conninfo_);
    pqxx::nontransaction tx(c);
    return tx.exec(sql)[0][0].as<int64_t>();
  }

  std::unique_ptr<PgCluster> cluster_;
  std::string conninfo_, work_, ingest_addr_, strap_hr_, loose_hr_;
  std::string outbox_path_;  // default: work_/outbox.db
  std::string mounted_;      // a tmpfs to unmount in TearDown
  std::unique_ptr<Subprocess> ingest_;
  std::unique_ptr<testing::MockBluez> mock_;
  std::unique_ptr<Subprocess> bridge_;
  int64_t expected_sum_ = 0;
  int64_t device_clock_unix_s_ = 0;  // the strap's Current Time as AddWearables set it
};

// The local time a Current Time value (as the bridge writes it) holds, in whole seconds, as the
// bridge reads it back.
int64_t CurrentTimeUnixSeconds(const std::vector<uint8_t>& value) {
  std::tm tm{};
  tm.tm_year = (value.at(0) | (value.at(1) << 8)) - 1900;
  tm.tm_mon = value.at(2) - 1;
  tm.tm_mday = value.at(3);
  tm.tm_hour = value.at(4);
  tm.tm_min = value.at(5);
  tm.tm_sec = value.at(6);
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

TEST_F(BridgeRunIntegrationTest, HeartRatesReachPostgresExactlyOnceAcrossAKillNine) {
  // The mock's clock was set 600 s behind when the harness started.
  ASSERT_NO_FATAL_FAILURE(StartBridgeAndExpectLoggedSkew(device_clock_unix_s_));
  ASSERT_NO_FATAL_FAILURE(Notify(0, kReadings / 2));
  // Every reading of the first half is durable in the outbox, and forwarding has begun.
  ASSERT_TRUE(PollUntil([&] { return BridgeLogged("appended_total=" + std::to_string(kReadings / 2) + " "); }, 15s))
      << bridge_->Stderr();
  ASSERT_TRUE(PollUntil([&] { return Query("SELECT count(*) FROM vitals") > 0; }, 15s)) << bridge_->Stderr();
  ASSERT_TRUE(PollUntil([&] { return BridgeLogged("Current Time set to"); }, 10s)) << bridge_->Stderr();
  ASSERT_TRUE(bridge_->Signal(SIGKILL).ok());
  auto killed = bridge_->Wait(10s);
  ASSERT_TRUE(killed.ok() && !killed->exited);
  // The strap's clock now holds what the first connection wrote, and still does not tick.
  const std::string cts_path = testing::MockBluez::DevicePath("/org/bluez/hci0", kStrap) + "/service0040/char0041";
  auto first_writes = mock_->Writes(cts_path);
  ASSERT_TRUE(first_writes.ok()) << first_writes.status();
  ASSERT_EQ(first_writes->size(), 1u);
  const int64_t written_unix_s = CurrentTimeUnixSeconds(first_writes->front());

  // The link drops with the bridge; the strap advertises again and the new bridge reconnects.
  const std::string strap_path = testing::MockBluez::DevicePath("/org/bluez/hci0", kStrap);
  ASSERT_TRUE(mock_->DropConnection(strap_path).ok());
  ReadBracket second_read{};
  ASSERT_NO_FATAL_FAILURE(second_read = StartBridgeAndExpectLoggedSkew(written_unix_s));
  ASSERT_NO_FATAL_FAILURE(Notify(kReadings / 2, kReadings));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(mock_->Notify(loose_hr_, {0x00, 99}).ok());

  ASSERT_TRUE(PollUntil([&] { return BridgeLogged("device=" + std::string(kLoose)); }, 10s));
  ASSERT_NO_FATAL_FAILURE(StopBridgeAndCheckExactlyOnce(kReadings));
  // Held for the loose strap: its 3 heart rates, and its device status rows (connects, contact).
  EXPECT_EQ(PendingRows(/*statuses=*/false), 3) << bridge_->Stdout();
  EXPECT_NE(bridge_->Stdout().find("\"pending\":" + std::to_string(3 + PendingRows(/*statuses=*/true))),
            std::string::npos)
      << bridge_->Stdout();
  EXPECT_EQ(Query("SELECT count(*) FROM vitals"), kReadings);
  EXPECT_EQ(Query("SELECT count(*) FROM vitals WHERE device_id = '" + std::string(kLoose) + "'"), 0);

  auto devices = Subprocess::Spawn(kBridgeBin, {"devices", "--outbox", work_ + "/outbox.db"});
  ASSERT_TRUE(devices.ok());
  ASSERT_TRUE((*devices)->Wait(10s).ok());
  const std::string listed = (*devices)->Stdout();
  std::map<std::string, nlohmann::json> by_id;
  std::istringstream lines(listed);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    by_id[j["device_id"]] = j;
  }
  ASSERT_EQ(by_id.size(), 2u) << listed;
  EXPECT_EQ(by_id[kStrap]["binding"], "bound") << listed;
  EXPECT_EQ(by_id[kLoose]["binding"], "unbound") << listed;
  // What the connection read: battery, Device Information, the clock 10 minutes behind, then set.
  EXPECT_EQ(by_id[kStrap]["battery_percent"], 88) << listed;
  EXPECT_EQ(by_id[kStrap]["battery_source"], "org.bluez.Battery1") << listed;
  EXPECT_EQ(by_id[kStrap]["manufacturer"], "Polar") << listed;
  // The first connection found the clock 600 s behind and set it; the book shows the last
  // connection's reading, after the fix: the written time minus the moment of that read.
  EXPECT_GE(by_id[kStrap]["clock_skew_s"].get<double>(),
            static_cast<double>(written_unix_s * 1'000'000 - second_read.before_unix_us) / 1e6)
      << listed;
  EXPECT_LE(by_id[kStrap]["clock_skew_s"].get<double>(),
            static_cast<double>(written_unix_s * 1'000'000 - second_read.after_unix_us) / 1e6)
      << listed;
  auto cts_writes = mock_->Writes(cts_path);
  ASSERT_TRUE(cts_writes.ok()) << cts_writes.status();
  EXPECT_EQ(cts_writes->size(), 2u);  // once per connection
  EXPECT_TRUE(by_id[kStrap].contains("time_synced_unix_us")) << listed;
  EXPECT_FALSE(by_id[kLoose].contains("battery_percent")) << listed;
}

TEST_F(BridgeRunIntegrationTest, ClockStepsOfThreeHoursLoseNothingAndRepeatNothing) {
  ASSERT_TRUE(std::filesystem::exists(kLibFaketime)) << kLibFaketime << " missing: run scripts/bootstrap.sh";
  const std::string offset_file = work_ + "/faketime";
  auto set_offset = [&](const std::string& offset) { std::ofstream(offset_file, std::ios::trunc) << offset << "\n"; };
  set_offset("+0");
  // Only CLOCK_REALTIME moves (FAKETIME_DONT_FAKE_MONOTONIC also spares CLOCK_BOOTTIME); the
  // file is read on every call, so writing it steps the running bridge's clock.
  ASSERT_NO_FATAL_FAILURE(
      StartBridge({"LD_PRELOAD=" + std::string(kLibFaketime), "FAKETIME_TIMESTAMP_FILE=" + offset_file,
                   "FAKETIME_NO_CACHE=1", "FAKETIME_DONT_FAKE_MONOTONIC=1", "ASAN_OPTIONS=verify_asan_link_order=0"}));
  auto notify_and_wait = [&](int from, int to) {
    ASSERT_NO_FATAL_FAILURE(Notify(from, to));
    ASSERT_TRUE(PollUntil([&] { return BridgeLogged("appended_total=" + std::to_string(to) + " "); }, 15s))
        << bridge_->Stderr();
  };
  ASSERT_NO_FATAL_FAILURE(notify_and_wait(0, kReadings / 3));
  set_offset("+3h");
  ASSERT_NO_FATAL_FAILURE(notify_and_wait(kReadings / 3, 2 * kReadings / 3));
  ASSERT_EQ(CountLogged("\"bridge.clock_jump\""), 1) << bridge_->Stderr();
  set_offset("+0");  // put right again: a step of 3 h back
  ASSERT_NO_FATAL_FAILURE(notify_and_wait(2 * kReadings / 3, kReadings));
  ASSERT_EQ(CountLogged("\"bridge.clock_jump\""), 2) << bridge_->Stderr();

  ASSERT_NO_FATAL_FAILURE(StopBridgeAndCheckExactlyOnce(kReadings));
  EXPECT_FALSE(BridgeLogged("bridge.sample_rejected")) << bridge_->Stderr();
  EXPECT_NE(bridge_->Stdout().find("\"clock_jumps\":2"), std::string::npos) << bridge_->Stdout();
  // Stamped with the real time (ingest's clock), in notification order.
  EXPECT_EQ(Query("SELECT count(*) FROM vitals WHERE measured_at > now() OR measured_at < now() - interval '5 min'"),
            0);
  EXPECT_EQ(Query("SELECT count(*) FROM (SELECT value::bigint - lag(value::bigint) OVER (ORDER BY measured_at) AS d"
                  " FROM vitals) steps WHERE d IS NOT NULL AND (d + 90) % 90 <> 7"),
            0);
}

// Device status (issue 11) through the real bridge and ingest: the connect (Battery1 level and the
// clock 10 min behind), sensor contact from the heart rate flags, a 2A19 battery notification and
// a disconnect reach device_status_latest/history, each once; the gateway heartbeat reaches
// gateway_heartbeats. Then a resend: a copy of the outbox taken while the loose strap's statuses
// were held is put back under a new bridge after they were delivered, and the history still holds
// exactly the statuses the two bridges made.
TEST_F(BridgeRunIntegrationTest, DeviceStatusReachesPostgresExactlyOnceAcrossAResend) {
  const std::string strap_path = testing::MockBluez::DevicePath("/org/bluez/hci0", kStrap);
  auto battery = mock_->AddCharacteristic(strap_path, 0x50, 0x180F, 0x51, 0x2A19, {"read", "notify"}, {88});
  ASSERT_TRUE(battery.ok()) << battery.status();
  const std::string strap = "device_id = '" + std::string(kStrap) + "'";
  const std::string loose = "device_id = '" + std::string(kLoose) + "'";
  ASSERT_NO_FATAL_FAILURE(StartBridge());

  // The connect: bound strap, so its patient; Battery1 said 88 %; the clock is 600 s behind.
  ASSERT_TRUE(PollUntil([&] { return Query("SELECT count(*) FROM device_status_latest WHERE " + strap) == 1; }, 15s))
      << bridge_->Stderr();
  EXPECT_EQ(Query("SELECT count(*) FROM device_status_latest WHERE connected AND patient_id = 'pat-0001' AND " + strap),
            1);
  EXPECT_EQ(Query("SELECT battery_percent FROM device_status_latest WHERE " + strap), 88);
  EXPECT_EQ(Query("SELECT count(*) FROM device_status_latest WHERE clock_skew_s BETWEEN -610 AND -590 AND " + strap),
            1);
  EXPECT_EQ(Query("SELECT count(*) FROM gateway_heartbeats WHERE bridge_id = 'bridge-001' AND bridge_version = '0.1.0'"
                  " AND received_at > now() - interval '1 min'"),
            1);

  // Contact detected three times (flags 0x06), lost three times (0x04), then a battery level.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(mock_->Notify(strap_hr_, {0x06, 70}).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(mock_->Notify(strap_hr_, {0x04, 71}).ok());
  ASSERT_TRUE(mock_->Notify(*battery, {55}).ok());
  ASSERT_TRUE(PollUntil(
      [&] {
        return Query(
                   "SELECT count(*) FROM device_status_latest WHERE battery_percent = 55 AND sensor_contact = 3 AND " +
                   strap) == 1;
      },
      15s))
      << bridge_->Stderr();
  EXPECT_EQ(Query("SELECT count(*) FROM device_status_history WHERE sensor_contact = 2 AND " + strap), 1);
  EXPECT_EQ(Query("SELECT count(*) FROM device_status_history WHERE sensor_contact = 3 AND " + strap), 2);

  // The link drops: one disconnected row; it comes back when the strap advertises.
  ASSERT_TRUE(mock_->DropConnection(strap_path).ok());
  ASSERT_TRUE(PollUntil(
      [&] { return Query("SELECT count(*) FROM device_status_latest WHERE NOT connected AND " + strap) == 1; }, 15s))
      << bridge_->Stderr();
  EXPECT_EQ(Query("SELECT count(*) FROM device_status_history WHERE NOT connected AND " + strap), 1);
  EXPECT_EQ(Query("SELECT battery_percent FROM device_status_latest WHERE " + strap), 55);
  ASSERT_TRUE(mock_->Advertise(strap_path, -50).ok());
  ASSERT_TRUE(PollUntil([&] { return StrapSubscriptions() >= 2; }, 15s)) << bridge_->Stderr();

  // The loose strap's statuses are held (it is bound to nobody). Freeze the bridge and copy its
  // outbox (the WAL holds every committed row; a half-written transaction is ignored on open).
  ASSERT_TRUE(PollUntil([&] { return CountLogged("device=" + std::string(kLoose) + " connected=true") > 0; }, 10s))
      << bridge_->Stderr();
  ASSERT_TRUE(bridge_->Signal(SIGSTOP).ok());
  const std::string outbox = work_ + "/outbox.db";
  for (const char* suffix : {"", "-wal"}) {
    std::filesystem::copy_file(outbox + suffix, work_ + "/copy.db" + suffix,
                               std::filesystem::copy_options::overwrite_existing);
  }
  ASSERT_TRUE(bridge_->Signal(SIGCONT).ok());
  {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    tx.exec_params(
        "UPDATE devices SET patient_id = 'pat-0001', bound_at = now() - interval '1 day' WHERE device_id = $1",
        std::string(kLoose));
    tx.exec_params("INSERT INTO device_gateways (device_id, bridge_id) VALUES ($1, 'bridge-001')", std::string(kLoose));
    tx.commit();
  }
  // Bound now: the held statuses go, and every status the bridge made is stored.
  ASSERT_TRUE(PollUntil(
      [&] { return Query("SELECT count(*) FROM device_status_history") == CountLogged("statuses_appended="); }, 15s))
      << Query("SELECT count(*) FROM device_status_history") << "\n"
      << bridge_->Stderr();
  EXPECT_GT(Query("SELECT count(*) FROM device_status_history WHERE patient_id = 'pat-0001' AND " + loose), 0);
  const int64_t first_run = CountLogged("statuses_appended=");

  // kill -9, and the copy put back: a new bridge resends what ingest already stored.
  ASSERT_TRUE(bridge_->Signal(SIGKILL).ok());
  ASSERT_TRUE(bridge_->Wait(10s).ok());
  std::filesystem::remove(outbox + "-shm");
  for (const char* suffix : {"", "-wal"}) {
    std::filesystem::copy_file(work_ + "/copy.db" + suffix, outbox + suffix,
                               std::filesystem::copy_options::overwrite_existing);
  }
  const int64_t resent = PendingRows(/*statuses=*/true);
  ASSERT_GT(resent, 0);
  ASSERT_NO_FATAL_FAILURE(StartBridge());
  ASSERT_TRUE(bridge_->Signal(SIGTERM).ok());
  auto done = bridge_->Wait(30s);
  ASSERT_TRUE(done.ok() && done->exited && done->code == 0) << bridge_->Stderr();
  EXPECT_EQ(PendingRows(/*statuses=*/true), 0) << bridge_->Stdout();
  EXPECT_EQ(Query("SELECT count(*) FROM device_status_history"), first_run + CountLogged("statuses_appended="))
      << "resent " << resent << "\n"
      << bridge_->Stderr();
  EXPECT_EQ(Query("SELECT count(*) FROM (SELECT device_id, observed_at FROM device_status_history"
                  " GROUP BY 1, 2 HAVING count(*) > 1) twice"),
            0);
  EXPECT_EQ(Query("SELECT count(*) FROM device_status_latest"), 2);
}

TEST_F(BridgeRunIntegrationTest, FullDiskRefusesReadingsLoudlyAndTheBridgeResumesWhenSpaceReturns) {
  const std::string disk = work_ + "/disk";
  std::filesystem::create_directories(disk);
  // Needs root, as in CI: without a real ENOSPC this test would prove nothing, so it fails.
  ASSERT_EQ(mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=8m"), 0)
      << "cannot mount a tmpfs (" << std::strerror(errno) << "): run the integration tests as root";
  mounted_ = disk;
  outbox_path_ = disk + "/outbox.db";
  ASSERT_NO_FATAL_FAILURE(StartBridge());
  ASSERT_NO_FATAL_FAILURE(Notify(0, 40));
  ASSERT_TRUE(PollUntil([&] { return Query("SELECT count(*) FROM vitals") == 40; }, 20s)) << bridge_->Stderr();

  {
    std::ofstream ballast(disk + "/ballast", std::ios::binary);
    const std::string block(4096, '\0');
    while (ballast.write(block.data(), static_cast<std::streamsize>(block.size())) && ballast.flush()) {
    }
  }
  const int64_t sum_stored = expected_sum_;
  ASSERT_NO_FATAL_FAILURE(Notify(40, 60));  // a strap keeps no records: these are lost, loudly
  expected_sum_ = sum_stored;
  ASSERT_TRUE(PollUntil([&] { return BridgeLogged("\"bridge.outbox_disk_full\""); }, 10s)) << bridge_->Stderr();
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(bridge_->Running()) << bridge_->Stderr();
  // Loud but rate-limited: a disk full for days must not fill the journal too.
  EXPECT_EQ(CountLogged("\"bridge.outbox_disk_full\""), 1) << bridge_->Stderr();
  EXPECT_EQ(CountLogged("\"bridge.append_failed\""), 1) << bridge_->Stderr();

  ASSERT_TRUE(std::filesystem::remove(disk + "/ballast"));
  ASSERT_NO_FATAL_FAILURE(Notify(60, 100));
  ASSERT_TRUE(PollUntil([&] { return BridgeLogged("appended_total=80 "); }, 15s)) << bridge_->Stderr();
  EXPECT_TRUE(BridgeLogged("\"bridge.outbox_disk_space_returned\"")) << bridge_->Stderr();
  ASSERT_NO_FATAL_FAILURE(StopBridgeAndCheckExactlyOnce(80));
  EXPECT_NE(bridge_->Stdout().find("\"append_failures\":20"), std::string::npos) << bridge_->Stdout();
}

class BridgeRunOutageTest : public BridgeRunIntegrationTest, public ::testing::WithParamInterface<Outage> {};

TEST_P(BridgeRunOutageTest, NotificationsResumeAndNothingIsLostOrDuplicated) {
  ASSERT_NO_FATAL_FAILURE(StartBridge());
  ASSERT_NO_FATAL_FAILURE(Notify(0, kReadings / 2));
  ASSERT_TRUE(PollUntil([&] { return BridgeLogged("appended_total=" + std::to_string(kReadings / 2) + " "); }, 15s))
      << bridge_->Stderr();

  ASSERT_TRUE(mock_->BeginOutage(GetParam()).ok());
  ASSERT_TRUE(PollUntil([&] { return BridgeLogged("org.bluez went away"); }, 10s)) << bridge_->Stderr();
  // BlueZ is away, the bridge still uplinks what its outbox holds.
  ASSERT_TRUE(PollUntil([&] { return Query("SELECT count(*) FROM vitals") == kReadings / 2; }, 20s))
      << bridge_->Stderr();
  ASSERT_TRUE(bridge_->Running()) << bridge_->Stderr();

  switch (GetParam()) {
    case Outage::kBluetoothdRestart:
      ASSERT_TRUE(mock_->RestartMock().ok());
      ASSERT_NO_FATAL_FAILURE(AddWearables());
      break;
    case Outage::kBusRestart:
      ASSERT_TRUE(mock_->RestartDaemon().ok());
      // The straps are added once the bridge is back on the bus, so it sees them announced.
      ASSERT_TRUE(PollUntil([&] { return BridgeLogged("connected to the system bus (connection 2)"); }, 15s))
          << bridge_->Stderr();
      ASSERT_NO_FATAL_FAILURE(AddWearables());
      break;
    case Outage::kNameReleased:
      ASSERT_TRUE(mock_->RequestName().ok());  // the strap is still connected in BlueZ
      break;
  }
  ASSERT_TRUE(PollUntil([&] { return StrapSubscriptions() >= 2; }, 15s)) << bridge_->Stderr();
  ASSERT_NO_FATAL_FAILURE(Notify(kReadings / 2, kReadings));
  ASSERT_NO_FATAL_FAILURE(StopBridgeAndCheckExactlyOnce(kReadings));
}

INSTANTIATE_TEST_SUITE_P(Outages, BridgeRunOutageTest,
                         ::testing::Values(Outage::kBluetoothdRestart, Outage::kBusRestart, Outage::kNameReleased),
                         [](const ::testing::TestParamInfo<Outage>& p) { return OutageName(p.param); });

TEST_F(BridgeRunIntegrationTest, SigintWhileTheBusIsDownExitsZeroAtOnce) {
  ASSERT_NO_FATAL_FAILURE(StartBridge());
  mock_->KillDaemon();
  ASSERT_TRUE(PollUntil([&] { return BridgeLogged("lost the system bus connection"); }, 10s)) << bridge_->Stderr();
  // A reconnect attempt or two has failed: the bridge is in its backoff now.
  ASSERT_TRUE(PollUntil([&] { return BridgeLogged("cannot connect to the system bus"); }, 10s)) << bridge_->Stderr();
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(bridge_->Signal(SIGINT).ok());
  auto done = bridge_->Wait(10s);
  ASSERT_TRUE(done.ok()) << bridge_->Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_TRUE(done->exited && done->code == 0) << done->ToString() << "\n" << bridge_->Stderr();
  EXPECT_EQ(bridge_->Stderr().find("std::terminate"), std::string::npos) << bridge_->Stderr();
  EXPECT_NE(bridge_->Stdout().find("\"bluez_losses\":1"), std::string::npos) << bridge_->Stdout();
}

TEST_F(BridgeRunIntegrationTest, StartsWithoutTheBusAndConnectsWhenItAppears) {
  mock_->KillDaemon();
  ASSERT_NO_FATAL_FAILURE(StartBridge({}, /*wait_subscribed=*/false));
  ASSERT_TRUE(PollUntil([&] { return BridgeLogged("bridge.started"); }, 10s)) << bridge_->Stderr();
  ASSERT_TRUE(mock_->RestartDaemon().ok());
  ASSERT_TRUE(PollUntil([&] { return BridgeLogged("connected to the system bus"); }, 15s)) << bridge_->Stderr();
  ASSERT_NO_FATAL_FAILURE(AddWearables());
  ASSERT_TRUE(PollUntil([&] { return StrapSubscriptions() >= 1; }, 15s)) << bridge_->Stderr();
  ASSERT_NO_FATAL_FAILURE(Notify(0, kReadings / 2));
  ASSERT_NO_FATAL_FAILURE(StopBridgeAndCheckExactlyOnce(kReadings / 2));
}

TEST_F(BridgeRunIntegrationTest, TellsSystemdItIsReadyAndPingsTheWatchdog) {
  testing::NotifySocket notify;
  ASSERT_TRUE(notify.bound());
  ASSERT_NO_FATAL_FAILURE(StartBridge({"NOTIFY_SOCKET=" + notify.path(), "WATCHDOG_USEC=1000000"}));
  std::vector<std::string> got;
  ASSERT_TRUE(PollUntil(
      [&] {
        if (std::string m = notify.Receive(); !m.empty()) got.push_back(m);
        return got.size() >= 3;
      },
      10s));
  EXPECT_EQ(got[0].rfind("READY=1\n", 0), 0u) << got[0];
  EXPECT_EQ(got[1], "WATCHDOG=1");
  EXPECT_EQ(got[2], "WATCHDOG=1");
  ASSERT_TRUE(bridge_->Signal(SIGTERM).ok());
  auto done = bridge_->Wait(30s);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->exited && done->code == 0) << done->ToString();
}

TEST_F(BridgeRunIntegrationTest, BadArgumentsGiveOneLineAndExitTwo) {
  auto bridge = Subprocess::Spawn(kBridgeBin, {"run", "--ingest-addr", ingest_addr_, "--outbox", work_ + "/o.db"});
  ASSERT_TRUE(bridge.ok());
  auto done = (*bridge)->Wait(10s);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->exited && done->code == 2) << done->ToString();
  const std::string err = (*bridge)->Stderr();
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("--pki"), std::string::npos) << err;
}

}  // namespace
}  // namespace healthtwin::ble
