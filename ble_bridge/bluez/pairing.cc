#include "ble_bridge/bluez/pairing.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "ble_bridge/bluez/gatt_uuids.h"

namespace healthtwin::ble {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(200);

template <typename T>
std::optional<T> Prop(const PropertyMap& props, const char* key) {
  auto it = props.find(key);
  if (it == props.end() || !it->second.containsValueOfType<T>()) return std::nullopt;
  return it->second.get<T>();
}

struct Found {
  std::string path;
  bool paired = false;
  bool trusted = false;
};

std::optional<Found> FindDevice(const ManagedObjects& objects, const std::string& address, const std::string& adapter) {
  for (const auto& [path, ifaces] : objects) {
    auto dev = ifaces.find(kDeviceIface);
    if (dev == ifaces.end()) continue;
    if (!absl::EqualsIgnoreCase(Prop<std::string>(dev->second, "Address").value_or(""), address)) continue;
    if (!adapter.empty() && !absl::StartsWith(path, "/org/bluez/" + adapter + "/")) continue;
    Found f;
    f.path = path;
    f.paired = Prop<bool>(dev->second, "Paired").value_or(false);
    f.trusted = Prop<bool>(dev->second, "Trusted").value_or(false);
    return f;
  }
  return std::nullopt;
}

absl::StatusOr<Found> Discover(BluezBus& bus, const PairOptions& o) {
  auto objects = bus.GetManagedObjects();
  if (!objects.ok()) return objects.status();
  if (auto f = FindDevice(*objects, o.address, o.adapter)) return *f;

  std::vector<std::string> adapters;
  for (const auto& [path, ifaces] : *objects) {
    if (!ifaces.count(kAdapterIface)) continue;
    if (o.adapter.empty() || path == "/org/bluez/" + o.adapter) adapters.push_back(path);
  }
  if (adapters.empty()) return absl::NotFoundError("no Bluetooth adapter" + (o.adapter.empty() ? "" : " named " + o.adapter));
  std::vector<std::string> uuids;
  for (uint16_t u : kHealthServiceUuids16) uuids.push_back(FullUuid(u));
  std::vector<std::string> started;
  for (const auto& a : adapters) {
    (void)bus.SetProperty(a, kAdapterIface, "Powered", sdbus::Variant(true));
    PropertyMap filter;
    filter.emplace("Transport", sdbus::Variant(std::string("le")));
    filter.emplace("UUIDs", sdbus::Variant(uuids));
    (void)bus.Call(a, kAdapterIface, "SetDiscoveryFilter", filter);
    absl::Status s = bus.Call(a, kAdapterIface, "StartDiscovery");
    if (s.ok()) started.push_back(a);
  }
  spdlog::info("pair: discovering for {} (up to {} s)", o.address,
               std::chrono::duration_cast<std::chrono::seconds>(o.discovery_timeout).count());
  const auto deadline = std::chrono::steady_clock::now() + o.discovery_timeout;
  std::optional<Found> found;
  while (!found && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kPollInterval);
    objects = bus.GetManagedObjects();
    if (!objects.ok()) break;
    found = FindDevice(*objects, o.address, o.adapter);
  }
  for (const auto& a : started) (void)bus.Call(a, kAdapterIface, "StopDiscovery");
  if (!objects.ok()) return objects.status();
  if (!found) return absl::NotFoundError("device " + o.address + " not found; is it advertising (pairing mode) and in range?");
  return *found;
}

}  // namespace

bool IsBluetoothAddress(const std::string& address) {
  if (address.size() != 17) return false;
  for (std::size_t i = 0; i < address.size(); ++i) {
    const bool colon = i % 3 == 2;
    if (colon ? address[i] != ':' : !absl::ascii_isxdigit(static_cast<unsigned char>(address[i]))) return false;
  }
  return true;
}

absl::StatusOr<PairResult> PairDevice(BluezBus& bus, BluezAgent& agent, const PairOptions& o) {
  if (!IsBluetoothAddress(o.address)) {
    return absl::InvalidArgumentError("address: expected AA:BB:CC:DD:EE:FF, got '" + o.address + "'");
  }
  absl::StatusOr<Found> found = Discover(bus, o);
  if (!found.ok()) return found.status();
  PairResult r;
  r.device_path = found->path;
  r.address = absl::AsciiStrToUpper(o.address);
  agent.SetTarget(found->path);
  if (found->paired) {
    r.already_paired = true;
  } else {
    spdlog::info("pair: pairing with {}", r.address);
    absl::Status s = bus.CallWithTimeout(found->path, kDeviceIface, "Pair", o.pair_timeout);
    const std::string name = DbusErrorName(s);
    if (name == "org.bluez.Error.AlreadyExists") {
      r.already_paired = true;
    } else if (absl::StartsWith(name, "org.bluez.Error.Authentication")) {
      agent.SetTarget("");
      return absl::PermissionDeniedError("pairing with " + r.address +
                                         " failed: authentication failed (wrong passkey, or refused on the device): " +
                                         std::string(s.message()));
    } else if (!s.ok()) {
      agent.SetTarget("");
      return absl::Status(s.code(), "pairing with " + r.address + " failed: " + std::string(s.message()));
    }
  }
  agent.SetTarget("");
  r.paired = true;
  if (absl::Status s = bus.SetProperty(found->path, kDeviceIface, "Trusted", sdbus::Variant(true)); !s.ok()) {
    return absl::Status(s.code(), "paired with " + r.address + " but could not trust it: " + std::string(s.message()));
  }
  // Read back what BlueZ now says rather than assume it.
  auto objects = bus.GetManagedObjects();
  if (!objects.ok()) return objects.status();
  auto now = FindDevice(*objects, r.address, o.adapter);
  if (!now) return absl::NotFoundError("device " + r.address + " vanished after pairing");
  r.paired = now->paired;
  r.trusted = now->trusted;
  if (!r.paired) return absl::FailedPreconditionError("BlueZ reports " + r.address + " as not paired after Pair");
  return r;
}

}  // namespace healthtwin::ble
