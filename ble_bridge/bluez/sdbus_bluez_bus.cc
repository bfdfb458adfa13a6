#include "ble_bridge/bluez/sdbus_bluez_bus.h"

#include <exception>
#include <utility>

#include <sdbus-c++/Error.h>
#include <sdbus-c++/IProxy.h>
#include <sdbus-c++/Message.h>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"

namespace healthtwin::ble {
namespace {

constexpr char kErrorNamePayload[] = "type.healthtwin/dbus-error-name";

absl::Status FromSdbus(const sdbus::Error& e) { return DbusError(e.getName(), e.getMessage()); }

}  // namespace

absl::Status DbusError(const std::string& name, const std::string& message) {
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  if (name == "org.freedesktop.DBus.Error.UnknownObject" || name == "org.freedesktop.DBus.Error.UnknownMethod" ||
      name == "org.freedesktop.DBus.Error.UnknownInterface" || name == "org.bluez.Error.DoesNotExist") {
    code = absl::StatusCode::kNotFound;
  } else if (name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout" ||
             name == "org.freedesktop.DBus.Error.TimedOut") {
    code = absl::StatusCode::kDeadlineExceeded;
  } else if (name == "org.bluez.Error.AlreadyExists" || name == "org.bluez.Error.AlreadyConnected") {
    code = absl::StatusCode::kAlreadyExists;
  }
  absl::Status status(code, name + ": " + message);
  status.SetPayload(kErrorNamePayload, absl::Cord(name));
  return status;
}

std::string DbusErrorName(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorNamePayload);
  return payload ? std::string(*payload) : std::string();
}

absl::StatusOr<std::unique_ptr<SdbusBluezBus>> SdbusBluezBus::Create(std::chrono::milliseconds call_timeout) {
  try {
    auto connection = sdbus::createSystemBusConnection();
    return std::unique_ptr<SdbusBluezBus>(new SdbusBluezBus(std::move(connection), call_timeout));
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
}

SdbusBluezBus::SdbusBluezBus(std::unique_ptr<sdbus::IConnection> connection, std::chrono::milliseconds call_timeout)
    : connection_(std::move(connection)), call_timeout_(call_timeout) {}

SdbusBluezBus::~SdbusBluezBus() {
  Unsubscribe();
  try {
    connection_->leaveEventLoop();
  } catch (const sdbus::Error&) {
    // Nothing to do: the connection is going away anyway.
  }
}

absl::Status SdbusBluezBus::Subscribe(BusSignalHandlers handlers) {
  {
    std::lock_guard lock(handlers_mu_);
    if (subscribed_) return absl::FailedPreconditionError("already subscribed");
    handlers_ = std::move(handlers);
    subscribed_ = true;
  }
  try {
    // sender='org.bluez': the daemon matches the well-known name against the current owner, so
    // no other client on the system bus can fake a notification.
    object_manager_match_ = connection_->addMatch(
        "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.ObjectManager',path='/'",
        [this](sdbus::Message& msg) { OnObjectManagerSignal(msg); });
    properties_match_ = connection_->addMatch(
        "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',"
        "member='PropertiesChanged',path_namespace='/org/bluez'",
        [this](sdbus::Message& msg) { OnPropertiesChanged(msg); });
    connection_->enterEventLoopAsync();
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
  return absl::OkStatus();
}

void SdbusBluezBus::Unsubscribe() {
  std::lock_guard lock(handlers_mu_);  // waits for a handler that is running now
  object_manager_match_.reset();
  properties_match_.reset();
  handlers_ = {};
  subscribed_ = false;
}

void SdbusBluezBus::OnObjectManagerSignal(sdbus::Message& msg) {
  // Everything here arrives from the network (through bluetoothd): a malformed signal is dropped.
  try {
    std::lock_guard lock(handlers_mu_);
    if (!subscribed_) return;
    sdbus::ObjectPath path;
    if (msg.getMemberName() == "InterfacesAdded") {
      std::map<std::string, std::map<std::string, sdbus::Variant>> ifaces;
      msg >> path >> ifaces;
      if (handlers_.interfaces_added) handlers_.interfaces_added(path, ifaces);
    } else if (msg.getMemberName() == "InterfacesRemoved") {
      std::vector<std::string> ifaces;
      msg >> path >> ifaces;
      if (handlers_.interfaces_removed) handlers_.interfaces_removed(path, ifaces);
    }
  } catch (const sdbus::Error&) {
  }
}

void SdbusBluezBus::OnPropertiesChanged(sdbus::Message& msg) {
  try {
    std::lock_guard lock(handlers_mu_);
    if (!subscribed_) return;
    std::string iface;
    std::map<std::string, sdbus::Variant> changed;
    std::vector<std::string> invalidated;
    msg >> iface >> changed >> invalidated;
    if (handlers_.properties_changed) handlers_.properties_changed(msg.getPath(), iface, changed, invalidated);
  } catch (const sdbus::Error&) {
  }
}

absl::StatusOr<ManagedObjects> SdbusBluezBus::GetManagedObjects() {
  try {
    auto proxy = sdbus::createProxy(*connection_, kBluezService, "/");
    auto call = proxy->createMethodCall("org.freedesktop.DBus.ObjectManager", "GetManagedObjects");
    auto reply = proxy->callMethod(call, std::chrono::duration_cast<std::chrono::microseconds>(call_timeout_).count());
    std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>> objects;
    reply >> objects;
    ManagedObjects out;
    for (auto& [path, ifaces] : objects) out.emplace(path, std::move(ifaces));
    return out;
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
}

absl::Status SdbusBluezBus::SetProperty(const std::string& path, const std::string& iface, const std::string& name,
                                        const sdbus::Variant& value) {
  try {
    auto proxy = sdbus::createProxy(*connection_, kBluezService, path);
    auto call = proxy->createMethodCall("org.freedesktop.DBus.Properties", "Set");
    call << iface << name << value;
    proxy->callMethod(call, std::chrono::duration_cast<std::chrono::microseconds>(call_timeout_).count());
    return absl::OkStatus();
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
}

absl::Status SdbusBluezBus::Call(const std::string& path, const std::string& iface, const std::string& method,
                                 const std::optional<PropertyMap>& options) {
  try {
    auto proxy = sdbus::createProxy(*connection_, kBluezService, path);
    auto call = proxy->createMethodCall(iface, method);
    if (options) call << *options;
    proxy->callMethod(call, std::chrono::duration_cast<std::chrono::microseconds>(call_timeout_).count());
    return absl::OkStatus();
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
}

absl::Status SdbusBluezBus::CallWithTimeout(const std::string& path, const std::string& iface,
                                            const std::string& method, std::chrono::milliseconds timeout) {
  try {
    auto proxy = sdbus::createProxy(*connection_, kBluezService, path);
    auto call = proxy->createMethodCall(iface, method);
    proxy->callMethod(call, std::chrono::duration_cast<std::chrono::microseconds>(timeout).count());
    return absl::OkStatus();
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
}

absl::StatusOr<std::vector<uint8_t>> SdbusBluezBus::ReadValue(const std::string& characteristic_path) {
  try {
    auto proxy = sdbus::createProxy(*connection_, kBluezService, characteristic_path);
    auto call = proxy->createMethodCall(kGattCharacteristicIface, "ReadValue");
    call << PropertyMap{};
    auto reply = proxy->callMethod(call, std::chrono::duration_cast<std::chrono::microseconds>(call_timeout_).count());
    std::vector<uint8_t> value;
    reply >> value;
    return value;
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
}

absl::Status SdbusBluezBus::WriteValue(const std::string& characteristic_path, const std::vector<uint8_t>& value,
                                       const PropertyMap& options) {
  try {
    auto proxy = sdbus::createProxy(*connection_, kBluezService, characteristic_path);
    auto call = proxy->createMethodCall(kGattCharacteristicIface, "WriteValue");
    call << value << options;
    proxy->callMethod(call, std::chrono::duration_cast<std::chrono::microseconds>(call_timeout_).count());
    return absl::OkStatus();
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
}

}  // namespace healthtwin::ble
