// BluezBus over one sdbus-c++ connection to the system bus (sd-bus honours
// DBUS_SYSTEM_BUS_ADDRESS, which is how tests point it at a private dbus-daemon).
//
// The connection runs its own event-loop thread for signals; method calls are synchronous and
// may come from any thread (sdbus-c++ serialises access to sd-bus).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include <sdbus-c++/IConnection.h>

#include "ble_bridge/bluez/bluez_bus.h"

namespace healthtwin::ble {

class SdbusBluezBus final : public BluezBus {
 public:
  // Connects to the system bus. Unavailable when it cannot be reached.
  static absl::StatusOr<std::unique_ptr<SdbusBluezBus>> Create(
      std::chrono::milliseconds call_timeout = std::chrono::seconds(30));
  ~SdbusBluezBus() override;

  absl::Status Subscribe(BusSignalHandlers handlers) override;
  void Unsubscribe() override;
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

 private:
  SdbusBluezBus(std::unique_ptr<sdbus::IConnection> connection, std::chrono::milliseconds call_timeout);
  void OnObjectManagerSignal(sdbus::Message& msg);
  void OnPropertiesChanged(sdbus::Message& msg);

  std::unique_ptr<sdbus::IConnection> connection_;
  std::chrono::milliseconds call_timeout_;
  std::mutex handlers_mu_;  // guards handlers_ against Unsubscribe() racing the dispatch thread
  BusSignalHandlers handlers_;
  bool subscribed_ = false;
  sdbus::Slot object_manager_match_;
  sdbus::Slot properties_match_;
};

}  // namespace healthtwin::ble
