// Pairing and scanning against a private dbus-daemon + python3-dbusmock's bluez5 template. The
// harness's Device1.Pair calls our registered Agent1 over D-Bus, as bluetoothd does, so every
// agent callback here crosses the bus.
#include <gtest/gtest.h>

#include <sdbus-c++/Error.h>
#include <sdbus-c++/IProxy.h>

#include <atomic>
#include <thread>
#include <chrono>

#include "ble_bridge/bluez/agent.h"
#include "ble_bridge/bluez/pairing.h"
#include "ble_bridge/bluez/scanner.h"
#include "ble_bridge/bluez/sdbus_bluez_bus.h"
#include "ble_bridge/bluez/testing/mock_bluez.h"

namespace healthtwin::ble {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::MockBluez;

constexpr char kCuff[] = "AA:BB:CC:DD:EE:02";

class FixedPrompt final : public PairingPrompt {
 public:
  explicit FixedPrompt(absl::StatusOr<uint32_t> passkey, bool confirm = true) : passkey_(passkey), confirm_(confirm) {}
  absl::StatusOr<uint32_t> Passkey(const std::string& address) override {
    passkey_asks.fetch_add(1);
    last_address = address;
    return passkey_;
  }
  bool Confirm(const std::string&, uint32_t passkey) override {
    confirmed_passkey = passkey;
    return confirm_;
  }
  std::atomic<int> passkey_asks{0};
  std::atomic<uint32_t> confirmed_passkey{0};
  std::string last_address;

 private:
  absl::StatusOr<uint32_t> passkey_;
  bool confirm_;
};

class PairingIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mock = MockBluez::Start();
    ASSERT_TRUE(mock.ok()) << mock.status();
    mock_ = *std::move(mock);
    auto adapter = mock_->AddAdapter("hci0");
    ASSERT_TRUE(adapter.ok()) << adapter.status();
    hci0_ = *adapter;
    auto device = mock_->AddDevice(hci0_, kCuff, "BP cuff", {0x1810});
    ASSERT_TRUE(device.ok()) << device.status();
    cuff_ = *device;
    auto bus = SdbusBluezBus::Create(seconds(5));
    ASSERT_TRUE(bus.ok()) << bus.status();
    bus_ = *std::move(bus);
  }
  void TearDown() override {
    agent_.reset();
    bus_.reset();
    mock_.reset();
  }
  void StartAgent(PairingPrompt& prompt) {
    auto agent = BluezAgent::Create(prompt);
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
  }
  absl::StatusOr<PairResult> Pair(const std::string& address = kCuff) {
    PairOptions o;
    o.address = address;
    o.discovery_timeout = milliseconds(600);
    o.pair_timeout = seconds(10);
    return PairDevice(*bus_, *agent_, o);
  }

  std::unique_ptr<MockBluez> mock_;
  std::string hci0_, cuff_;
  std::unique_ptr<SdbusBluezBus> bus_;
  std::unique_ptr<BluezAgent> agent_;
};

TEST_F(PairingIntegrationTest, JustWorksIsAuthorizedByTheAgentAndTheDeviceIsTrusted) {
  FixedPrompt prompt(absl::InternalError("must not be asked"));
  ASSERT_NO_FATAL_FAILURE(StartAgent(prompt));
  auto r = Pair("aa:bb:cc:dd:ee:02");  // any case
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->paired);
  EXPECT_TRUE(r->trusted);
  EXPECT_FALSE(r->already_paired);
  EXPECT_EQ(r->device_path, cuff_);
  EXPECT_EQ(agent_->stats().authorizations, 1u);  // RequestAuthorization crossed the bus
  EXPECT_EQ(prompt.passkey_asks.load(), 0);
  EXPECT_TRUE(*mock_->GetBool(cuff_, "org.bluez.Device1", "Paired"));
  EXPECT_TRUE(*mock_->GetBool(cuff_, "org.bluez.Device1", "Trusted"));
  EXPECT_TRUE(*mock_->GetBool(cuff_, "org.bluez.Device1", "Bonded"));

  auto again = Pair();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(again->already_paired);
}

TEST_F(PairingIntegrationTest, PasskeyEntryUsesThePromptsPasskey) {
  ASSERT_TRUE(mock_->SetPairing(cuff_, MockBluez::PairingMode::kPasskey, 123456).ok());
  FixedPrompt prompt(uint32_t{123456});
  ASSERT_NO_FATAL_FAILURE(StartAgent(prompt));
  auto r = Pair();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->paired && r->trusted);
  EXPECT_EQ(prompt.passkey_asks.load(), 1);
  EXPECT_EQ(prompt.last_address, kCuff);
  EXPECT_EQ(agent_->stats().passkeys, 1u);
}

TEST_F(PairingIntegrationTest, WrongPasskeyFailsWithAClearErrorAndNoTrust) {
  ASSERT_TRUE(mock_->SetPairing(cuff_, MockBluez::PairingMode::kPasskey, 123456).ok());
  FixedPrompt prompt(uint32_t{654321});
  ASSERT_NO_FATAL_FAILURE(StartAgent(prompt));
  auto r = Pair();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
  EXPECT_NE(r.status().message().find("wrong passkey"), absl::string_view::npos) << r.status();
  EXPECT_NE(r.status().message().find("org.bluez.Error.AuthenticationFailed"), absl::string_view::npos) << r.status();
  EXPECT_FALSE(*mock_->GetBool(cuff_, "org.bluez.Device1", "Paired"));
  EXPECT_FALSE(*mock_->GetBool(cuff_, "org.bluez.Device1", "Trusted"));
}

TEST_F(PairingIntegrationTest, PromptRefusalRejectsThePairing) {
  ASSERT_TRUE(mock_->SetPairing(cuff_, MockBluez::PairingMode::kPasskey, 123456).ok());
  FixedPrompt prompt(absl::InvalidArgumentError("passkey: expected up to 6 digits, got 'abc'"));
  ASSERT_NO_FATAL_FAILURE(StartAgent(prompt));
  auto r = Pair();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
  EXPECT_NE(r.status().message().find("passkey: expected"), absl::string_view::npos) << r.status();
  EXPECT_EQ(agent_->stats().rejected, 1u);
}

TEST_F(PairingIntegrationTest, NumericComparisonAsksForConfirmation) {
  ASSERT_TRUE(mock_->SetPairing(cuff_, MockBluez::PairingMode::kConfirm, 42).ok());
  FixedPrompt yes(absl::InternalError("unused"), /*confirm=*/true);
  ASSERT_NO_FATAL_FAILURE(StartAgent(yes));
  auto r = Pair();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(yes.confirmed_passkey.load(), 42u);
  EXPECT_EQ(agent_->stats().confirmations, 1u);
}

TEST_F(PairingIntegrationTest, AgentRefusesRequestsAboutAnotherDevice) {
  FixedPrompt prompt(uint32_t{1});
  ASSERT_NO_FATAL_FAILURE(StartAgent(prompt));
  agent_->SetTarget(cuff_);
  // Call the agent as bluetoothd would, for a device nobody asked to pair, then for the target.
  auto conn = sdbus::createSessionBusConnectionWithAddress(mock_->bus_address());
  auto proxy = sdbus::createProxy(*conn, agent_->bus_name(), BluezAgent::kDefaultPath);
  try {
    proxy->callMethod("RequestAuthorization")
        .onInterface("org.bluez.Agent1")
        .withArguments(sdbus::ObjectPath(hci0_ + "/dev_66_66_66_66_66_66"));
    ADD_FAILURE() << "a stranger's device was authorized";
  } catch (const sdbus::Error& e) {
    EXPECT_EQ(e.getName(), "org.bluez.Error.Rejected");
  }
  EXPECT_NO_THROW(proxy->callMethod("RequestAuthorization")
                      .onInterface("org.bluez.Agent1")
                      .withArguments(sdbus::ObjectPath(cuff_)));
  try {
    std::string pin;
    proxy->callMethod("RequestPinCode").onInterface("org.bluez.Agent1").withArguments(sdbus::ObjectPath(cuff_)).storeResultsTo(pin);
    ADD_FAILURE() << "legacy PIN answered";
  } catch (const sdbus::Error& e) {
    EXPECT_EQ(e.getName(), "org.bluez.Error.Rejected");
  }
  EXPECT_EQ(agent_->stats().authorizations, 1u);
  EXPECT_EQ(agent_->stats().rejected, 2u);
}

TEST_F(PairingIntegrationTest, UnknownDeviceIsNotFoundAfterDiscovery) {
  FixedPrompt prompt(uint32_t{1});
  ASSERT_NO_FATAL_FAILURE(StartAgent(prompt));
  auto r = Pair("AA:BB:CC:DD:EE:77");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_FALSE(*mock_->GetBool(hci0_, "org.bluez.Adapter1", "Discovering"));  // stopped again
}

TEST_F(PairingIntegrationTest, MalformedAddressIsInvalidArgument) {
  FixedPrompt prompt(uint32_t{1});
  ASSERT_NO_FATAL_FAILURE(StartAgent(prompt));
  auto r = Pair("AA:BB:CC:DD:EE");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("address"), absl::string_view::npos);
}

TEST_F(PairingIntegrationTest, ScanListsHealthDevicesWithRssiAndPairedState) {
  ASSERT_TRUE(mock_->AddDevice(hci0_, "AA:BB:CC:DD:EE:09", "headphones", {0x110B}).ok());
  FixedPrompt prompt(uint32_t{1});
  ASSERT_NO_FATAL_FAILURE(StartAgent(prompt));
  ASSERT_TRUE(Pair().ok());
  agent_.reset();
  std::thread advertiser([&] {
    std::this_thread::sleep_for(milliseconds(200));
    (void)mock_->Advertise(cuff_, -48);
  });
  ScanOptions o;
  o.duration = milliseconds(800);
  auto found = Scan(*bus_, o);
  advertiser.join();
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 1u);  // the headphones have no health service
  const ScannedDevice& d = (*found)[0];
  EXPECT_EQ(d.address, kCuff);
  EXPECT_EQ(d.name, "BP cuff");
  EXPECT_EQ(d.rssi, std::optional<int16_t>(-48));
  EXPECT_TRUE(d.seen);
  EXPECT_TRUE(d.paired);
  EXPECT_TRUE(d.trusted);
  EXPECT_EQ(d.services, std::vector<std::string>{"1810"});
  EXPECT_FALSE(*mock_->GetBool(hci0_, "org.bluez.Adapter1", "Discovering"));

  o.health_only = false;
  o.duration = milliseconds(100);
  auto all = Scan(*bus_, o);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 2u);
}

}  // namespace
}  // namespace healthtwin::ble
