#include "ble_bridge/cli/systemd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>

namespace healthtwin::ble {

SystemdNotifier SystemdNotifier::FromEnvironment() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  const bool enabled = socket != nullptr && socket[0] != '\0';
  std::optional<std::chrono::microseconds> watchdog;
  uint64_t usec = 0;
  // 0: unset or meant for another pid; > 0: on. Does not unset the variables (children may need them).
  if (enabled && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) watchdog = std::chrono::microseconds(usec);
  return SystemdNotifier(enabled, watchdog);
}

bool SystemdNotifier::Send(const std::string& state) {
  if (!enabled_) return false;
  return sd_notify(0, state.c_str()) > 0;
}

bool SystemdNotifier::Ready(const std::string& status) { return Send("READY=1\nSTATUS=" + status); }

bool SystemdNotifier::Status(const std::string& status) { return Send("STATUS=" + status); }

bool SystemdNotifier::Stopping() { return Send("STOPPING=1\nSTATUS=stopping"); }

bool SystemdNotifier::Tick(bool healthy, Clock::time_point now) {
  if (!watchdog_ || !healthy) return false;
  if (last_ping_ && now - *last_ping_ < *watchdog_ / 2) return false;
  if (!Send("WATCHDOG=1")) return false;
  last_ping_ = now;
  return true;
}

}  // namespace healthtwin::ble
