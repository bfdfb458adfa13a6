// The few D-Bus operations the BlueZ client needs, behind a small interface so unit tests can
// inject a fake bus (and faults) without a dbus-daemon. SdbusBluezBus (sdbus_bluez_bus.h) is the
// real implementation over sdbus-c++.
//
// Values are sdbus::Variant: it is a plain value type that needs no connection, so fakes can build
// them too.
//
// Errors: every method returns a Status whose message starts with the D-Bus error name
// ("org.bluez.Error.InProgress: ...") and which carries that name as a payload, read back with
// DbusErrorName(). Codes: NotFound for an unknown object/method/interface, DeadlineExceeded for a
// call that got no reply, AlreadyExists for org.bluez.Error.AlreadyExists/AlreadyConnected,
// Unavailable for everything else BlueZ or the bus reports.
//
// Threading: the methods may be called from any thread, concurrently. Signal handlers run on the
// bus's own dispatch thread, one at a time; they must not block for long and must not call back
// into the bus synchronously (the client queues work for its device threads instead).
//
// Presence: bluetoothd can restart (org.bluez loses its owner and gets a new one) and the system
// bus itself can go away. Presence() says whether org.bluez is reachable now; its epoch grows on
// every change, and presence_changed reports each change. Everything learnt before a change
// (objects, subscriptions, Connected devices) is stale after it: the client enumerates again.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sdbus-c++/Types.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace healthtwin::ble {

inline constexpr char kBluezService[] = "org.bluez";
inline constexpr char kAdapterIface[] = "org.bluez.Adapter1";
inline constexpr char kDeviceIface[] = "org.bluez.Device1";
inline constexpr char kGattServiceIface[] = "org.bluez.GattService1";
inline constexpr char kGattCharacteristicIface[] = "org.bluez.GattCharacteristic1";
inline constexpr char kBatteryIface[] = "org.bluez.Battery1";
inline constexpr char kAgentManagerIface[] = "org.bluez.AgentManager1";
inline constexpr char kAgentIface[] = "org.bluez.Agent1";

using PropertyMap = std::map<std::string, sdbus::Variant>;
using InterfaceMap = std::map<std::string, PropertyMap>;
using ManagedObjects = std::map<std::string, InterfaceMap>;  // object path -> interfaces

struct BluezPresence {
  bool available = false;  // org.bluez has an owner on a live bus connection
  uint64_t epoch = 0;      // grows with every change: lost, back, new owner, new bus connection
};

struct BusSignalHandlers {
  std::function<void(const std::string& path, const InterfaceMap& added)> interfaces_added;
  std::function<void(const std::string& path, const std::vector<std::string>& removed)> interfaces_removed;
  std::function<void(const std::string& path, const std::string& iface, const PropertyMap& changed,
                     const std::vector<std::string>& invalidated)>
      properties_changed;
  // On a bus thread (not necessarily the dispatch thread), one at a time and in order; must not
  // block nor call the bus synchronously.
  std::function<void(const BluezPresence&)> presence_changed;
};

class BluezBus {
 public:
  virtual ~BluezBus() = default;

  // Installs the handlers and starts delivering ObjectManager and PropertiesChanged signals for
  // org.bluez. Call once, before GetManagedObjects(), so no change between the two is missed.
  virtual absl::Status Subscribe(BusSignalHandlers handlers) = 0;
  // Stops delivering signals; after it returns no handler runs any more. Idempotent.
  virtual void Unsubscribe() = 0;

  // A bus without presence tracking is always available (fakes in unit tests).
  virtual BluezPresence Presence() const { return {.available = true, .epoch = 1}; }

  virtual absl::StatusOr<ManagedObjects> GetManagedObjects() = 0;
  // org.freedesktop.DBus.Properties.Set.
  virtual absl::Status SetProperty(const std::string& path, const std::string& iface, const std::string& name,
                                   const sdbus::Variant& value) = 0;
  // A method with no arguments and no result (Connect, Disconnect, Pair, StartNotify, ...), or with
  // one a{sv} argument when `options` is set (SetDiscoveryFilter).
  virtual absl::Status Call(const std::string& path, const std::string& iface, const std::string& method,
                            const std::optional<PropertyMap>& options = std::nullopt) = 0;
  // Call() with its own reply timeout instead of the bus's default: Device1.Pair waits for the
  // user to type a passkey.
  virtual absl::Status CallWithTimeout(const std::string& path, const std::string& iface, const std::string& method,
                                       std::chrono::milliseconds timeout) = 0;
  // GattCharacteristic1.ReadValue / WriteValue with an a{sv} of options ({} or {"type": "request"}).
  virtual absl::StatusOr<std::vector<uint8_t>> ReadValue(const std::string& characteristic_path) = 0;
  virtual absl::Status WriteValue(const std::string& characteristic_path, const std::vector<uint8_t>& value,
                                  const PropertyMap& options) = 0;
};

// A Status for a D-Bus error, as described above.
absl::Status DbusError(const std::string& name, const std::string& message);
// The D-Bus error name carried by `status`, or "" when it carries none.
std::string DbusErrorName(const absl::Status& status);

}  // namespace healthtwin::ble
