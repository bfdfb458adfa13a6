// Runs an sdbus-c++ connection's event loop on a thread of ours instead of enterEventLoopAsync().
//
// Why: sdbus-c++ 1.2's own loop thread has no catch. When the bus goes away (dbus-daemon
// restarted, socket reset), sd_bus_process() fails, sdbus-c++ throws sdbus::Error
// ("org.freedesktop.DBus.Error.Disconnected: Failed to process bus requests") on that thread and
// the process dies in std::terminate. This thread catches whatever the loop throws, logs it and
// ends; `on_exit` then tells the owner, which reconnects or stops.
//
// By the time the loop throws, sd-bus has already failed every pending method call of the
// connection ("Connection terminated"), so callers blocked in a synchronous call on another thread
// are released; calls made afterwards fail at once (ENOTCONN).
//
// Ownership: the connection must outlive this object. Thread safety: Stop() and exited() may be
// called from any thread but the loop's own.
#pragma once

#include <sdbus-c++/IConnection.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"

namespace healthtwin::ble {

class EventLoopThread {
 public:
  // Starts the loop at once. `on_exit` (may be empty) runs on the loop thread when the loop ends:
  // with OK after Stop(), or with the error that ended it. It must not destroy this object.
  EventLoopThread(sdbus::IConnection& connection, std::string name, std::function<void(const absl::Status&)> on_exit);
  ~EventLoopThread();  // Stop()s

  EventLoopThread(const EventLoopThread&) = delete;
  EventLoopThread& operator=(const EventLoopThread&) = delete;

  // Asks the loop to leave and joins it. Idempotent.
  void Stop();
  // Whether the loop has ended (failed, or stopped).
  bool exited() const { return exited_.load(); }
  // Why it ended; OK while it runs or after Stop().
  absl::Status exit_status() const;

 private:
  void Loop();

  sdbus::IConnection& connection_;
  const std::string name_;
  std::function<void(const absl::Status&)> on_exit_;
  std::atomic<bool> exited_{false};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  absl::Status exit_status_;
  std::thread thread_;
};

}  // namespace healthtwin::ble
