#include "ble_bridge/bluez/bluez_client.h"

#include <sdbus-c++/Error.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/strings/match.h"
#include "ble_bridge/bluez/gatt_uuids.h"

namespace healthtwin::ble {

struct BluezClient::Device {
  // Fixed at creation.
  std::string path;
  std::string adapter_path;
  std::string address;
  // Guarded by BluezClient::mu_.
  std::vector<std::string> uuids;
  bool present = true;       // exported by BlueZ now
  bool connected = false;
  bool services_resolved = false;
  bool accepted = false;
  bool session_started = false;
  bool subscribed = false;
  uint64_t adverts = 0;      // grows with each advertisement seen or reappearance
  // BluezClient::state_seq_ when a signal or a Connect reply last told this client the device's
  // state; an object enumeration asked for before then is older and must not overwrite it.
  uint64_t state_seq = 0;
  std::vector<RacpMessage> racp_inbox;  // RACP indications since the last request
};

struct BluezClient::GattInventory {
  struct Char {
    std::string path;
    std::vector<std::string> flags;
  };
  std::map<uint16_t, Char> by_uuid;  // the first characteristic of each 16-bit UUID
  std::vector<std::pair<std::string, Characteristic>> notified;
  std::optional<uint8_t> battery1;   // org.bluez.Battery1 Percentage
  std::optional<std::string> name;
  bool racp_subscribed = false;

  bool Has(uint16_t uuid, std::string_view flag) const {
    auto it = by_uuid.find(uuid);
    return it != by_uuid.end() &&
           std::find(it->second.flags.begin(), it->second.flags.end(), flag) != it->second.flags.end();
  }
};

namespace {

template <typename T>
std::optional<T> Get(const PropertyMap& props, const char* key) {
  auto it = props.find(key);
  if (it == props.end()) return std::nullopt;
  try {
    if (!it->second.containsValueOfType<T>()) return std::nullopt;
    return it->second.get<T>();
  } catch (const sdbus::Error&) {
    return std::nullopt;
  }
}

std::string Basename(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF" -> "AA:BB:CC:DD:EE:FF", for a device without Address.
std::string AddressFromPath(const std::string& path) {
  std::string name = Basename(path);
  if (absl::StartsWith(name, "dev_")) name = name.substr(4);
  std::replace(name.begin(), name.end(), '_', ':');
  return name;
}

std::optional<DateTime> DeviceTime(const GattValue& value) {
  return std::visit(
      [](const auto& v) -> std::optional<DateTime> {
        if constexpr (requires { std::optional<DateTime>(v.extras.timestamp); }) {
          return v.extras.timestamp;
        } else if constexpr (requires { std::optional<DateTime>(v.timestamp); }) {
          return v.timestamp;
        } else if constexpr (requires { DateTime(v.base_time); }) {
          return v.base_time;
        } else {
          return std::nullopt;
        }
      },
      value);
}

int64_t SystemNowUnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string_view RacpOutcomeName(RacpOutcome outcome) {
  switch (outcome) {
    case RacpOutcome::kNotSupported: return "not_supported";
    case RacpOutcome::kSuccess: return "success";
    case RacpOutcome::kNoRecords: return "no_records";
    case RacpOutcome::kFailed: return "failed";
    case RacpOutcome::kTimedOut: return "timed_out";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<BluezClient>> BluezClient::Create(BluezBus& bus, BluezClientOptions options,
                                                                MeasurementSink sink) {
  if (!sink) return absl::InvalidArgumentError("BluezClient needs a measurement sink");
  if (options.max_connect_attempts < 1) return absl::InvalidArgumentError("max_connect_attempts must be >= 1");
  return std::unique_ptr<BluezClient>(new BluezClient(bus, std::move(options), std::move(sink)));
}

BluezClient::BluezClient(BluezBus& bus, BluezClientOptions options, MeasurementSink sink)
    : bus_(bus), options_(std::move(options)), sink_(std::move(sink)) {
  if (!options_.now_unix_us) options_.now_unix_us = SystemNowUnixUs;
  if (!options_.accept_device) {
    options_.accept_device = [](const std::string&, const std::vector<std::string>& uuids) {
      return std::any_of(uuids.begin(), uuids.end(), [](const std::string& u) { return IsHealthService(u); });
    };
  }
}

BluezClient::~BluezClient() { Stop(); }

absl::Status BluezClient::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || stopping_) return absl::FailedPreconditionError("BluezClient::Start called twice");
    started_ = true;
  }
  BusSignalHandlers handlers;
  handlers.interfaces_added = [this](const std::string& p, const InterfaceMap& a) { OnInterfacesAdded(p, a); };
  handlers.interfaces_removed = [this](const std::string& p, const std::vector<std::string>& r) {
    OnInterfacesRemoved(p, r);
  };
  handlers.properties_changed = [this](const std::string& p, const std::string& i, const PropertyMap& c,
                                       const std::vector<std::string>&) { OnPropertiesChanged(p, i, c); };
  handlers.presence_changed = [this](const BluezPresence& p) { OnPresence(p); };
  if (absl::Status s = bus_.Subscribe(std::move(handlers)); !s.ok()) return s;
  // Read after subscribing, so a change in between is reported by the handler instead.
  OnPresence(bus_.Presence());
  std::lock_guard lock(mu_);
  if (!presence_.available) spdlog::warn("bluez: org.bluez is not on the system bus yet; waiting for it");
  threads_.emplace_back([this] { RunRescans(); });
  return absl::OkStatus();
}

void BluezClient::OnPresence(const BluezPresence& p) {
  std::lock_guard lock(mu_);
  if (p.epoch <= presence_.epoch) return;  // already known (read and reported both)
  // Any change while BlueZ was available voids what it told us: gone, or replaced by a new owner.
  if (presence_.available) ForgetBluezLocked();
  presence_ = p;
  cv_.notify_all();
}

void BluezClient::ForgetBluezLocked() {
  bluez_losses_.fetch_add(1);
  for (auto& [path, d] : devices_) {
    d->present = false;
    d->connected = false;
    d->services_resolved = false;
  }
  characteristics_.clear();
  spdlog::warn("bluez: BlueZ went away; {} device(s) marked disconnected until it is back", devices_.size());
}

void BluezClient::RunRescans() {
  Backoff backoff(options_.backoff, options_.backoff_seed ^ 0x5ca75ca7u);
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || (presence_.available && presence_.epoch > enumerated_epoch_); });
    if (stopping_) return;
    const uint64_t epoch = presence_.epoch;
    lock.unlock();
    absl::Status s;
    try {
      s = Enumerate(epoch);
    } catch (const std::exception& e) {
      s = absl::InternalError(std::string("enumerating: ") + e.what());
    }
    lock.lock();
    if (s.ok()) {
      enumerated_epoch_ = std::max(enumerated_epoch_, epoch);
      backoff.Reset();
      continue;
    }
    if (stopping_) return;
    const auto delay = backoff.Next();
    spdlog::warn("bluez: reading BlueZ's objects failed ({}); retrying in {} ms", s.ToString(), delay.count());
    cv_.wait_for(lock, delay, [&] { return stopping_ || presence_.epoch != epoch; });
  }
}

absl::Status BluezClient::Enumerate(uint64_t epoch) {
  uint64_t asked_at_seq;
  {
    std::lock_guard lock(mu_);
    asked_at_seq = state_seq_;
  }
  absl::StatusOr<ManagedObjects> objects = bus_.GetManagedObjects();
  if (!objects.ok()) return objects.status();
  int adapters = 0, devices = 0;
  for (const auto& [path, ifaces] : *objects) {
    auto adapter = ifaces.find(kAdapterIface);
    if (adapter != ifaces.end() && WantAdapter(path)) {
      SetUpAdapter(path, adapter->second);
      ++adapters;
    }
  }
  std::lock_guard lock(mu_);
  // BlueZ went away (again) meanwhile: these objects are already stale; the next epoch reads anew.
  if (presence_.epoch != epoch || stopping_) return absl::OkStatus();
  for (const auto& [path, ifaces] : *objects) {
    auto device = ifaces.find(kDeviceIface);
    if (device == ifaces.end()) continue;
    PropertyMap props = device->second;
    if (auto it = devices_.find(path); it != devices_.end() && it->second->state_seq > asked_at_seq) {
      // The signals (or a Connect reply) handled while this answer was on its way, or while the
      // adapters were set up above, are newer: under load a strap connected and subscribed from
      // its announcement was marked disconnected by this older Connected=false (hour soak).
      props.erase("Connected");
      props.erase("ServicesResolved");
    }
    TrackDeviceLocked(path, props, /*announced=*/false);
    if (auto it = devices_.find(path); it != devices_.end()) {
      it->second->present = true;
      ++devices;
    }
  }
  // Devices announced by a signal before now may have no session yet.
  for (auto& [path, device] : devices_) TrackDeviceLocked(path, {}, false);
  enumerations_.fetch_add(1);
  spdlog::info("bluez: read {} adapter(s) and {} device(s) from BlueZ (epoch {})", adapters, devices, epoch);
  cv_.notify_all();
  return absl::OkStatus();
}

void BluezClient::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  // Not under mu_: a signal handler may be waiting for mu_ while Unsubscribe waits for it.
  bus_.Unsubscribe();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

BluezClientStats BluezClient::stats() const {
  BluezClientStats s;
  s.connect_attempts = connect_attempts_.load();
  s.connect_retries = connect_retries_.load();
  s.connects = connects_.load();
  s.disconnects = disconnects_.load();
  s.notifications = notifications_.load();
  s.delivered = delivered_.load();
  s.rejected = rejected_.load();
  s.racp_requests = racp_requests_.load();
  s.racp_failures = racp_failures_.load();
  s.time_writes = time_writes_.load();
  s.bluez_losses = bluez_losses_.load();
  s.enumerations = enumerations_.load();
  s.sessions_started = sessions_started_.load();
  return s;
}

std::vector<std::string> BluezClient::SubscribedDevices() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [path, device] : devices_) {
    if (device->subscribed) out.push_back(device->address);
  }
  return out;
}

bool BluezClient::WantAdapter(const std::string& path) const {
  if (options_.adapters.empty()) return true;
  return std::find(options_.adapters.begin(), options_.adapters.end(), Basename(path)) != options_.adapters.end();
}

void BluezClient::SetUpAdapter(const std::string& path, const PropertyMap& props) {
  if (!Get<bool>(props, "Powered").value_or(false)) {
    if (absl::Status s = bus_.SetProperty(path, kAdapterIface, "Powered", sdbus::Variant(true)); !s.ok()) {
      spdlog::warn("bluez: cannot power on {}: {}", path, s.ToString());
      return;
    }
  }
  std::vector<std::string> uuids;
  for (uint16_t u : kHealthServiceUuids16) uuids.push_back(FullUuid(u));
  PropertyMap filter;
  filter.emplace("Transport", sdbus::Variant(std::string("le")));
  filter.emplace("UUIDs", sdbus::Variant(uuids));
  // Report every advertisement, not only changed ones: a repeated advertisement is how a device
  // that dropped the link says it is back.
  filter.emplace("DuplicateData", sdbus::Variant(true));
  if (absl::Status s = bus_.Call(path, kAdapterIface, "SetDiscoveryFilter", filter); !s.ok()) {
    spdlog::warn("bluez: SetDiscoveryFilter on {}: {}", path, s.ToString());
    return;
  }
  absl::Status s = bus_.Call(path, kAdapterIface, "StartDiscovery");
  if (!s.ok() && DbusErrorName(s) != "org.bluez.Error.InProgress") {
    spdlog::warn("bluez: StartDiscovery on {}: {}", path, s.ToString());
    return;
  }
  spdlog::info("bluez: discovering on {}", path);
}

void BluezClient::TrackDeviceLocked(const std::string& path, const PropertyMap& props, bool announced) {
  auto it = devices_.find(path);
  if (it == devices_.end()) {
    auto adapter = Get<sdbus::ObjectPath>(props, "Adapter");
    std::string adapter_path = adapter ? std::string(*adapter) : path.substr(0, path.rfind('/'));
    if (!WantAdapter(adapter_path)) return;
    auto device = std::make_shared<Device>();
    device->path = path;
    device->adapter_path = adapter_path;
    device->address = Get<std::string>(props, "Address").value_or(AddressFromPath(path));
    it = devices_.emplace(path, std::move(device)).first;
  }
  Device& d = *it->second;
  if (auto uuids = Get<std::vector<std::string>>(props, "UUIDs")) d.uuids = *uuids;
  if (auto connected = Get<bool>(props, "Connected")) d.connected = *connected;
  if (auto resolved = Get<bool>(props, "ServicesResolved")) d.services_resolved = *resolved;
  if (announced) d.present = true;
  // bluetoothd exports RSSI only while the device is being seen by discovery.
  if (announced || props.count("RSSI") || props.count("ManufacturerData") || props.count("ServiceData")) {
    ++d.adverts;
  }
  if (!d.accepted && options_.accept_device(d.address, d.uuids)) d.accepted = true;
  if (d.accepted && !d.session_started && started_ && !stopping_) {
    d.session_started = true;
    sessions_started_.fetch_add(1);
    threads_.emplace_back([this, device = it->second] { RunDevice(device); });
  }
  cv_.notify_all();
}

void BluezClient::RunDevice(std::shared_ptr<Device> d) {
  try {
    RunDeviceSession(d);
  } catch (const std::exception& e) {
    // A bug, not the bus (bus errors are Status values): end this session; the device's next
    // advertisement starts a new one.
    spdlog::error("bluez: {} session ended by an exception: {}", d->address, e.what());
    std::lock_guard lock(mu_);
    d->subscribed = false;
    d->session_started = false;
    std::erase_if(characteristics_, [&](const auto& entry) { return entry.second.device == d; });
  }
}

void BluezClient::RunDeviceSession(const std::shared_ptr<Device>& d) {
  uint64_t consumed_adverts = 0;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || (d->present && (d->connected || d->adverts > consumed_adverts)); });
    if (stopping_) return;
    consumed_adverts = d->adverts;
    if (!d->connected) {
      lock.unlock();
      absl::Status s = ConnectWithBackoff(*d);
      lock.lock();
      if (!s.ok()) {
        if (!stopping_) spdlog::warn("bluez: {} not connected, waiting for it to advertise: {}", d->address, s.ToString());
        continue;
      }
    }
    if (!cv_.wait_for(lock, options_.services_resolved_timeout,
                      [&] { return stopping_ || !d->present || !d->connected || d->services_resolved; })) {
      spdlog::warn("bluez: {} services not resolved in time; disconnecting", d->address);
      lock.unlock();
      (void)bus_.Call(d->path, kDeviceIface, "Disconnect");
      lock.lock();
      // Whatever the Disconnect reply, wait for the next advertisement rather than spin.
      d->connected = false;
      d->services_resolved = false;
      continue;
    }
    if (stopping_) return;
    if (!d->present || !d->connected) continue;
    lock.unlock();
    absl::StatusOr<GattInventory> inventory = SubscribeCharacteristics(d);
    lock.lock();
    if (!inventory.ok()) {
      spdlog::warn("bluez: {}: {}", d->address, inventory.status().ToString());
      // Stay connected; a new advertisement or reconnect tries again.
      cv_.wait(lock, [&] { return stopping_ || !d->present || !d->connected; });
      if (stopping_) return;
      continue;
    }
    d->subscribed = true;
    connects_.fetch_add(1);
    spdlog::info("bluez: {} subscribed", d->address);
    lock.unlock();
    DeviceReport report = AfterConnect(d, *inventory);
    if (options_.on_device_report) options_.on_device_report(report);
    lock.lock();
    cv_.wait(lock, [&] { return stopping_ || !d->present || !d->connected; });
    d->subscribed = false;
    std::erase_if(characteristics_, [&](const auto& entry) { return entry.second.device == d; });
    if (stopping_) return;
    disconnects_.fetch_add(1);
    spdlog::info("bluez: {} disconnected; will reconnect when it advertises", d->address);
    if (options_.on_disconnect) {
      lock.unlock();
      options_.on_disconnect(d->address, options_.now_unix_us());
      lock.lock();
    }
    if (d->present && !d->connected) {
      // What ended the session may be out of date (a lost or late signal): when BlueZ still holds
      // the link, no advertisement comes (a connected peripheral does not advertise) and no
      // Connected change either, so ask BlueZ and subscribe again at once.
      const uint64_t asked_at_seq = state_seq_;
      lock.unlock();
      std::optional<PropertyMap> now = ReadDeviceProperties(d->path);
      lock.lock();
      if (now && d->present && d->state_seq <= asked_at_seq && Get<bool>(*now, "Connected").value_or(false)) {
        spdlog::info("bluez: {} is still connected in BlueZ; subscribing again", d->address);
        d->connected = true;
        d->services_resolved = Get<bool>(*now, "ServicesResolved").value_or(false);
      }
    }
  }
}

absl::Status BluezClient::ConnectWithBackoff(Device& d) {
  uint64_t seed;
  {
    std::lock_guard lock(mu_);
    seed = options_.backoff_seed + next_seed_++;
  }
  Backoff backoff(options_.backoff, seed);
  absl::Status last;
  for (int attempt = 1; attempt <= options_.max_connect_attempts; ++attempt) {
    if (attempt > 1) {
      connect_retries_.fetch_add(1);
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, backoff.Next(), [&] { return stopping_ || !d.present || d.connected; });
      if (stopping_) return absl::CancelledError("stopping");
      if (!d.present) return absl::NotFoundError("device removed");
      if (d.connected) return absl::OkStatus();  // connected by someone else meanwhile
    }
    connect_attempts_.fetch_add(1);
    last = bus_.Call(d.path, kDeviceIface, "Connect");
    if (last.ok() || last.code() == absl::StatusCode::kAlreadyExists) {
      std::optional<PropertyMap> now;
      // Already connected: BlueZ sends no ServicesResolved change for a link it holds, so read it
      // rather than wait services_resolved_timeout for a signal that never comes.
      if (!last.ok()) now = ReadDeviceProperties(d.path);
      std::lock_guard lock(mu_);
      // The reply may overtake the Connected=true signal; a later Connected=false still wins.
      d.connected = true;
      if (now) d.services_resolved = Get<bool>(*now, "ServicesResolved").value_or(d.services_resolved);
      d.state_seq = ++state_seq_;
      return absl::OkStatus();
    }
    // org.bluez.Error.InProgress (another Connect is under way), org.bluez.Error.Failed with
    // "le-connection-abort-by-local" / "Software caused connection abort", NotReady and bus
    // timeouts are all transient; only a device that no longer exists is final.
    if (last.code() == absl::StatusCode::kNotFound) return last;
    spdlog::info("bluez: connect {} attempt {} failed: {}", d.address, attempt, last.ToString());
  }
  return last;
}

absl::StatusOr<BluezClient::GattInventory> BluezClient::SubscribeCharacteristics(const std::shared_ptr<Device>& d) {
  absl::StatusOr<ManagedObjects> objects = bus_.GetManagedObjects();
  if (!objects.ok()) return objects.status();
  GattInventory inv;
  if (auto self = objects->find(d->path); self != objects->end()) {
    if (auto dev = self->second.find(kDeviceIface); dev != self->second.end()) {
      inv.name = Get<std::string>(dev->second, "Alias");
      if (!inv.name) inv.name = Get<std::string>(dev->second, "Name");
    }
    if (auto battery = self->second.find(kBatteryIface); battery != self->second.end()) {
      inv.battery1 = Get<uint8_t>(battery->second, "Percentage");
    }
  }
  std::vector<std::pair<std::string, Characteristic>> found;
  const std::string prefix = d->path + "/";
  for (const auto& [path, ifaces] : *objects) {
    if (!absl::StartsWith(path, prefix)) continue;
    auto ch = ifaces.find(kGattCharacteristicIface);
    if (ch == ifaces.end()) continue;
    auto uuid = Get<std::string>(ch->second, "UUID");
    if (!uuid) continue;
    if (auto short_uuid = ShortUuid(*uuid)) {
      inv.by_uuid.emplace(*short_uuid, GattInventory::Char{path, Get<std::vector<std::string>>(ch->second, "Flags")
                                                                     .value_or(std::vector<std::string>{})});
    }
    if (auto c = NotifiedCharacteristic(*uuid)) found.emplace_back(path, *c);
  }
  if (found.empty()) return absl::NotFoundError("no supported characteristic");
  inv.notified = found;
  // The RACP answers by indication: subscribe to it too, with its own handling in OnValue().
  if (auto racp = inv.by_uuid.find(static_cast<uint16_t>(Characteristic::kRecordAccessControlPoint));
      racp != inv.by_uuid.end()) {
    found.emplace_back(racp->second.path, Characteristic::kRecordAccessControlPoint);
  }
  {
    // Registered before StartNotify, so the first notification (often sent at once) is kept.
    std::lock_guard lock(mu_);
    for (const auto& [path, c] : found) characteristics_[path] = CharacteristicRef{d, c};
  }
  int subscribed = 0;
  for (const auto& [path, c] : found) {
    absl::Status s;
    for (int attempt = 0; attempt < 3; ++attempt) {
      s = bus_.Call(path, kGattCharacteristicIface, "StartNotify");
      if (s.ok() || s.code() == absl::StatusCode::kAlreadyExists || DbusErrorName(s) != "org.bluez.Error.InProgress") {
        break;
      }
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return stopping_ || !d->connected; });
      if (stopping_ || !d->connected) break;
    }
    if (s.ok() || s.code() == absl::StatusCode::kAlreadyExists) {
      if (c == Characteristic::kRecordAccessControlPoint) {
        inv.racp_subscribed = true;
      } else {
        ++subscribed;
      }
    } else {
      spdlog::warn("bluez: StartNotify {} ({}): {}", path, CharacteristicShortUuid(c), s.ToString());
      std::lock_guard lock(mu_);
      characteristics_.erase(path);
    }
  }
  if (subscribed == 0) return absl::UnavailableError("StartNotify failed on every characteristic");
  return inv;
}

DeviceReport BluezClient::AfterConnect(const std::shared_ptr<Device>& d, const GattInventory& inv) {
  DeviceReport r;
  r.device_address = d->address;
  r.device_path = d->path;
  r.name = inv.name;
  r.connected_at_unix_us = options_.now_unix_us();
  // A failed read is logged and leaves the field empty: it never fails the connection.
  auto read = [&](Characteristic c) -> std::optional<Decoded> {
    const auto uuid = static_cast<uint16_t>(c);
    if (!inv.Has(uuid, "read")) return std::nullopt;
    absl::StatusOr<std::vector<uint8_t>> value = bus_.ReadValue(inv.by_uuid.at(uuid).path);
    if (!value.ok()) {
      spdlog::warn("bluez: {} ReadValue {}: {}", d->address, CharacteristicShortUuid(c), value.status().ToString());
      return std::nullopt;
    }
    absl::StatusOr<Decoded> decoded = decoder_.Decode(c, *value);
    if (!decoded.ok()) {
      rejected_.fetch_add(1);
      spdlog::warn("bluez: {} read a malformed {}: {}", d->address, CharacteristicShortUuid(c),
                   std::string(decoded.status().message()));
      return std::nullopt;
    }
    return *std::move(decoded);
  };

  const std::pair<Characteristic, std::optional<std::string> DeviceReport::*> info[] = {
      {Characteristic::kManufacturerNameString, &DeviceReport::manufacturer},
      {Characteristic::kModelNumberString, &DeviceReport::model},
      {Characteristic::kSerialNumberString, &DeviceReport::serial},
      {Characteristic::kFirmwareRevisionString, &DeviceReport::firmware},
  };
  for (const auto& [c, field] : info) {
    if (auto v = read(c)) r.*field = std::get<DeviceInfoString>(v->value).value;
  }

  if (inv.battery1) {
    r.battery_percent = inv.battery1;
    r.battery_source = kBatteryIface;
  } else if (auto v = read(Characteristic::kBatteryLevel)) {
    r.battery_percent = std::get<BatteryLevel>(v->value).battery_percent;
    r.battery_source = "2A19";
  }

  if (auto v = read(Characteristic::kCurrentTime)) {
    const int64_t now_us = options_.now_unix_us();
    if (auto device_us = LocalDateTimeToUnixMicros(std::get<CurrentTime>(v->value).date_time)) {
      r.clock_skew_us = *device_us - now_us;
      spdlog::info("bluez: {} clock skew {} s (Current Time read)", d->address, *r.clock_skew_us / 1'000'000);
    }
  }
  const auto cts = static_cast<uint16_t>(Characteristic::kCurrentTime);
  if (options_.write_current_time && (inv.Has(cts, "write") || inv.Has(cts, "write-without-response"))) {
    const int64_t now_us = options_.now_unix_us();
    const std::time_t now_s = static_cast<std::time_t>(now_us / 1'000'000);
    std::tm tm{};
    localtime_r(&now_s, &tm);
    DateTime local{.year = static_cast<uint16_t>(tm.tm_year + 1900),
                   .month = static_cast<uint8_t>(tm.tm_mon + 1),
                   .day = static_cast<uint8_t>(tm.tm_mday),
                   .hours = static_cast<uint8_t>(tm.tm_hour),
                   .minutes = static_cast<uint8_t>(tm.tm_min),
                   .seconds = static_cast<uint8_t>(tm.tm_sec)};
    const auto fractions = static_cast<uint8_t>((now_us % 1'000'000) * 256 / 1'000'000);
    absl::StatusOr<CurrentTime> ct = MakeCurrentTime(local, fractions, kAdjustExternalReference);
    absl::StatusOr<std::vector<uint8_t>> bytes = ct.ok() ? EncodeCurrentTime(*ct) : ct.status();
    absl::Status s = bytes.ok() ? absl::OkStatus() : bytes.status();
    if (s.ok()) {
      PropertyMap options;
      // A plain write gets no reply from the device; bluetoothd picks it for "write" only.
      if (inv.Has(cts, "write")) options.emplace("type", sdbus::Variant(std::string("request")));
      s = bus_.WriteValue(inv.by_uuid.at(cts).path, *bytes, options);
    }
    if (s.ok()) {
      r.time_written = true;
      time_writes_.fetch_add(1);
      spdlog::info("bluez: {} Current Time set to {}", d->address, local.ToIso8601().value_or("?"));
    } else {
      spdlog::warn("bluez: {} writing Current Time: {}", d->address, s.ToString());
    }
  }

  CatchUpRecords(d, inv, r);
  if (r.battery_percent) spdlog::info("bluez: {} battery {}% ({})", d->address, *r.battery_percent, r.battery_source);
  if (r.manufacturer || r.model || r.serial || r.firmware) {
    // No serial number in the log (it identifies the wearer's device); the strings come from
    // the device, so they are quoted and escaped ({:?}) and cannot forge log lines.
    spdlog::info("bluez: {} device information: manufacturer {:?}, model {:?}, firmware {:?}{}", d->address,
                 r.manufacturer.value_or(""), r.model.value_or(""), r.firmware.value_or(""),
                 r.serial ? " (serial number read)" : "");
  }
  return r;
}

void BluezClient::CatchUpRecords(const std::shared_ptr<Device>& d, const GattInventory& inv, DeviceReport& r) {
  const auto racp_uuid = static_cast<uint16_t>(Characteristic::kRecordAccessControlPoint);
  const auto has = [&](std::initializer_list<Characteristic> kinds) {
    return std::any_of(inv.notified.begin(), inv.notified.end(), [&](const auto& entry) {
      return std::find(kinds.begin(), kinds.end(), entry.second) != kinds.end();
    });
  };
  const bool has_glucose = has({Characteristic::kGlucoseMeasurement});
  // Cuffs, scales, thermometers and oximeters that keep records behind a RACP (the Enhanced
  // Blood Pressure and Pulse Oximeter services define one) send them as time-stamped
  // measurements; those carry no sequence number to resume from, so the bridge asks for all of
  // them on every connect and ingest's idempotency key (device, type, measured_at) drops the ones
  // it already stored.
  const bool has_stored = has({Characteristic::kBloodPressureMeasurement, Characteristic::kWeightMeasurement,
                               Characteristic::kTemperatureMeasurement, Characteristic::kPlxSpotCheckMeasurement});
  if (!inv.racp_subscribed || !(has_glucose || has_stored) || !inv.Has(racp_uuid, "write")) return;
  std::optional<uint16_t> last;
  if (options_.last_record_seq && has_glucose) {
    last = options_.last_record_seq(d->address, Characteristic::kGlucoseMeasurement);
  }
  RacpMessage request;
  request.op_code = RacpOpCode::kReportStoredRecords;
  request.op = RacpOperator::kAllRecords;
  // After 0xFFFF the device's counter wraps; asking for everything is then the safe choice, and
  // the outbox/ingest idempotency keys drop what was stored before.
  if (last && *last < 0xFFFF) {
    request = RacpReportRecordsFrom(static_cast<uint16_t>(*last + 1));
    r.racp_from_sequence = static_cast<uint16_t>(*last + 1);
  }
  absl::StatusOr<std::vector<uint8_t>> bytes = EncodeRacp(request);
  if (!bytes.ok()) {  // cannot happen: the request is built here
    spdlog::error("bluez: encoding RACP request: {}", bytes.status().ToString());
    return;
  }
  {
    std::lock_guard lock(mu_);
    d->racp_inbox.clear();
  }
  racp_requests_.fetch_add(1);
  PropertyMap options;
  options.emplace("type", sdbus::Variant(std::string("request")));
  if (absl::Status s = bus_.WriteValue(inv.by_uuid.at(racp_uuid).path, *bytes, options); !s.ok()) {
    racp_failures_.fetch_add(1);
    r.racp = RacpOutcome::kFailed;
    r.racp_detail = std::string(s.message());
    spdlog::warn("bluez: {} RACP request: {}", d->address, s.ToString());
    return;
  }
  std::optional<RacpMessage> response;
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, options_.racp_timeout, [&] {
    for (const RacpMessage& m : d->racp_inbox) {
      if (m.op_code == RacpOpCode::kResponseCode &&
          m.request_op_code == static_cast<uint8_t>(RacpOpCode::kReportStoredRecords)) {
        response = m;
        return true;
      }
    }
    return stopping_ || !d->connected;
  });
  lock.unlock();
  const std::string from = r.racp_from_sequence ? ">= " + std::to_string(*r.racp_from_sequence) : "all";
  if (!response) {
    racp_failures_.fetch_add(1);
    r.racp = RacpOutcome::kTimedOut;
    r.racp_detail = "no RACP response";
    spdlog::warn("bluez: {} RACP report stored records ({}): no response", d->address, from);
    return;
  }
  const uint8_t code = response->response_code.value_or(0);
  r.racp_detail = std::string(RacpResponseCodeName(code));
  if (code == static_cast<uint8_t>(RacpResponseCode::kSuccess)) {
    r.racp = RacpOutcome::kSuccess;
  } else if (code == static_cast<uint8_t>(RacpResponseCode::kNoRecordsFound)) {
    r.racp = RacpOutcome::kNoRecords;
  } else {
    r.racp = RacpOutcome::kFailed;
    racp_failures_.fetch_add(1);
  }
  spdlog::info("bluez: {} RACP report stored records ({}): {}", d->address, from, r.racp_detail);
}

void BluezClient::OnInterfacesAdded(const std::string& path, const InterfaceMap& added) {
  if (auto adapter = added.find(kAdapterIface); adapter != added.end() && WantAdapter(path)) {
    std::lock_guard lock(mu_);
    // Set-up makes blocking calls, which must not run on the dispatch thread.
    if (started_ && !stopping_) {
      threads_.emplace_back([this, path, props = adapter->second] {
        try {
          SetUpAdapter(path, props);
        } catch (const std::exception& e) {
          spdlog::error("bluez: setting up {}: {}", path, e.what());
        }
      });
    }
  }
  if (auto device = added.find(kDeviceIface); device != added.end()) {
    std::lock_guard lock(mu_);
    PropertyMap props = device->second;
    if (auto it = devices_.find(path); it != devices_.end() && it->second->present) {
      // bluetoothd announces an object once until it removes it, so this one was sent before
      // what this client has learnt since (an enumeration, a Connect reply): its Connected and
      // ServicesResolved are out of date and must not end a connection the client holds.
      spdlog::info("bluez: {} announced again without being removed; keeping its connection state",
                   it->second->address);
      props.erase("Connected");
      props.erase("ServicesResolved");
    }
    TrackDeviceLocked(path, props, /*announced=*/true);
    NoteStateLocked(path);
  }
}

void BluezClient::OnInterfacesRemoved(const std::string& path, const std::vector<std::string>& removed) {
  auto has = [&](const char* iface) { return std::find(removed.begin(), removed.end(), iface) != removed.end(); };
  std::lock_guard lock(mu_);
  for (auto& [device_path, d] : devices_) {
    // An adapter can vanish without its devices being announced as removed first.
    bool gone = (device_path == path && has(kDeviceIface)) || (has(kAdapterIface) && d->adapter_path == path);
    if (!gone) continue;
    d->present = false;
    d->connected = false;
    d->services_resolved = false;
    d->state_seq = ++state_seq_;
  }
  cv_.notify_all();
}

void BluezClient::OnPropertiesChanged(const std::string& path, const std::string& iface, const PropertyMap& changed) {
  if (iface == kGattCharacteristicIface) {
    if (auto value = changed.find("Value"); value != changed.end()) OnValue(path, value->second);
    return;
  }
  if (iface == kBatteryIface) {
    auto percent = Get<uint8_t>(changed, "Percentage");
    if (!percent || !options_.on_battery_level) return;
    std::string address;
    {
      std::lock_guard lock(mu_);
      auto it = devices_.find(path);
      if (it == devices_.end()) return;
      address = it->second->address;
    }
    options_.on_battery_level(address, *percent, options_.now_unix_us());
    return;
  }
  if (iface != kDeviceIface) return;
  std::lock_guard lock(mu_);
  auto it = devices_.find(path);
  if (it == devices_.end()) {
    // A device first seen before this client started, or one whose UUIDs arrive later.
    TrackDeviceLocked(path, changed, /*announced=*/false);
    if (changed.count("Connected") || changed.count("ServicesResolved")) NoteStateLocked(path);
    return;
  }
  TrackDeviceLocked(path, changed, /*announced=*/false);
  if (auto connected = Get<bool>(changed, "Connected"); connected && !*connected) it->second->services_resolved = false;
  if (changed.count("Connected") || changed.count("ServicesResolved")) NoteStateLocked(path);
}

void BluezClient::NoteStateLocked(const std::string& path) {
  if (auto it = devices_.find(path); it != devices_.end()) it->second->state_seq = ++state_seq_;
}

std::optional<PropertyMap> BluezClient::ReadDeviceProperties(const std::string& path) {
  absl::StatusOr<ManagedObjects> objects = bus_.GetManagedObjects();
  if (!objects.ok()) {
    spdlog::warn("bluez: reading {}: {}", path, objects.status().ToString());
    return std::nullopt;
  }
  auto self = objects->find(path);
  if (self == objects->end()) return std::nullopt;
  auto dev = self->second.find(kDeviceIface);
  if (dev == self->second.end()) return std::nullopt;
  return dev->second;
}

void BluezClient::OnValue(const std::string& path, const sdbus::Variant& value) {
  const int64_t received_at_unix_us = options_.now_unix_us();
  CharacteristicRef ref;
  {
    std::lock_guard lock(mu_);
    auto it = characteristics_.find(path);
    if (it == characteristics_.end()) return;
    ref = it->second;
  }
  notifications_.fetch_add(1);
  std::vector<uint8_t> bytes;
  try {
    bytes = value.get<std::vector<uint8_t>>();
  } catch (const sdbus::Error& e) {
    rejected_.fetch_add(1);
    spdlog::warn("bluez: {} sent a Value that is not a byte array", path);
    return;
  }
  absl::StatusOr<Decoded> decoded = decoder_.Decode(ref.characteristic, bytes);
  if (!decoded.ok()) {
    rejected_.fetch_add(1);
    spdlog::warn("bluez: {} rejected from {}: {}", CharacteristicShortUuid(ref.characteristic), ref.device->address,
                 std::string(decoded.status().message()));
    return;
  }
  if (ref.characteristic == Characteristic::kRecordAccessControlPoint) {
    // A RACP indication answers this client's own request; it is no measurement.
    std::lock_guard lock(mu_);
    ref.device->racp_inbox.push_back(std::get<RacpMessage>(decoded->value));
    cv_.notify_all();
    return;
  }
  ReceivedMeasurement m{.device_address = ref.device->address,
                        .device_path = ref.device->path,
                        .adapter_path = ref.device->adapter_path,
                        .decoded = *std::move(decoded),
                        .device_time = std::nullopt,
                        .received_at_unix_us = received_at_unix_us};
  m.device_time = DeviceTime(m.decoded.value);
  sink_(m);
  delivered_.fetch_add(1);
}

}  // namespace healthtwin::ble
