// sd_notify(3) for `healthtwin-bridge run` under systemd (Type=notify, WatchdogSec=).
//
// Everything here is a no-op when NOTIFY_SOCKET is unset (tests, the demo, a terminal), and the
// watchdog is off unless systemd set WATCHDOG_USEC (for this pid, when WATCHDOG_PID is set).
//
// Watchdog: Tick() is called from the daemon's main loop, with whether the daemon is healthy. It
// sends WATCHDOG=1 at most every half interval and only while healthy, so a hung main loop (no
// Tick) or a hung worker (unhealthy) both stop the pings and systemd restarts the service.
//
// Thread safety: none; use from the main thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace healthtwin::ble {

class SystemdNotifier {
 public:
  using Clock = std::chrono::steady_clock;

  // Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID from the environment.
  static SystemdNotifier FromEnvironment();

  bool enabled() const { return enabled_; }
  // The interval systemd expects pings within; nullopt when the watchdog is off.
  std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

  // READY=1 with a STATUS= line. Returns whether a message was sent.
  bool Ready(const std::string& status);
  bool Status(const std::string& status);
  bool Stopping();
  // Sends WATCHDOG=1 when the watchdog is on, `healthy`, and half the interval has passed since
  // the last ping. Returns whether it sent one.
  bool Tick(bool healthy, Clock::time_point now = Clock::now());

 private:
  SystemdNotifier(bool enabled, std::optional<std::chrono::microseconds> watchdog)
      : enabled_(enabled), watchdog_(watchdog) {}
  bool Send(const std::string& state);

  bool enabled_;
  std::optional<std::chrono::microseconds> watchdog_;
  std::optional<Clock::time_point> last_ping_;
};

}  // namespace healthtwin::ble
