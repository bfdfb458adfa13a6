// SdbusBluezBus against a private dbus-daemon and the dbusmock bluez5 template: presence of
// org.bluez across a released name and a bus restart, and the health the systemd watchdog
// follows when the dispatch thread is stuck.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "ble_bridge/bluez/sdbus_bluez_bus.h"
#include "ble_bridge/bluez/testing/mock_bluez.h"

namespace healthtwin::ble {
namespace {

using healthtwin::testing::PollUntil;
using std::chrono::milliseconds;
using std::chrono::seconds;

SdbusBusOptions FastOptions() {
  return {.call_timeout = seconds(5),
          .reconnect = {.initial = milliseconds(50), .max = milliseconds(300)},
          .health_interval = milliseconds(100),
          .ping_timeout = milliseconds(500)};
}

class Presences {
 public:
  void Add(const BluezPresence& p) {
    std::lock_guard lock(mu_);
    seen_.push_back(p);
  }
  // Those after `epoch`: a change just before Subscribe() may still be reported after it.
  std::vector<BluezPresence> After(uint64_t epoch) {
    std::lock_guard lock(mu_);
    std::vector<BluezPresence> out;
    for (const auto& p : seen_) {
      if (p.epoch > epoch) out.push_back(p);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<BluezPresence> seen_;
};

TEST(SdbusBluezBusTest, ReportsOrgBluezLeavingAndComingBack) {
  auto mock = testing::MockBluez::Start();
  ASSERT_TRUE(mock.ok()) << mock.status();
  auto bus = SdbusBluezBus::Create(FastOptions());
  ASSERT_TRUE(bus.ok()) << bus.status();
  ASSERT_TRUE(PollUntil([&] { return (*bus)->Presence().available; }, seconds(5)));
  const uint64_t first = (*bus)->Presence().epoch;
  Presences seen;
  BusSignalHandlers handlers;
  handlers.presence_changed = [&](const BluezPresence& p) { seen.Add(p); };
  ASSERT_TRUE((*bus)->Subscribe(handlers).ok());

  ASSERT_TRUE((*mock)->ReleaseName().ok());
  ASSERT_TRUE(PollUntil([&] { return !(*bus)->Presence().available; }, seconds(5)));
  ASSERT_TRUE((*mock)->RequestName().ok());
  ASSERT_TRUE(PollUntil([&] { return (*bus)->Presence().available; }, seconds(5)));
  ASSERT_TRUE(PollUntil([&] { return seen.After(first).size() == 2; }, seconds(5)));
  EXPECT_FALSE(seen.After(first)[0].available);
  EXPECT_EQ(seen.After(first)[0].epoch, first + 1);
  EXPECT_TRUE(seen.After(first)[1].available);
  EXPECT_EQ(seen.After(first)[1].epoch, first + 2);
  EXPECT_EQ((*bus)->connections(), 1u);  // the bus itself stayed
  EXPECT_TRUE((*bus)->GetManagedObjects().ok());
}

TEST(SdbusBluezBusTest, ReconnectsToANewDaemonAtTheSameAddress) {
  auto mock = testing::MockBluez::Start();
  ASSERT_TRUE(mock.ok()) << mock.status();
  auto bus = SdbusBluezBus::Create(FastOptions());
  ASSERT_TRUE(bus.ok()) << bus.status();
  ASSERT_TRUE(PollUntil([&] { return (*bus)->Presence().available; }, seconds(5)));

  (*mock)->KillDaemon();
  ASSERT_TRUE(PollUntil([&] { return !(*bus)->Presence().available; }, seconds(5)));
  absl::Status down = (*bus)->Call("/org/bluez/hci0", kAdapterIface, "StartDiscovery", std::nullopt);
  EXPECT_FALSE(down.ok());                   // fails at once instead of hanging
  EXPECT_TRUE((*bus)->Healthy(seconds(2)));  // retrying is healthy

  ASSERT_TRUE((*mock)->RestartDaemon().ok());
  ASSERT_TRUE(PollUntil([&] { return (*bus)->Presence().available; }, seconds(10)));
  EXPECT_EQ((*bus)->connections(), 2u);
  EXPECT_TRUE((*bus)->GetManagedObjects().ok());
}

TEST(SdbusBluezBusTest, AStuckDispatchThreadMakesTheBusUnhealthy) {
  auto mock = testing::MockBluez::Start();
  ASSERT_TRUE(mock.ok()) << mock.status();
  auto adapter = (*mock)->AddAdapter("hci0");
  ASSERT_TRUE(adapter.ok()) << adapter.status();
  auto hr = (*mock)->AddCharacteristic(testing::MockBluez::DevicePath(*adapter, "AA:BB:CC:DD:EE:07"), 0x0c, 0x180D,
                                       0x0d, 0x2A37);
  ASSERT_TRUE(hr.ok()) << hr.status();
  auto bus = SdbusBluezBus::Create(FastOptions());
  ASSERT_TRUE(bus.ok()) << bus.status();

  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> stuck{false};
  BusSignalHandlers handlers;
  // A handler that never returns, like an outbox append stuck on a dead disk.
  handlers.properties_changed = [&](const std::string&, const std::string&, const PropertyMap&,
                                    const std::vector<std::string>&) {
    stuck = true;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
  };
  ASSERT_TRUE((*bus)->Subscribe(handlers).ok());
  EXPECT_TRUE(PollUntil([&] { return (*bus)->Healthy(milliseconds(300)); }, seconds(2)));

  // Sent through the harness's own connection: a call on `bus` would wait for a reply that the
  // stuck dispatch thread never reads.
  ASSERT_TRUE((*mock)->Notify(*hr, {0x00, 70}).ok());
  ASSERT_TRUE(PollUntil([&] { return stuck.load(); }, seconds(5)));
  EXPECT_TRUE(PollUntil([&] { return !(*bus)->Healthy(milliseconds(1500)); }, seconds(5)));

  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_TRUE(PollUntil([&] { return (*bus)->Healthy(milliseconds(300)); }, seconds(5)));
}

}  // namespace
}  // namespace healthtwin::ble
