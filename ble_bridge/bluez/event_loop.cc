#include "ble_bridge/bluez/event_loop.h"

#include <sdbus-c++/Error.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

#include "ble_bridge/bluez/bluez_bus.h"

namespace healthtwin::ble {

EventLoopThread::EventLoopThread(sdbus::IConnection& connection, std::string name,
                                 std::function<void(const absl::Status&)> on_exit)
    : connection_(connection), name_(std::move(name)), on_exit_(std::move(on_exit)) {
  thread_ = std::thread([this] { Loop(); });
}

EventLoopThread::~EventLoopThread() { Stop(); }

void EventLoopThread::Loop() {
  absl::Status status;
  try {
    connection_.enterEventLoop();  // returns after leaveEventLoop()
  } catch (const sdbus::Error& e) {
    status = DbusError(e.getName(), e.getMessage());
  } catch (const std::exception& e) {
    status = absl::InternalError(std::string("event loop: ") + e.what());
  } catch (...) {
    status = absl::InternalError("event loop: unknown exception");
  }
  if (!status.ok() && !stopping_.load()) spdlog::warn("dbus: {} event loop ended: {}", name_, status.ToString());
  {
    std::lock_guard lock(mu_);
    exit_status_ = status;
  }
  exited_.store(true);
  if (on_exit_) {
    try {
      on_exit_(status);
    } catch (const std::exception& e) {
      spdlog::error("dbus: {} event loop exit handler threw: {}", name_, e.what());
    }
  }
}

void EventLoopThread::Stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  try {
    // Writes the connection's exit eventfd; harmless when the loop has already ended.
    connection_.leaveEventLoop();
  } catch (const std::exception& e) {
    spdlog::warn("dbus: {} leaving the event loop: {}", name_, e.what());
  }
  thread_.join();
}

absl::Status EventLoopThread::exit_status() const {
  std::lock_guard lock(mu_);
  return exit_status_;
}

}  // namespace healthtwin::ble
