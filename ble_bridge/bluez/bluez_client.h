// The bridge's BlueZ client: it powers the adapters, discovers health devices, connects to them
// (with backoff), subscribes to every supported measurement characteristic and hands each decoded
// value to a sink. BlueZ does not reconnect plain GATT devices, so this client does: after a
// disconnect it connects again as soon as the device advertises (an RSSI, ManufacturerData or
// ServiceData change) or reappears on the bus (InterfacesAdded).
//
// Model: every accepted device gets its own thread, which runs connect -> wait ServicesResolved
// -> StartNotify -> wait for the disconnect, and blocks only on its own D-Bus calls, so a slow
// Connect to one device never delays another. Signals (object added/removed, property changes,
// notifications) arrive on the bus's dispatch thread; notifications are decoded and delivered to
// the sink there, in arrival order per characteristic.
//
// Ownership and threading: the client does not own the bus, which must outlive it. Start() and
// Stop() are called from one thread; every other method is thread-safe. The sink is called on the
// bus's dispatch thread and must not block for long (appending to the outbox is fine) nor call
// Stop().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ble_bridge/bluez/backoff.h"
#include "ble_bridge/bluez/bluez_bus.h"
#include "ble_bridge/parsers/date_time.h"
#include "ble_bridge/parsers/decoder.h"

namespace healthtwin::ble {

struct ReceivedMeasurement {
  std::string device_address;  // "AA:BB:CC:DD:EE:FF"
  std::string device_path;     // "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF"
  std::string adapter_path;    // "/org/bluez/hci0"
  Decoded decoded;
  // The device's own time stamp when the value carries one: local time as the device shows it,
  // with no zone, so it is kept as is rather than guessed into UTC.
  std::optional<DateTime> device_time;
  int64_t received_at_unix_us = 0;  // gateway clock, when the notification was dispatched
};

using MeasurementSink = std::function<void(const ReceivedMeasurement&)>;

struct BluezClientOptions {
  // Adapter names ("hci0") to use; empty means every adapter BlueZ has, including later ones.
  std::vector<std::string> adapters;
  // Whether to connect to a device. Default: it advertises one of kHealthServiceUuids16.
  std::function<bool(const std::string& address, const std::vector<std::string>& uuids)> accept_device;
  BackoffPolicy backoff;
  uint64_t backoff_seed = 1;
  // Connect attempts per advertisement; after that the device waits for its next advertisement.
  int max_connect_attempts = 6;
  std::chrono::milliseconds services_resolved_timeout{20'000};
  // Gateway clock; default system_clock.
  std::function<int64_t()> now_unix_us;
};

struct BluezClientStats {
  uint64_t connect_attempts = 0;
  uint64_t connect_retries = 0;  // attempts after an InProgress, abort or other transient error
  uint64_t connects = 0;         // sessions that reached "subscribed"
  uint64_t disconnects = 0;
  uint64_t notifications = 0;    // Value changes on subscribed characteristics
  uint64_t delivered = 0;        // decoded and handed to the sink
  uint64_t rejected = 0;         // malformed payloads (also counted per characteristic by decoder())
};

class BluezClient {
 public:
  static absl::StatusOr<std::unique_ptr<BluezClient>> Create(BluezBus& bus, BluezClientOptions options,
                                                            MeasurementSink sink);
  ~BluezClient();  // Stop()s

  // Subscribes to signals, reads the current objects, powers on the adapters, sets the discovery
  // filter (LE, health services) and starts discovery, then starts a session per accepted device.
  // An error from the bus (BlueZ not running) is returned; a single adapter that refuses to power
  // on or discover is logged and skipped.
  absl::Status Start();
  // Stops every session thread and signal delivery. Idempotent. Leaves devices connected.
  void Stop();

  BluezClientStats stats() const;
  const GattDecoder& decoder() const { return decoder_; }
  // Addresses of devices whose characteristics are subscribed now.
  std::vector<std::string> SubscribedDevices() const;

 private:
  struct Device;
  struct CharacteristicRef {
    std::shared_ptr<Device> device;
    Characteristic characteristic;
  };

  BluezClient(BluezBus& bus, BluezClientOptions options, MeasurementSink sink);

  void SetUpAdapter(const std::string& path, const PropertyMap& props);
  bool WantAdapter(const std::string& path) const;
  // Called with mu_ held.
  void TrackDeviceLocked(const std::string& path, const PropertyMap& props, bool announced);
  void RunDevice(std::shared_ptr<Device> device);
  absl::Status ConnectWithBackoff(Device& device);
  absl::Status SubscribeCharacteristics(const std::shared_ptr<Device>& device);

  void OnInterfacesAdded(const std::string& path, const InterfaceMap& added);
  void OnInterfacesRemoved(const std::string& path, const std::vector<std::string>& removed);
  void OnPropertiesChanged(const std::string& path, const std::string& iface, const PropertyMap& changed);
  void OnValue(const std::string& path, const sdbus::Variant& value);

  BluezBus& bus_;
  BluezClientOptions options_;
  MeasurementSink sink_;
  GattDecoder decoder_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // any device state change, or stopping_
  bool started_ = false;
  bool stopping_ = false;
  std::map<std::string, std::shared_ptr<Device>> devices_;               // by object path
  std::map<std::string, CharacteristicRef> characteristics_;              // subscribed, by object path
  std::vector<std::thread> threads_;                                      // device sessions, adapter set-up
  uint64_t next_seed_ = 0;

  std::atomic<uint64_t> connect_attempts_{0};
  std::atomic<uint64_t> connect_retries_{0};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> disconnects_{0};
  std::atomic<uint64_t> notifications_{0};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> rejected_{0};
};

}  // namespace healthtwin::ble
