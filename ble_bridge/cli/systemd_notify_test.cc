// SystemdNotifier against a notify socket of our own: a unix datagram socket in a temporary
// directory, named by NOTIFY_SOCKET as systemd would.
#include "ble_bridge/cli/systemd_notify.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "ble_bridge/cli/testing/notify_socket.h"

namespace healthtwin::ble {
namespace {

using namespace std::chrono_literals;

using testing::NotifySocket;

class SystemdNotifierTest : public ::testing::Test {
 protected:
  void TearDown() override {
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
  }
  // The environment systemd gives a Type=notify service with WatchdogSec=.
  void AsSystemdWould(const NotifySocket& sock, const char* watchdog_usec) {
    ASSERT_TRUE(sock.bound());
    setenv("NOTIFY_SOCKET", sock.path().c_str(), 1);
    setenv("WATCHDOG_USEC", watchdog_usec, 1);
  }
};

TEST_F(SystemdNotifierTest, SendsReadyAndWatchdogToTheNotifySocket) {
  NotifySocket sock;
  ASSERT_NO_FATAL_FAILURE(AsSystemdWould(sock, "2000000"));
  SystemdNotifier n = SystemdNotifier::FromEnvironment();
  ASSERT_TRUE(n.enabled());
  ASSERT_TRUE(n.watchdog_interval().has_value());
  EXPECT_EQ(*n.watchdog_interval(), 2s);

  EXPECT_TRUE(n.Ready("running"));
  EXPECT_EQ(sock.Receive(), "READY=1\nSTATUS=running");
  const auto t0 = SystemdNotifier::Clock::now();
  EXPECT_TRUE(n.Tick(true, t0));
  EXPECT_EQ(sock.Receive(), "WATCHDOG=1");
  // Half the interval must pass before the next ping.
  EXPECT_FALSE(n.Tick(true, t0 + 500ms));
  EXPECT_TRUE(n.Tick(true, t0 + 1100ms));
  EXPECT_EQ(sock.Receive(), "WATCHDOG=1");
  EXPECT_TRUE(n.Stopping());
  EXPECT_EQ(sock.Receive(), "STOPPING=1\nSTATUS=stopping");
}

TEST_F(SystemdNotifierTest, AnUnhealthyDaemonStopsPinging) {
  NotifySocket sock;
  ASSERT_NO_FATAL_FAILURE(AsSystemdWould(sock, "1000000"));
  SystemdNotifier n = SystemdNotifier::FromEnvironment();
  const auto t0 = SystemdNotifier::Clock::now();
  EXPECT_TRUE(n.Tick(true, t0));
  EXPECT_EQ(sock.Receive(), "WATCHDOG=1");
  EXPECT_FALSE(n.Tick(false, t0 + 2s));
  EXPECT_FALSE(n.Tick(false, t0 + 4s));
  EXPECT_EQ(sock.Receive(), "");  // nothing: systemd's watchdog fires
  EXPECT_TRUE(n.Tick(true, t0 + 5s));
  EXPECT_EQ(sock.Receive(), "WATCHDOG=1");
}

TEST_F(SystemdNotifierTest, WatchdogForAnotherPidIsOff) {
  NotifySocket sock;
  ASSERT_NO_FATAL_FAILURE(AsSystemdWould(sock, "1000000"));
  setenv("WATCHDOG_PID", std::to_string(getpid() + 1).c_str(), 1);
  SystemdNotifier n = SystemdNotifier::FromEnvironment();
  EXPECT_FALSE(n.watchdog_interval().has_value());
  EXPECT_FALSE(n.Tick(true));
}

TEST_F(SystemdNotifierTest, WithoutNotifySocketNothingIsSent) {
  setenv("WATCHDOG_USEC", "1000000", 1);
  SystemdNotifier n = SystemdNotifier::FromEnvironment();
  EXPECT_FALSE(n.enabled());
  EXPECT_FALSE(n.Ready("running"));
  EXPECT_FALSE(n.Tick(true));
}

}  // namespace
}  // namespace healthtwin::ble
