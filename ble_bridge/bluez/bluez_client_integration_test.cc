// BluezClient against a real (private) dbus-daemon and python3-dbusmock's bluez5 template: no
// radio, but every call and signal goes through D-Bus as it would with bluetoothd.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>
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

// The real bus, except that the first GetManagedObjects answer (the client's first enumeration)
// is held back until Release(): an enumeration that reaches the client late, as under load.
class HoldingBus : public BluezBus {
 public:
  explicit HoldingBus(BluezBus& bus) : bus_(bus) {}
  bool WaitHeld(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return held_; });
  }
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }

  absl::Status Subscribe(BusSignalHandlers handlers) override { return bus_.Subscribe(std::move(handlers)); }
  void Unsubscribe() override { bus_.Unsubscribe(); }
  BluezPresence Presence() const override { return bus_.Presence(); }
  absl::StatusOr<ManagedObjects> GetManagedObjects() override {
    absl::StatusOr<ManagedObjects> objects = bus_.GetManagedObjects();
    std::unique_lock lock(mu_);
    if (!held_) {
      held_ = true;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    }
    return objects;
  }
  absl::Status SetProperty(const std::string& path, const std::string& iface, const std::string& name,
                           const sdbus::Variant& value) override {
    return bus_.SetProperty(path, iface, name, value);
  }
  absl::Status Call(const std::string& path, const std::string& iface, const std::string& method,
                    const std::optional<PropertyMap>& options) override {
    return bus_.Call(path, iface, method, options);
  }
  absl::Status CallWithTimeout(const std::string& path, const std::string& iface, const std::string& method,
                               std::chrono::milliseconds timeout) override {
    return bus_.CallWithTimeout(path, iface, method, timeout);
  }
  absl::StatusOr<std::vector<uint8_t>> ReadValue(const std::string& characteristic_path) override {
    return bus_.ReadValue(characteristic_path);
  }
  absl::Status WriteValue(const std::string& characteristic_path, const std::vector<uint8_t>& value,
                          const PropertyMap& options) override {
    return bus_.WriteValue(characteristic_path, value, options);
  }

 private:
  BluezBus& bus_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool released_ = false;
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
    if (holding_) holding_->Release();
    client_.reset();  // stops the sessions before the bus and the daemon go
    holding_.reset();
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

  void StartClient() { StartClient(BluezClientOptions{}); }
  // With hold_first_enumeration, the client talks to the bus through holding_.
  void StartClient(BluezClientOptions options, bool hold_first_enumeration = false) {
    auto bus = SdbusBluezBus::Create(seconds(5));
    ASSERT_TRUE(bus.ok()) << bus.status();
    bus_ = *std::move(bus);
    BluezBus* client_bus = bus_.get();
    if (hold_first_enumeration) {
      holding_ = std::make_unique<HoldingBus>(*bus_);
      client_bus = holding_.get();
    }
    options.on_device_report = [this](const DeviceReport& r) {
      std::lock_guard lock(reports_mu_);
      reports_.push_back(r);
    };
    options.backoff = BackoffPolicy{.initial = milliseconds(20), .max = milliseconds(200), .multiplier = 2, .jitter = 0.1};
    options.services_resolved_timeout = seconds(3);
    if (!options.now_unix_us) options.now_unix_us = [] { return int64_t{1'790'000'000'000'000}; };
    auto client =
        BluezClient::Create(*client_bus, options, [this](const ReceivedMeasurement& m) { collector_.Add(m); });
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

  // kStrap on hci0 with a heart rate characteristic, the client started and the strap subscribed;
  // sets strap_hr_ and strap_ (the characteristic and device paths).
  void StartWithSubscribedStrap() {
    strap_hr_ = AddDevice(hci0_, kStrap, 0x180D, 0x2A37);
    strap_ = hci0_ + "/dev_AA_BB_CC_DD_EE_01";
    StartClient();
    ASSERT_TRUE(WaitSubscribed(strap_hr_, 1));
  }

  std::vector<DeviceReport> Reports() {
    std::lock_guard lock(reports_mu_);
    return reports_;
  }
  bool WaitReports(size_t n) {
    return PollUntil([&] { return Reports().size() >= n; }, seconds(10));
  }

  std::mutex reports_mu_;
  std::vector<DeviceReport> reports_;
  std::unique_ptr<testing::MockBluez> mock_;
  std::string hci0_;
  std::string strap_hr_, strap_;
  std::unique_ptr<SdbusBluezBus> bus_;
  std::unique_ptr<HoldingBus> holding_;
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

// The hour soak: BlueZ came back, the client asked for its objects (the strap, not connected),
// and before that answer was applied the strap had been connected and subscribed from signals;
// the old Connected=false then ended the subscription and the strap went unheard.
TEST_F(BluezClientIntegrationTest, LateEnumerationDoesNotEndASubscriptionLearntSince) {
  std::string hr = AddDevice(hci0_, kStrap, 0x180D, 0x2A37);
  std::string device = hci0_ + "/dev_AA_BB_CC_DD_EE_01";
  BluezClientOptions options;
  // Known by an RSSI change alone (no UUIDs in it), so the session starts from a signal.
  options.accept_device = [](const std::string&, const std::vector<std::string>&) { return true; };
  StartClient(options, /*hold_first_enumeration=*/true);
  ASSERT_TRUE(holding_->WaitHeld(seconds(10)));  // read: the strap with Connected=false
  ASSERT_TRUE(mock_->Advertise(device, -50).ok());
  ASSERT_TRUE(WaitSubscribed(hr, 1));
  holding_->Release();
  ASSERT_TRUE(PollUntil([&] { return client_->stats().enumerations == 1; }, seconds(5)));

  std::this_thread::sleep_for(milliseconds(500));  // time for a wrong disconnect to show
  EXPECT_EQ(client_->stats().disconnects, 0u);
  EXPECT_EQ(client_->stats().connects, 1u);
  EXPECT_EQ(client_->SubscribedDevices(), std::vector<std::string>{kStrap});
  ASSERT_TRUE(mock_->Notify(hr, {0x00, 79}).ok());
  ASSERT_TRUE(PollUntil([&] { return collector_.size() == 1; }, seconds(5)));
  EXPECT_EQ(std::get<HeartRateMeasurement>(collector_.Get()[0].decoded.value).heart_rate_bpm, 79);
}

// bluetoothd announces an object once until it removes it; an announcement handled again (late)
// carries the Connected=false of its creation and must not end the connection held since.
TEST_F(BluezClientIntegrationTest, RepeatedAnnouncementKeepsTheConnection) {
  ASSERT_NO_FATAL_FAILURE(StartWithSubscribedStrap());
  ASSERT_TRUE(mock_->EmitStaleAnnouncement(strap_).ok());
  // Signals are handled in order: once this value is delivered, the announcement was handled.
  ASSERT_TRUE(mock_->Notify(strap_hr_, {0x00, 70}).ok());
  ASSERT_TRUE(PollUntil([&] { return collector_.size() == 1; }, seconds(5)));
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(client_->stats().disconnects, 0u);
  EXPECT_EQ(client_->SubscribedDevices(), std::vector<std::string>{kStrap});
  ASSERT_TRUE(mock_->Notify(strap_hr_, {0x00, 71}).ok());
  ASSERT_TRUE(PollUntil([&] { return collector_.size() == 2; }, seconds(5)));
}

// A connected peripheral does not advertise: when the client was told of a disconnect that BlueZ
// does not have, it must find the link still up and subscribe again without waiting for one
// (nor for services_resolved_timeout, 3 s here, on a ServicesResolved that never changes).
TEST_F(BluezClientIntegrationTest, StillConnectedDeviceIsSubscribedAgainWithoutAnAdvertisement) {
  ASSERT_NO_FATAL_FAILURE(StartWithSubscribedStrap());
  ASSERT_TRUE(mock_->EmitStaleDisconnect(strap_).ok());
  ASSERT_TRUE(PollUntil([&] { return client_->stats().disconnects == 1; }, seconds(5)));
  ASSERT_TRUE(PollUntil([&] { return client_->stats().connects == 2; }, seconds(2)));
  EXPECT_EQ(client_->stats().connect_attempts, 1u);  // no Connect: BlueZ held the link
  ASSERT_TRUE(mock_->Notify(strap_hr_, {0x00, 72}).ok());
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
  // Once the first enumeration is done the client has decided about every device it read, and
  // a session for an accepted one has begun.
  ASSERT_TRUE(PollUntil([&] { return client_->stats().enumerations >= 1; }, seconds(5)));
  EXPECT_EQ(client_->stats().sessions_started, 0u);
  EXPECT_EQ(client_->stats().connect_attempts, 0u);
}

std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

// 2A18 with a sequence number and a concentration in kg/L: flags 0x02 (concentration, type and
// location present), sequence, base time 2026-11-20 08:00:00, SFLOAT mantissa `mg_dl`, exponent -5
// (kg/L), type/location 0x11 (capillary whole blood, finger).
std::vector<uint8_t> Glucose(uint16_t seq, uint8_t mg_dl) {
  return {0x02, static_cast<uint8_t>(seq & 0xFF), static_cast<uint8_t>(seq >> 8), 0xEA, 0x07, 11, 20, 8, 0, 0,
          mg_dl, 0xB0, 0x11};
}

TEST_F(BluezClientIntegrationTest, ReadsBatteryAndDeviceInformationOnConnect) {
  const std::string path = testing::MockBluez::DevicePath(hci0_, kCuff);
  const std::vector<std::string> read = {"read"};
  std::string bp = AddDevice(hci0_, kCuff, 0x1810, 0x2A35);
  ASSERT_TRUE(mock_->AddCharacteristic(path, 0x20, 0x180A, 0x21, 0x2A29, read, Bytes("Omron")).ok());
  ASSERT_TRUE(mock_->AddCharacteristic(path, 0x20, 0x180A, 0x23, 0x2A24, read, Bytes("M7 Intelli")).ok());
  ASSERT_TRUE(mock_->AddCharacteristic(path, 0x20, 0x180A, 0x25, 0x2A25, read, Bytes("SN-0042")).ok());
  ASSERT_TRUE(mock_->AddCharacteristic(path, 0x20, 0x180A, 0x27, 0x2A26, read, Bytes("1.2.3\0\0")).ok());
  ASSERT_TRUE(mock_->AddCharacteristic(path, 0x30, 0x180F, 0x31, 0x2A19, {"read", "notify"}, {77}).ok());
  StartClient();
  ASSERT_TRUE(WaitReports(1));
  const DeviceReport r = Reports()[0];
  EXPECT_EQ(r.device_address, kCuff);
  EXPECT_EQ(r.name, std::optional<std::string>("sensor"));
  EXPECT_EQ(r.manufacturer, std::optional<std::string>("Omron"));
  EXPECT_EQ(r.model, std::optional<std::string>("M7 Intelli"));
  EXPECT_EQ(r.serial, std::optional<std::string>("SN-0042"));
  EXPECT_EQ(r.firmware, std::optional<std::string>("1.2.3"));  // NUL padding removed
  EXPECT_EQ(r.battery_percent, std::optional<uint8_t>(77));
  EXPECT_EQ(r.battery_source, "2A19");
  EXPECT_EQ(r.racp, RacpOutcome::kNotSupported);
  EXPECT_FALSE(r.clock_skew_us.has_value());
  EXPECT_FALSE(r.time_written);
  (void)bp;
}

TEST_F(BluezClientIntegrationTest, PrefersBatteryServiceOfBluezAndSkipsUnreadableValues) {
  const std::string path = testing::MockBluez::DevicePath(hci0_, kStrap);
  ASSERT_TRUE(mock_->AddCharacteristic(path, 0x30, 0x180F, 0x31, 0x2A19, {"notify"}, {10}).ok());
  ASSERT_TRUE(mock_->AddCharacteristic(path, 0x20, 0x180A, 0x21, 0x2A29, {"notify"}, Bytes("X")).ok());
  std::string hr = AddDevice(hci0_, kStrap, 0x180D, 0x2A37);
  ASSERT_TRUE(mock_->AddBattery(path, 64).ok());
  StartClient();
  ASSERT_TRUE(WaitReports(1));
  const DeviceReport r = Reports()[0];
  EXPECT_EQ(r.battery_percent, std::optional<uint8_t>(64));
  EXPECT_EQ(r.battery_source, "org.bluez.Battery1");
  EXPECT_FALSE(r.manufacturer.has_value());  // no "read" flag: not read
  (void)hr;
}

TEST_F(BluezClientIntegrationTest, ReportsDisconnectsAndBattery1LevelChanges) {
  const std::string path = testing::MockBluez::DevicePath(hci0_, kStrap);
  std::string hr = AddDevice(hci0_, kStrap, 0x180D, 0x2A37);
  ASSERT_TRUE(mock_->AddBattery(path, 64).ok());
  std::mutex mu;
  std::vector<std::string> events;
  BluezClientOptions options;
  options.on_disconnect = [&](const std::string& address, int64_t at_us) {
    std::lock_guard lock(mu);
    events.push_back("disconnect " + address + " " + std::to_string(at_us));
  };
  options.on_battery_level = [&](const std::string& address, uint8_t percent, int64_t at_us) {
    std::lock_guard lock(mu);
    events.push_back("battery " + address + " " + std::to_string(percent) + " " + std::to_string(at_us));
  };
  auto seen = [&] {
    std::lock_guard lock(mu);
    return events;
  };
  StartClient(options);
  ASSERT_TRUE(WaitSubscribed(hr, 1));
  ASSERT_TRUE(mock_->SetBattery(path, 63).ok());
  ASSERT_TRUE(PollUntil([&] { return seen().size() == 1; }, seconds(5)));
  EXPECT_EQ(seen()[0], "battery AA:BB:CC:DD:EE:01 63 1790000000000000");
  ASSERT_TRUE(mock_->DropConnection(path).ok());
  ASSERT_TRUE(PollUntil([&] { return seen().size() == 2; }, seconds(5)));
  EXPECT_EQ(seen()[1], "disconnect AA:BB:CC:DD:EE:01 1790000000000000");
  // Stopping the client is not a disconnect of the device.
  ASSERT_TRUE(mock_->Advertise(path, -50).ok());
  ASSERT_TRUE(WaitSubscribed(hr, 2));
  client_.reset();
  EXPECT_EQ(seen().size(), 2u);
}

TEST_F(BluezClientIntegrationTest, MeasuresClockSkewAndWritesCurrentTimeOnce) {
  const std::string path = testing::MockBluez::DevicePath(hci0_, kCuff);
  std::string bp = AddDevice(hci0_, kCuff, 0x1810, 0x2A35);
  // The gateway clock: 2026-09-21 local time; the cuff thinks it is 2026-09-21 minus 1 h 30 s.
  const int64_t now_us = 1'790'000'000'000'000;
  const std::time_t now_s = now_us / 1'000'000;
  const std::time_t device_s = now_s - 3630;
  std::tm tm{};
  localtime_r(&device_s, &tm);
  std::vector<uint8_t> device_time = {static_cast<uint8_t>((tm.tm_year + 1900) & 0xFF),
                                      static_cast<uint8_t>((tm.tm_year + 1900) >> 8),
                                      static_cast<uint8_t>(tm.tm_mon + 1), static_cast<uint8_t>(tm.tm_mday),
                                      static_cast<uint8_t>(tm.tm_hour), static_cast<uint8_t>(tm.tm_min),
                                      static_cast<uint8_t>(tm.tm_sec), 0, 0, 0};
  auto cts = mock_->AddCharacteristic(path, 0x40, 0x1805, 0x41, 0x2A2B, {"read", "write", "notify"}, device_time);
  ASSERT_TRUE(cts.ok());
  BluezClientOptions options;
  options.now_unix_us = [now_us] { return now_us; };
  StartClient(options);
  ASSERT_TRUE(WaitReports(1));
  const DeviceReport r = Reports()[0];
  ASSERT_TRUE(r.clock_skew_us.has_value());
  EXPECT_EQ(*r.clock_skew_us, -3'630'000'000);
  EXPECT_TRUE(r.time_written);
  auto writes = mock_->Writes(*cts);
  ASSERT_TRUE(writes.ok()) << writes.status();
  ASSERT_EQ(writes->size(), 1u);
  auto written = ParseCurrentTime((*writes)[0]);
  ASSERT_TRUE(written.ok()) << written.status();
  std::tm want{};
  localtime_r(&now_s, &want);
  EXPECT_EQ(written->date_time.year, want.tm_year + 1900);
  EXPECT_EQ(written->date_time.hours, want.tm_hour);
  EXPECT_EQ(written->date_time.minutes, want.tm_min);
  EXPECT_EQ(written->date_time.seconds, want.tm_sec);
  EXPECT_EQ(written->adjust_reason, kAdjustExternalReference);
  EXPECT_EQ(client_->stats().time_writes, 1u);
  (void)bp;
}

TEST_F(BluezClientIntegrationTest, DoesNotWriteCurrentTimeWhenTheDeviceDoesNotAllowIt) {
  const std::string path = testing::MockBluez::DevicePath(hci0_, kCuff);
  auto cts = mock_->AddCharacteristic(path, 0x40, 0x1805, 0x41, 0x2A2B, {"read", "notify"},
                                      {0xEA, 0x07, 11, 21, 10, 30, 0, 6, 0, 0});
  ASSERT_TRUE(cts.ok());
  std::string bp = AddDevice(hci0_, kCuff, 0x1810, 0x2A35);
  StartClient();
  ASSERT_TRUE(WaitReports(1));
  EXPECT_FALSE(Reports()[0].time_written);
  EXPECT_TRUE(Reports()[0].clock_skew_us.has_value());
  EXPECT_TRUE(mock_->Writes(*cts)->empty());
  (void)bp;
}

class RacpMeter {
 public:
  // A glucose meter: 2A18 (notify) and a RACP (write, indicate) serving stored records.
  static RacpMeter Add(testing::MockBluez& mock, const std::string& adapter, const std::string& address) {
    RacpMeter m;
    const std::string path = testing::MockBluez::DevicePath(adapter, address);
    m.glucose = *mock.AddCharacteristic(path, 0x10, 0x1808, 0x11, 0x2A18, {"notify"}, {});
    m.racp = *mock.AddCharacteristic(path, 0x10, 0x1808, 0x13, 0x2A52, {"write", "indicate"}, {});
    EXPECT_TRUE(mock.MakeRecordStore(m.racp, m.glucose).ok());
    return m;
  }
  std::string glucose, racp;
};

TEST_F(BluezClientIntegrationTest, RacpFetchesStoredRecordsAfterTheLastSequenceSeen) {
  static constexpr char kMeter[] = "AA:BB:CC:DD:EE:03";
  RacpMeter meter = RacpMeter::Add(*mock_, hci0_, kMeter);
  for (uint16_t seq = 1; seq <= 5; ++seq) ASSERT_TRUE(mock_->AddStoredRecord(meter.racp, seq, Glucose(seq, 90 + seq)).ok());
  ASSERT_TRUE(mock_->AddDevice(hci0_, kMeter, "meter", {0x1808}).ok());
  BluezClientOptions options;
  options.racp_timeout = seconds(5);
  options.last_record_seq = [](const std::string& address, Characteristic c) -> std::optional<uint16_t> {
    EXPECT_EQ(c, Characteristic::kGlucoseMeasurement);
    return address == kMeter ? std::optional<uint16_t>(3) : std::nullopt;
  };
  StartClient(options);
  ASSERT_TRUE(WaitReports(1));
  const DeviceReport r = Reports()[0];
  EXPECT_EQ(r.racp, RacpOutcome::kSuccess) << r.racp_detail;
  EXPECT_EQ(r.racp_from_sequence, std::optional<uint16_t>(4));
  // Records 4 and 5 reached the sink before the response; the response itself did not.
  auto got = collector_.Get();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(std::get<GlucoseMeasurement>(got[0].decoded.value).sequence_number, 4);
  EXPECT_EQ(std::get<GlucoseMeasurement>(got[1].decoded.value).sequence_number, 5);
  auto writes = mock_->Writes(meter.racp);
  ASSERT_TRUE(writes.ok());
  ASSERT_EQ(writes->size(), 1u);
  EXPECT_EQ((*writes)[0], (std::vector<uint8_t>{0x01, 0x03, 0x01, 0x04, 0x00}));  // report >= seq 4
  EXPECT_EQ(client_->stats().racp_requests, 1u);
  EXPECT_EQ(client_->stats().racp_failures, 0u);
}

TEST_F(BluezClientIntegrationTest, RacpAsksForAllRecordsOfANewDeviceAndReportsNoRecords) {
  static constexpr char kMeter[] = "AA:BB:CC:DD:EE:03";
  RacpMeter meter = RacpMeter::Add(*mock_, hci0_, kMeter);
  ASSERT_TRUE(mock_->AddDevice(hci0_, kMeter, "meter", {0x1808}).ok());
  BluezClientOptions options;
  options.racp_timeout = seconds(5);
  StartClient(options);
  ASSERT_TRUE(WaitReports(1));
  EXPECT_EQ(Reports()[0].racp, RacpOutcome::kNoRecords);
  EXPECT_EQ(Reports()[0].racp_detail, "no_records_found");
  EXPECT_FALSE(Reports()[0].racp_from_sequence.has_value());
  EXPECT_EQ((*mock_->Writes(meter.racp))[0], (std::vector<uint8_t>{0x01, 0x01}));  // all records
}

// A cuff with a record store (as the demo's simulated cuffs have): its time-stamped records
// carry no sequence number, so the bridge asks for all of them and they reach the sink as 2A35.
TEST_F(BluezClientIntegrationTest, RacpFetchesAllStoredRecordsOfACuff) {
  const std::string path = testing::MockBluez::DevicePath(hci0_, kCuff);
  const std::string bp = *mock_->AddCharacteristic(path, 0x0c, 0x1810, 0x0d, 0x2A35, {"indicate"}, {});
  const std::string racp = *mock_->AddCharacteristic(path, 0x0c, 0x1810, 0x0f, 0x2A52, {"write", "indicate"}, {});
  ASSERT_TRUE(mock_->MakeRecordStore(racp, bp).ok());
  for (uint8_t day = 1; day <= 3; ++day) {
    // mmHg + time stamp; (120 + day)/80 mmHg, MAP 93; 2026-11-<day> 07:30:00.
    const std::vector<uint8_t> reading = {
        0x02, static_cast<uint8_t>(120 + day), 0x00, 0x50, 0x00, 0x5D, 0x00, 0xEA, 0x07, 11, day, 7, 30, 0};
    ASSERT_TRUE(mock_->AddStoredRecord(racp, day, reading).ok());
  }
  ASSERT_TRUE(mock_->AddDevice(hci0_, kCuff, "cuff", {0x1810}).ok());
  BluezClientOptions options;
  options.racp_timeout = seconds(5);
  options.last_record_seq = [](const std::string&, Characteristic) -> std::optional<uint16_t> {
    ADD_FAILURE() << "a cuff has no record sequence number to resume from";
    return std::nullopt;
  };
  StartClient(options);
  ASSERT_TRUE(WaitReports(1));
  EXPECT_EQ(Reports()[0].racp, RacpOutcome::kSuccess) << Reports()[0].racp_detail;
  EXPECT_EQ((*mock_->Writes(racp))[0], (std::vector<uint8_t>{0x01, 0x01}));  // all records
  auto got = collector_.Get();
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(std::get<BloodPressureMeasurement>(got[i].decoded.value).systolic.value(), 121 + i);
    ASSERT_TRUE(got[i].device_time.has_value());
    EXPECT_EQ(got[i].device_time->ToIso8601(), "2026-11-0" + std::to_string(i + 1) + "T07:30:00");
  }
}

TEST_F(BluezClientIntegrationTest, RacpWithoutAResponseTimesOut) {
  static constexpr char kMeter[] = "AA:BB:CC:DD:EE:03";
  const std::string path = testing::MockBluez::DevicePath(hci0_, kMeter);
  // A RACP with no record store behind it: the write is accepted, nothing answers.
  ASSERT_TRUE(mock_->AddCharacteristic(path, 0x10, 0x1808, 0x11, 0x2A18, {"notify"}, {}).ok());
  ASSERT_TRUE(mock_->AddCharacteristic(path, 0x10, 0x1808, 0x13, 0x2A52, {"write", "indicate"}, {}).ok());
  ASSERT_TRUE(mock_->AddDevice(hci0_, kMeter, "meter", {0x1808}).ok());
  BluezClientOptions options;
  options.racp_timeout = milliseconds(300);
  StartClient(options);
  ASSERT_TRUE(WaitReports(1));
  EXPECT_EQ(Reports()[0].racp, RacpOutcome::kTimedOut);
  EXPECT_EQ(client_->stats().racp_failures, 1u);
}

}  // namespace
}  // namespace healthtwin::ble
