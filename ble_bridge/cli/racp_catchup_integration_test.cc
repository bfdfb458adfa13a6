// RACP catch-up across a bridge restart, through the real pieces of `healthtwin-bridge run`:
// BluezClient on a private dbus-daemon + dbusmock (a simulated glucose meter that answers RACP
// requests from its record store), Recorder and a SQLite outbox file. The cursor lives in the
// outbox, so the second "bridge" asks only for what the first did not store. The same holds
// when BlueZ or the bus goes away under a running bridge (bluetoothd killed and restarted, the
// dbus-daemon killed and restarted, org.bluez released and taken again): the bridge subscribes
// again and asks for what the meter stored meanwhile, from the stored cursor.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "ble_bridge/bluez/bluez_client.h"
#include "ble_bridge/bluez/sdbus_bluez_bus.h"
#include "ble_bridge/bluez/testing/mock_bluez.h"
#include "ble_bridge/cli/recorder.h"
#include "ble_bridge/outbox/outbox.h"

namespace healthtwin::ble {
namespace {

using healthtwin::testing::PollUntil;
using std::chrono::seconds;
using testing::MockBluez;
using testing::Outage;
using testing::OutageName;

constexpr char kMeter[] = "AA:BB:CC:DD:EE:03";

// 2A18, concentration in kg/L (SFLOAT mantissa mg_dl, exponent -5, i.e. mg/dL), base time
// 2026-11-20 08:00:00 + seq minutes.
std::vector<uint8_t> Glucose(uint16_t seq, uint8_t mg_dl) {
  return {0x02, static_cast<uint8_t>(seq & 0xFF), static_cast<uint8_t>(seq >> 8), 0xEA, 0x07, 11, 20, 8,
          static_cast<uint8_t>(seq), 0, mg_dl, 0xB0, 0x11};
}

// One run of the bridge's BLE side: bus, client, recorder over an outbox file.
class Bridge {
 public:
  static std::unique_ptr<Bridge> Start(const std::string& outbox_path) {
    SdbusBusOptions bus_options{.call_timeout = seconds(5),
                                .reconnect = {.initial = std::chrono::milliseconds(50),
                                              .max = std::chrono::milliseconds(500)}};
    return Start(outbox_path, bus_options);
  }
  static std::unique_ptr<Bridge> Start(const std::string& outbox_path, const SdbusBusOptions& bus_options) {
    auto b = std::make_unique<Bridge>();
    auto outbox = Outbox::Open(outbox_path);
    EXPECT_TRUE(outbox.ok()) << outbox.status();
    b->outbox = *std::move(outbox);
    b->recorder = std::make_unique<Recorder>(*b->outbox);
    auto bus = SdbusBluezBus::Create(bus_options);
    EXPECT_TRUE(bus.ok()) << bus.status();
    b->bus = *std::move(bus);
    BluezClientOptions o;
    o.racp_timeout = seconds(5);
    Recorder* rec = b->recorder.get();
    o.last_record_seq = [rec](const std::string& a, Characteristic c) { return rec->LastRecordSeq(a, c); };
    Bridge* self = b.get();
    o.on_device_report = [self](const DeviceReport& r) {
      self->recorder->OnDeviceReport(r);
      std::lock_guard lock(self->mu);
      self->reports.push_back(r);
    };
    auto client = BluezClient::Create(*b->bus, o, [rec](const ReceivedMeasurement& m) { (void)rec->Record(m); });
    EXPECT_TRUE(client.ok()) << client.status();
    b->client = *std::move(client);
    EXPECT_TRUE(b->client->Start().ok());
    return b;
  }
  std::optional<DeviceReport> Report(size_t i = 0) {
    std::lock_guard lock(mu);
    if (reports.size() <= i) return std::nullopt;
    return reports[i];
  }
  ~Bridge() {
    client.reset();
    bus.reset();
  }

  std::unique_ptr<Outbox> outbox;
  std::unique_ptr<Recorder> recorder;
  std::unique_ptr<SdbusBluezBus> bus;
  std::unique_ptr<BluezClient> client;
  std::mutex mu;
  std::vector<DeviceReport> reports;
};

// sequence number -> times stored (device status rows, one per connection, are not records)
std::map<uint64_t, int> StoredSequences(Outbox& outbox) {
  std::map<uint64_t, int> out;
  auto rows = outbox.ReadAfter(0, 1000);
  EXPECT_TRUE(rows.ok()) << rows.status();
  for (const auto& r : *rows) {
    if (r.is_status()) continue;
    EXPECT_EQ(r.measurement.type, common::VitalType::kGlucose);
    ++out[r.measurement.device_record_seq];
  }
  return out;
}

TEST(RacpCatchUpIntegrationTest, RestartedBridgeRequestsOnlyNewRecordsAndStoresNoneTwice) {
  auto mock = MockBluez::Start();
  ASSERT_TRUE(mock.ok()) << mock.status();
  auto adapter = (*mock)->AddAdapter("hci0");
  ASSERT_TRUE(adapter.ok());
  const std::string path = MockBluez::DevicePath(*adapter, kMeter);
  auto glucose = (*mock)->AddCharacteristic(path, 0x10, 0x1808, 0x11, 0x2A18, {"notify"}, {});
  auto racp = (*mock)->AddCharacteristic(path, 0x10, 0x1808, 0x13, 0x2A52, {"write", "indicate"}, {});
  ASSERT_TRUE(glucose.ok() && racp.ok());
  ASSERT_TRUE((*mock)->MakeRecordStore(*racp, *glucose).ok());
  for (uint16_t seq = 1; seq <= 5; ++seq) ASSERT_TRUE((*mock)->AddStoredRecord(*racp, seq, Glucose(seq, 100 + seq)).ok());
  ASSERT_TRUE((*mock)->AddDevice(*adapter, kMeter, "glucose meter", {0x1808}).ok());

  const std::string dir = ::testing::TempDir() + "/racp_catchup_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  const std::string outbox_path = dir + "/outbox.db";

  {
    auto bridge = Bridge::Start(outbox_path);
    ASSERT_TRUE(PollUntil([&] { return bridge->Report().has_value(); }, seconds(10)));
    EXPECT_EQ(bridge->Report()->racp, RacpOutcome::kSuccess) << bridge->Report()->racp_detail;
    EXPECT_FALSE(bridge->Report()->racp_from_sequence.has_value());  // a new device: all records
    EXPECT_EQ(StoredSequences(*bridge->outbox), (std::map<uint64_t, int>{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}}));
    EXPECT_EQ(bridge->recorder->LastRecordSeq(kMeter, Characteristic::kGlucoseMeasurement), std::optional<uint16_t>(5));
  }  // the bridge stops; its link drops with it
  ASSERT_TRUE((*mock)->DropConnection(path).ok());
  for (uint16_t seq = 6; seq <= 8; ++seq) ASSERT_TRUE((*mock)->AddStoredRecord(*racp, seq, Glucose(seq, 100 + seq)).ok());

  {
    auto bridge = Bridge::Start(outbox_path);
    ASSERT_TRUE(PollUntil([&] { return bridge->Report().has_value(); }, seconds(10)));
    EXPECT_EQ(bridge->Report()->racp, RacpOutcome::kSuccess) << bridge->Report()->racp_detail;
    EXPECT_EQ(bridge->Report()->racp_from_sequence, std::optional<uint16_t>(6));
    EXPECT_EQ(StoredSequences(*bridge->outbox),
              (std::map<uint64_t, int>{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}, {7, 1}, {8, 1}}));
    auto rows = bridge->outbox->ReadAfter(0, 1000);
    ASSERT_TRUE(rows.ok());
    std::erase_if(*rows, [](const OutboxRow& r) { return r.is_status(); });
    EXPECT_DOUBLE_EQ(rows->back().measurement.value, 108);  // mg/dL
    EXPECT_EQ(bridge->recorder->LastRecordSeq(kMeter, Characteristic::kGlucoseMeasurement), std::optional<uint16_t>(8));
    // The device book kept what the connection learnt.
    auto book = Recorder::LoadDevices(*bridge->outbox);
    ASSERT_TRUE(book.contains(kMeter)) << book.dump();
    EXPECT_EQ(book[kMeter]["racp"]["outcome"], "success");
    EXPECT_EQ(book[kMeter]["racp"]["from_sequence"], 6);
    EXPECT_EQ(book[kMeter]["name"], "glucose meter");
  }
  auto writes = (*mock)->Writes(*racp);
  ASSERT_TRUE(writes.ok());
  ASSERT_EQ(writes->size(), 2u);
  EXPECT_EQ((*writes)[0], (std::vector<uint8_t>{0x01, 0x01}));                    // all records
  EXPECT_EQ((*writes)[1], (std::vector<uint8_t>{0x01, 0x03, 0x01, 0x06, 0x00}));  // >= 6 only
  std::filesystem::remove_all(dir);
}

// A glucose meter with a record store holding records [1, last]; returns the RACP path.
std::string AddMeter(MockBluez& mock, uint16_t last) {
  auto adapter = mock.AddAdapter("hci0");
  EXPECT_TRUE(adapter.ok()) << adapter.status();
  const std::string path = MockBluez::DevicePath(adapter.value_or(""), kMeter);
  auto glucose = mock.AddCharacteristic(path, 0x10, 0x1808, 0x11, 0x2A18, {"notify"}, {});
  auto racp = mock.AddCharacteristic(path, 0x10, 0x1808, 0x13, 0x2A52, {"write", "indicate"}, {});
  EXPECT_TRUE(glucose.ok() && racp.ok());
  EXPECT_TRUE(mock.MakeRecordStore(racp.value_or(""), glucose.value_or("")).ok());
  for (uint16_t seq = 1; seq <= last; ++seq) {
    EXPECT_TRUE(mock.AddStoredRecord(racp.value_or(""), seq, Glucose(seq, static_cast<uint8_t>(100 + seq))).ok());
  }
  EXPECT_TRUE(mock.AddDevice(adapter.value_or(""), kMeter, "glucose meter", {0x1808}).ok());
  return racp.value_or("");
}

class RacpAcrossOutageTest : public ::testing::TestWithParam<Outage> {};

TEST_P(RacpAcrossOutageTest, ResubscribesAndFetchesWhatTheMeterStoredMeanwhileOnce) {
  auto mock = MockBluez::Start();
  ASSERT_TRUE(mock.ok()) << mock.status();
  std::string racp = AddMeter(**mock, 5);
  const std::string dir = ::testing::TempDir() + "/racp_outage_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  auto bridge = Bridge::Start(dir + "/outbox.db");
  ASSERT_TRUE(PollUntil([&] { return bridge->Report().has_value(); }, seconds(10)));
  ASSERT_EQ(bridge->Report()->racp, RacpOutcome::kSuccess) << bridge->Report()->racp_detail;
  ASSERT_EQ(StoredSequences(*bridge->outbox).size(), 5u);

  ASSERT_TRUE((*mock)->BeginOutage(GetParam()).ok());
  ASSERT_TRUE(PollUntil([&] { return bridge->client->stats().bluez_losses == 1; }, seconds(10)));
  switch (GetParam()) {
    case Outage::kBluetoothdRestart:
      ASSERT_TRUE((*mock)->RestartMock().ok());
      racp = AddMeter(**mock, 8);  // the meter kept its records and took three more
      break;
    case Outage::kBusRestart:
      ASSERT_TRUE((*mock)->RestartDaemon().ok());
      ASSERT_TRUE(PollUntil([&] { return bridge->bus->connections() >= 2; }, seconds(10)));
      racp = AddMeter(**mock, 8);
      break;
    case Outage::kNameReleased:
      for (uint16_t seq = 6; seq <= 8; ++seq) ASSERT_TRUE((*mock)->AddStoredRecord(racp, seq, Glucose(seq, 100 + seq)).ok());
      ASSERT_TRUE((*mock)->RequestName().ok());
      break;
  }

  ASSERT_TRUE(PollUntil([&] { return bridge->Report(1).has_value(); }, seconds(15)));
  EXPECT_EQ(bridge->Report(1)->racp, RacpOutcome::kSuccess) << bridge->Report(1)->racp_detail;
  EXPECT_EQ(bridge->Report(1)->racp_from_sequence, std::optional<uint16_t>(6));
  ASSERT_TRUE(PollUntil([&] { return StoredSequences(*bridge->outbox).size() == 8; }, seconds(5)));
  EXPECT_EQ(StoredSequences(*bridge->outbox),
            (std::map<uint64_t, int>{{1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, 1}, {7, 1}, {8, 1}}));
  EXPECT_GE(bridge->client->stats().enumerations, 2u);
  auto writes = (*mock)->Writes(racp);
  ASSERT_TRUE(writes.ok()) << writes.status();
  ASSERT_FALSE(writes->empty());
  EXPECT_EQ(writes->back(), (std::vector<uint8_t>{0x01, 0x03, 0x01, 0x06, 0x00}));  // >= 6 only
  bridge.reset();
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Outages, RacpAcrossOutageTest,
                         ::testing::Values(Outage::kBluetoothdRestart, Outage::kBusRestart, Outage::kNameReleased),
                         [](const ::testing::TestParamInfo<Outage>& p) { return OutageName(p.param); });

}  // namespace
}  // namespace healthtwin::ble
