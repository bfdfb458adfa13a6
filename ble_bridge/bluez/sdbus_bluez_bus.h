// BluezBus over sdbus-c++ connections to the system bus (sd-bus honours DBUS_SYSTEM_BUS_ADDRESS,
// which is how tests point it at a private dbus-daemon).
//
// The bus survives the system bus and bluetoothd going away:
//   - Each connection's event loop runs on an EventLoopThread (event_loop.h), which catches what
//     sdbus-c++ throws when the connection drops.
//   - A supervisor thread notices the loss, reports org.bluez as unavailable, and connects again
//     with backoff (backoff.h); the signal matches are installed again on each new connection.
//   - NameOwnerChanged for org.bluez tells when bluetoothd leaves and comes back on a live bus.
//   - Every `health_interval` the supervisor pings the bus daemon, which proves that the daemon
//     answers and that the dispatch thread runs (the reply is read there). Healthy() reports
//     whether the supervisor has been through its loop recently: a hung dispatch thread or a
//     daemon that stops answering makes it false, which stops the systemd watchdog pings.
// While no connection exists every call fails at once with
// org.freedesktop.DBus.Error.Disconnected (Unavailable).
//
// Method calls are synchronous and may come from any thread (sdbus-c++ routes their replies
// through the dispatch thread).
#pragma once

#include <sdbus-c++/IConnection.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ble_bridge/bluez/backoff.h"
#include "ble_bridge/bluez/bluez_bus.h"

namespace healthtwin::ble {

struct SdbusBusOptions {
  std::chrono::milliseconds call_timeout{30'000};
  // Between reconnect attempts to the system bus.
  BackoffPolicy reconnect{.initial = std::chrono::milliseconds(200), .max = std::chrono::milliseconds(5'000)};
  uint64_t seed = 1;
  // How often the supervisor pings the bus daemon, and how long it waits for the answer.
  std::chrono::milliseconds health_interval{2'000};
  std::chrono::milliseconds ping_timeout{5'000};
  // false: Create() succeeds without a bus and keeps trying in the background (the daemon).
  bool require_bus_at_start = true;
};

class SdbusBluezBus final : public BluezBus {
 public:
  // Connects to the system bus. Unavailable when it cannot be reached and
  // options.require_bus_at_start is set.
  static absl::StatusOr<std::unique_ptr<SdbusBluezBus>> Create(SdbusBusOptions options);
  static absl::StatusOr<std::unique_ptr<SdbusBluezBus>> Create(
      std::chrono::milliseconds call_timeout = std::chrono::seconds(30));
  ~SdbusBluezBus() override;

  absl::Status Subscribe(BusSignalHandlers handlers) override;
  void Unsubscribe() override;
  BluezPresence Presence() const override;
  absl::StatusOr<ManagedObjects> GetManagedObjects() override;
  absl::Status SetProperty(const std::string& path, const std::string& iface, const std::string& name,
                           const sdbus::Variant& value) override;
  absl::Status Call(const std::string& path, const std::string& iface, const std::string& method,
                    const std::optional<PropertyMap>& options) override;
  absl::Status CallWithTimeout(const std::string& path, const std::string& iface, const std::string& method,
                               std::chrono::milliseconds timeout) override;
  absl::StatusOr<std::vector<uint8_t>> ReadValue(const std::string& characteristic_path) override;
  absl::Status WriteValue(const std::string& characteristic_path, const std::vector<uint8_t>& value,
                          const PropertyMap& options) override;

  // Whether the supervisor completed a loop within `max_age` (see above).
  bool Healthy(std::chrono::milliseconds max_age) const;
  // Connections made so far (1 after a good start; +1 per reconnect).
  uint64_t connections() const;

 private:
  struct Session;

  explicit SdbusBluezBus(SdbusBusOptions options);
  // Opens a connection, installs the matches and starts its loop; also asks who owns org.bluez.
  absl::Status Connect();
  // The supervisor thread's entry point: Supervise(), started again if anything escapes it.
  void SuperviseGuarded();
  void Supervise();
  // Applies an owner change ("" = gone) and reports it; called on the supervisor thread.
  void ApplyOwner(const std::string& owner);
  void Report(const BluezPresence& presence);
  absl::Status InstallBluezMatches(Session& session);
  // Drops the current connection (already failed, or not answering) and reports org.bluez gone.
  void DropSession(std::unique_lock<std::mutex>& lock, const std::string& why);
  std::shared_ptr<Session> CurrentSession() const;
  // One method call to org.bluez (or `destination`) on the current connection. `fill` appends the
  // arguments; the reply is returned for the caller to read.
  absl::StatusOr<sdbus::MethodReply> Invoke(const std::string& path, const std::string& iface,
                                            const std::string& method, std::chrono::milliseconds timeout,
                                            const std::function<void(sdbus::MethodCall&)>& fill,
                                            const std::string& destination = kBluezService);
  void OnObjectManagerSignal(sdbus::Message& msg);
  void OnPropertiesChanged(sdbus::Message& msg);
  void OnNameOwnerChanged(const Session* from, sdbus::Message& msg);

  const SdbusBusOptions options_;

  mutable std::mutex mu_;  // guards the fields below; never held across a D-Bus call
  std::condition_variable cv_;
  std::shared_ptr<Session> session_;
  std::deque<std::string> owner_events_;  // from NameOwnerChanged / GetNameOwner, for the supervisor
  std::string owner_;                     // org.bluez's unique name, "" when none
  BluezPresence presence_;
  bool stopping_ = false;
  uint64_t connections_ = 0;
  std::chrono::steady_clock::time_point heartbeat_;

  // Serialises installing and removing the org.bluez matches (Subscribe, Unsubscribe, Connect).
  // Taken before handlers_mu_, never while waiting for the dispatch thread.
  std::mutex match_mu_;
  std::mutex handlers_mu_;  // guards handlers_ and subscribed_; held while a handler runs
  BusSignalHandlers handlers_;
  bool subscribed_ = false;

  std::thread supervisor_;
};

}  // namespace healthtwin::ble
