#include "ble_bridge/bluez/scanner.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "ble_bridge/bluez/gatt_uuids.h"

namespace healthtwin::ble {
namespace {

template <typename T>
std::optional<T> Prop(const PropertyMap& props, const char* key) {
  auto it = props.find(key);
  if (it == props.end() || !it->second.containsValueOfType<T>()) return std::nullopt;
  return it->second.get<T>();
}

struct Seen {
  std::mutex mu;
  std::set<std::string> paths;
  std::map<std::string, int16_t> rssi;
  void Note(const std::string& path, const PropertyMap& props) {
    std::lock_guard lock(mu);
    paths.insert(path);
    if (auto r = Prop<int16_t>(props, "RSSI")) rssi[path] = *r;
  }
};

}  // namespace

absl::StatusOr<std::vector<ScannedDevice>> Scan(BluezBus& bus, const ScanOptions& o) {
  Seen seen;
  BusSignalHandlers handlers;
  handlers.interfaces_added = [&seen](const std::string& path, const InterfaceMap& added) {
    if (auto dev = added.find(kDeviceIface); dev != added.end()) seen.Note(path, dev->second);
  };
  handlers.properties_changed = [&seen](const std::string& path, const std::string& iface, const PropertyMap& changed,
                                        const std::vector<std::string>&) {
    if (iface == kDeviceIface && (changed.count("RSSI") || changed.count("ManufacturerData") || changed.count("ServiceData"))) {
      seen.Note(path, changed);
    }
  };
  if (absl::Status s = bus.Subscribe(std::move(handlers)); !s.ok()) return s;
  struct Unsub {
    BluezBus& bus;
    ~Unsub() { bus.Unsubscribe(); }
  } unsub{bus};

  absl::StatusOr<ManagedObjects> objects = bus.GetManagedObjects();
  if (!objects.ok()) return objects.status();
  std::vector<std::string> adapters;
  for (const auto& [path, ifaces] : *objects) {
    if (ifaces.count(kAdapterIface) && (o.adapter.empty() || path == "/org/bluez/" + o.adapter)) adapters.push_back(path);
  }
  if (adapters.empty()) return absl::NotFoundError("no Bluetooth adapter" + (o.adapter.empty() ? "" : " named " + o.adapter));

  std::vector<std::string> uuids;
  for (uint16_t u : kHealthServiceUuids16) uuids.push_back(FullUuid(u));
  std::vector<std::string> discovering;
  for (const auto& a : adapters) {
    if (absl::Status s = bus.SetProperty(a, kAdapterIface, "Powered", sdbus::Variant(true)); !s.ok()) {
      spdlog::warn("scan: cannot power on {}: {}", a, s.ToString());
      continue;
    }
    PropertyMap filter;
    filter.emplace("Transport", sdbus::Variant(std::string("le")));
    if (o.health_only) filter.emplace("UUIDs", sdbus::Variant(uuids));
    if (absl::Status s = bus.Call(a, kAdapterIface, "SetDiscoveryFilter", filter); !s.ok()) {
      spdlog::warn("scan: SetDiscoveryFilter on {}: {}", a, s.ToString());
    }
    absl::Status s = bus.Call(a, kAdapterIface, "StartDiscovery");
    if (s.ok()) {
      discovering.push_back(a);
    } else if (DbusErrorName(s) != "org.bluez.Error.InProgress") {
      spdlog::warn("scan: StartDiscovery on {}: {}", a, s.ToString());
    }
  }
  std::this_thread::sleep_for(o.duration);
  for (const auto& a : discovering) (void)bus.Call(a, kAdapterIface, "StopDiscovery");

  objects = bus.GetManagedObjects();
  if (!objects.ok()) return objects.status();
  std::vector<ScannedDevice> out;
  std::lock_guard lock(seen.mu);
  for (const auto& [path, ifaces] : *objects) {
    auto dev = ifaces.find(kDeviceIface);
    if (dev == ifaces.end()) continue;
    const PropertyMap& p = dev->second;
    ScannedDevice d;
    d.device_path = path;
    d.adapter_path = Prop<sdbus::ObjectPath>(p, "Adapter").value_or(sdbus::ObjectPath(path.substr(0, path.rfind('/'))));
    if (std::find(adapters.begin(), adapters.end(), d.adapter_path) == adapters.end()) continue;
    const auto device_uuids = Prop<std::vector<std::string>>(p, "UUIDs").value_or(std::vector<std::string>{});
    bool health = false;
    for (const auto& u : device_uuids) {
      health = health || IsHealthService(u);
      auto s = ShortUuid(u);
      d.services.push_back(s ? absl::StrFormat("%04X", *s) : u);
    }
    if (o.health_only && !health) continue;
    d.address = Prop<std::string>(p, "Address").value_or("");
    d.name = Prop<std::string>(p, "Alias").value_or(Prop<std::string>(p, "Name").value_or(""));
    d.paired = Prop<bool>(p, "Paired").value_or(false);
    d.trusted = Prop<bool>(p, "Trusted").value_or(false);
    d.connected = Prop<bool>(p, "Connected").value_or(false);
    d.seen = seen.paths.count(path) > 0;
    if (auto r = seen.rssi.find(path); r != seen.rssi.end()) {
      d.rssi = r->second;
    } else {
      d.rssi = Prop<int16_t>(p, "RSSI");  // bluetoothd exports RSSI only while it sees the device
    }
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const ScannedDevice& a, const ScannedDevice& b) {
    const int ra = a.rssi.value_or(-32768), rb = b.rssi.value_or(-32768);
    return ra != rb ? ra > rb : a.address < b.address;
  });
  return out;
}

}  // namespace healthtwin::ble
