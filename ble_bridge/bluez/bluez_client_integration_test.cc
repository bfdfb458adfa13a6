// BluezClient against a real (private) dbus-daemon and python3-dbusmock's bluez5 template: no
// radio, but every call and signal goes through D-Bus as it would with bluetoothd.
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <vector>

#include "ble_bridge/bluez/bluez_client.h"
#include "ble_bridge/bluez/sdbus_bluez_bus.h"
#include "ble_bridge/bluez/testing/mock_bluez.h"

namespace healthtwin::ble {
namespace {

using healthtwin::testing::PollUntil;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kStrap[] = "AA:BB:CC:DD:EE:01";
constexpr char kCuff[] = "AA:BB:CC:DD:EE:02";

class Collector {
 public:
  void Add(const ReceivedMeasurement& m) {
    std::lock_guard lock(mu_);
    received_.push_back(m);
  }
  std::vector<ReceivedMeasurement> Get() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  size_t size() const { return Get().size(); }

 private:
  mutable std::mutex mu_;
  std::vector<ReceivedMeasurement> received_;
};

class BluezClientIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mock = testing::MockBluez::Start();
    ASSERT_TRUE(mock.ok()) << mock.status();
    mock_ = *std::move(mock);
    auto adapter = mock_->AddAdapter("hci0");
    ASSERT_TRUE(adapter.ok()) << adapter.status();
    hci0_ = *adapter;
  }

  void TearDown() override {
    client_.reset();  // stops the sessions before the bus and the daemon go
    bus_.reset();
    mock_.reset();
  }

  // A device with one notifying characteristic; returns the characteristic's path.
  std::string AddDevice(const std::string& adapter, const std::string& address, uint16_t service, uint16_t ch) {
    // GATT first: the client may connect as soon as the device is announced.
    auto char_path = mock_->AddCharacteristic(testing::MockBluez::DevicePath(adapter, address), 0x0c, service, 0x0d, ch);
    EXPECT_TRUE(char_path.ok()) << char_path.status();
    auto device = mock_->AddDevice(adapter, address, "sensor", {service});
    EXPECT_TRUE(device.ok()) << device.status();
    return char_path.value_or("");
  }

  void StartClient() {
    auto bus = SdbusBluezBus::Create(seconds(5));
    ASSERT_TRUE(bus.ok()) << bus.status();
    bus_ = *std::move(bus);
    BluezClientOptions options;
    options.backoff = BackoffPolicy{.initial = milliseconds(20), .max = milliseconds(200), .multiplier = 2, .jitter = 0.1};
    options.services_resolved_timeout = seconds(3);
    options.now_unix_us = [] { return int64_t{1'790'000'000'000'000}; };
    auto client = BluezClient::Create(*bus_, options, [this](const ReceivedMeasurement& m) { collector_.Add(m); });
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    ASSERT_TRUE(client_->Start().ok());
  }

  bool WaitSubscribed(const std::string& char_path, uint64_t connects) {
    return PollUntil(
        [&] {
          auto notifying = mock_->GetBool(char_path, "org.bluez.GattCharacteristic1", "Notifying");
          return client_->stats().connects >= connects && notifying.ok() && *notifying;
        },
        seconds(10));
  }

  std::unique_ptr<testing::MockBluez> mock_;
  std::string hci0_;
  std::unique_ptr<SdbusBluezBus> bus_;
  std::unique_ptr<BluezClient> client_;
  Collector collector_;
};

TEST_F(BluezClientIntegrationTest, HeartRateNotificationsReachTheSinkDecoded) {
  std::string hr = AddDevice(hci0_, kStrap, 0x180D, 0x2A37);
  StartClient();
  ASSERT_TRUE(WaitSubscribed(hr, 1));
  EXPECT_TRUE(*mock_->GetBool(hci0_, "org.bluez.Adapter1", "Discovering"));

  ASSERT_TRUE(mock_->Notify(hr, {0x00, 72}).ok());
  ASSERT_TRUE(mock_->Notify(hr, {0x01, 0x2C, 0x01}).ok());  // 16-bit format: 300 bpm
  ASSERT_TRUE(PollUntil([&] { return collector_.size() == 2; }, seconds(5)));

  auto got = collector_.Get();
  ASSERT_EQ(got[0].decoded.characteristic, Characteristic::kHeartRateMeasurement);
  EXPECT_EQ(std::get<HeartRateMeasurement>(got[0].decoded.value).heart_rate_bpm, 72);
  EXPECT_EQ(std::get<HeartRateMeasurement>(got[1].decoded.value).heart_rate_bpm, 300);
  EXPECT_EQ(got[0].device_address, kStrap);
  EXPECT_EQ(got[0].adapter_path, hci0_);
  EXPECT_EQ(got[0].received_at_unix_us, 1'790'000'000'000'000);
  EXPECT_FALSE(got[0].device_time.has_value());  // 2A37 carries no time stamp
}

TEST_F(BluezClientIntegrationTest, BloodPressureIndicationDecodedToMmHgWithDeviceTime) {
  std::string bp = AddDevice(hci0_, kCuff, 0x1810, 0x2A35);
  StartClient();
  ASSERT_TRUE(WaitSubscribed(bp, 1));

  // flags: mmHg + time stamp; 120/80 mmHg, MAP 93; 2026-11-21 10:30:00.
  ASSERT_TRUE(mock_->Notify(bp, {0x02, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00, 0xEA, 0x07, 11, 21, 10, 30, 0}).ok());
  ASSERT_TRUE(PollUntil([&] { return collector_.size() == 1; }, seconds(5)));

  auto m = collector_.Get()[0];
  const auto& bpm = std::get<BloodPressureMeasurement>(m.decoded.value);
  EXPECT_EQ(bpm.unit, PressureUnit::kMmHg);
  EXPECT_DOUBLE_EQ(bpm.systolic.value(), 120);
  EXPECT_DOUBLE_EQ(bpm.diastolic.value(), 80);
  ASSERT_TRUE(m.device_time.has_value());
  EXPECT_EQ(m.device_time->ToIso8601(), "2026-11-21T10:30:00");
}

TEST_F(BluezClientIntegrationTest, MalformedPayloadIsCountedAndNotDelivered) {
  std::string hr = AddDevice(hci0_, kStrap, 0x180D, 0x2A37);
  StartClient();
  ASSERT_TRUE(WaitSubscribed(hr, 1));

  ASSERT_TRUE(mock_->Notify(hr, {0x01, 0x48}).ok());  // 16-bit flag with one byte of value
  ASSERT_TRUE(mock_->Notify(hr, {0x00, 61}).ok());
  ASSERT_TRUE(PollUntil([&] { return client_->stats().notifications == 2; }, seconds(5)));
  ASSERT_TRUE(PollUntil([&] { return collector_.size() == 1; }, seconds(5)));

  EXPECT_EQ(client_->stats().rejected, 1u);
  EXPECT_EQ(client_->decoder().rejected(Characteristic::kHeartRateMeasurement), 1u);
  EXPECT_EQ(std::get<HeartRateMeasurement>(collector_.Get()[0].decoded.value).heart_rate_bpm, 61);
}

TEST_F(BluezClientIntegrationTest, ReconnectsWhenTheDeviceAdvertisesAfterADrop) {
  std::string hr = AddDevice(hci0_, kStrap, 0x180D, 0x2A37);
  std::string device = hci0_ + "/dev_AA_BB_CC_DD_EE_01";
  StartClient();
  ASSERT_TRUE(WaitSubscribed(hr, 1));

  ASSERT_TRUE(mock_->DropConnection(device).ok());
  ASSERT_TRUE(PollUntil([&] { return client_->stats().disconnects == 1; }, seconds(5)));
  EXPECT_TRUE(client_->SubscribedDevices().empty());

  ASSERT_TRUE(mock_->Advertise(device, -55).ok());
  ASSERT_TRUE(WaitSubscribed(hr, 2));
  ASSERT_TRUE(mock_->Notify(hr, {0x00, 88}).ok());
  ASSERT_TRUE(PollUntil([&] { return collector_.size() == 1; }, seconds(5)));
  EXPECT_EQ(std::get<HeartRateMeasurement>(collector_.Get()[0].decoded.value).heart_rate_bpm, 88);
}

TEST_F(BluezClientIntegrationTest, ReconnectsWhenARemovedDeviceReappears) {
  std::string hr = AddDevice(hci0_, kStrap, 0x180D, 0x2A37);
  std::string device = hci0_ + "/dev_AA_BB_CC_DD_EE_01";
  StartClient();
  ASSERT_TRUE(WaitSubscribed(hr, 1));

  ASSERT_TRUE(mock_->RemoveDevice(device).ok());
  ASSERT_TRUE(PollUntil([&] { return client_->stats().disconnects == 1; }, seconds(5)));
  ASSERT_TRUE(mock_->AddDevice(hci0_, kStrap, "sensor", {0x180D}).ok());
  ASSERT_TRUE(PollUntil([&] { return client_->stats().connects == 2; }, seconds(10)));

  ASSERT_TRUE(mock_->Notify(hr, {0x00, 90}).ok());
  ASSERT_TRUE(PollUntil([&] { return collector_.size() == 1; }, seconds(5)));
}

TEST_F(BluezClientIntegrationTest, RetriesConnectOnInProgressAndAbort) {
  std::string hr = AddDevice(hci0_, kStrap, 0x180D, 0x2A37);
  std::string device = hci0_ + "/dev_AA_BB_CC_DD_EE_01";
  ASSERT_TRUE(mock_->FailNextConnects(device, 2, "org.bluez.Error.InProgress").ok());
  StartClient();
  ASSERT_TRUE(WaitSubscribed(hr, 1));
  EXPECT_EQ(client_->stats().connect_attempts, 3u);
  EXPECT_EQ(client_->stats().connect_retries, 2u);

  ASSERT_TRUE(mock_->FailNextConnects(device, 1, "org.bluez.Error.Failed").ok());  // "le-connection-abort-by-local"
  ASSERT_TRUE(mock_->DropConnection(device).ok());
  ASSERT_TRUE(PollUntil([&] { return client_->stats().disconnects == 1; }, seconds(5)));
  ASSERT_TRUE(mock_->Advertise(device, -50).ok());
  ASSERT_TRUE(WaitSubscribed(hr, 2));
  EXPECT_EQ(client_->stats().connect_attempts, 5u);
}

TEST_F(BluezClientIntegrationTest, ServesDevicesOnTwoAdaptersAtOnce) {
  auto hci1 = mock_->AddAdapter("hci1");
  ASSERT_TRUE(hci1.ok()) << hci1.status();
  std::string hr = AddDevice(hci0_, kStrap, 0x180D, 0x2A37);
  StartClient();
  ASSERT_TRUE(WaitSubscribed(hr, 1));
  // The cuff shows up while the client runs, on the second adapter.
  std::string bp = AddDevice(*hci1, kCuff, 0x1810, 0x2A35);
  ASSERT_TRUE(WaitSubscribed(bp, 2));

  ASSERT_TRUE(mock_->Notify(hr, {0x00, 70}).ok());
  ASSERT_TRUE(mock_->Notify(bp, {0x00, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00}).ok());
  ASSERT_TRUE(PollUntil([&] { return collector_.size() == 2; }, seconds(5)));
  std::vector<std::string> adapters;
  for (const auto& m : collector_.Get()) adapters.push_back(m.adapter_path);
  EXPECT_NE(adapters[0], adapters[1]);
}

TEST_F(BluezClientIntegrationTest, IgnoresDevicesWithoutAHealthService) {
  auto other = mock_->AddDevice(hci0_, "AA:BB:CC:DD:EE:09", "headphones", {0x110B});
  ASSERT_TRUE(other.ok());
  StartClient();
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(client_->stats().connect_attempts, 0u);
}

}  // namespace
}  // namespace healthtwin::ble
