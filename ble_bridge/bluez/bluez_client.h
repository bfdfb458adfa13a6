// The bridge's BlueZ client: it powers the adapters, discovers health devices, connects to them
// (with backoff), subscribes to every supported measurement characteristic and hands each decoded
// value to a sink. BlueZ does not reconnect plain GATT devices, so this client does: after a
// disconnect it connects again as soon as the device advertises (an RSSI, ManufacturerData or
// ServiceData change) or reappears on the bus (InterfacesAdded). After a disconnect it first asks
// BlueZ whether the link is really gone: a device BlueZ still holds is subscribed again at once.
// State told by signals and Connect replies is never overwritten by an older object enumeration
// or by a repeated announcement of a device not removed since.
//
// On every connect, after subscribing, the session also (in this order): reads Device Information
// (2A29, 2A24, 2A25, 2A26) and the battery level (org.bluez.Battery1 Percentage, else a 2A19
// ReadValue); reads Current Time (2A2B) when readable, to measure the device clock's skew, and
// writes the gateway's local time to it when its Flags allow a write (once per connection);
// and, when the device has a RACP (2A52) and glucose measurements (2A18), asks for the stored
// records from the last sequence number seen + 1 (options.last_record_seq; all records for a
// device never seen) and waits up to racp_timeout for the RACP response indication; a RACP
// beside time-stamped blood pressure (2A35), weight (2A9D), temperature (2A1C) or PLX spot-check
// (2A5E) measurements is asked for all its records (they have no sequence number; ingest drops
// the ones already stored by their idempotency key). The records
// themselves arrive as ordinary measurement notifications and reach the sink like any other; the caller
// persists the cursor (the highest sequence number it has stored). What was learnt is handed to
// options.on_device_report.
//
// Model: every accepted device gets its own thread, which runs connect -> wait ServicesResolved
// -> StartNotify -> wait for the disconnect, and blocks only on its own D-Bus calls, so a slow
// Connect to one device never delays another. Signals (object added/removed, property changes,
// notifications) arrive on the bus's dispatch thread; notifications are decoded and delivered to
// the sink there, in arrival order per characteristic.
//
// BlueZ or the bus going away: when the bus reports org.bluez gone (bluetoothd stopped, or the
// system bus connection lost), every device is treated as disconnected and absent and its
// subscriptions as void. When org.bluez is back (a new owner, or a new bus connection), a rescan
// thread enumerates the objects again (GetManagedObjects), powers the adapters and restarts
// discovery; devices that BlueZ still has connected are subscribed again (StartNotify) and go
// through the on-connect steps above, RACP catch-up from the stored cursor included; the others
// are connected when they advertise, as after any disconnect.
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
#include <string_view>
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

enum class RacpOutcome { kNotSupported, kSuccess, kNoRecords, kFailed, kTimedOut };
std::string_view RacpOutcomeName(RacpOutcome outcome);

// What one connection learnt about a device, besides its measurements.
struct DeviceReport {
  std::string device_address;
  std::string device_path;
  std::optional<std::string> name;            // Device1.Alias or Name
  int64_t connected_at_unix_us = 0;           // gateway clock
  std::optional<uint8_t> battery_percent;
  std::string battery_source;                 // "org.bluez.Battery1" or "2A19"
  std::optional<std::string> manufacturer;    // 2A29
  std::optional<std::string> model;           // 2A24
  std::optional<std::string> serial;          // 2A25
  std::optional<std::string> firmware;        // 2A26
  // Device Current Time (read as local civil time) minus the gateway clock at the read, before
  // any write; nullopt when 2A2B is absent, not readable or its date is unknown.
  std::optional<int64_t> clock_skew_us;
  bool time_written = false;                  // Current Time written on this connection
  RacpOutcome racp = RacpOutcome::kNotSupported;
  std::optional<uint16_t> racp_from_sequence; // nullopt: all records were requested
  std::string racp_detail;                    // response code name or error
};

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
  // The highest record sequence number already stored for (address, characteristic), for RACP
  // catch-up; nullopt when none. Called on the device thread. Default: always nullopt.
  std::function<std::optional<uint16_t>(const std::string& address, Characteristic)> last_record_seq;
  // How long to wait for the RACP response indication after the request.
  std::chrono::milliseconds racp_timeout{30'000};
  // Write Current Time to devices that allow it.
  bool write_current_time = true;
  // Called on the device thread after each connection's reads, time sync and RACP catch-up.
  std::function<void(const DeviceReport&)> on_device_report;
  // Called on the device thread when a subscribed device's connection ends (BlueZ says
  // disconnected, the device or its adapter went away, or org.bluez did), with the gateway time;
  // not when the client stops.
  std::function<void(const std::string& address, int64_t at_unix_us)> on_disconnect;
  // Called on the bus's dispatch thread when org.bluez.Battery1 Percentage of a known device
  // changes (BlueZ's battery plugin owns 2A19 when it is loaded, so levels arrive this way).
  std::function<void(const std::string& address, uint8_t percent, int64_t at_unix_us)> on_battery_level;
};

struct BluezClientStats {
  uint64_t connect_attempts = 0;
  uint64_t connect_retries = 0;  // attempts after an InProgress, abort or other transient error
  uint64_t connects = 0;         // sessions that reached "subscribed"
  uint64_t disconnects = 0;
  uint64_t notifications = 0;    // Value changes on subscribed characteristics
  uint64_t delivered = 0;        // decoded and handed to the sink
  uint64_t rejected = 0;         // malformed payloads (also counted per characteristic by decoder())
  uint64_t racp_requests = 0;
  uint64_t racp_failures = 0;    // error response, bad write or no response in time
  uint64_t time_writes = 0;      // Current Time written
  uint64_t bluez_losses = 0;     // org.bluez went away (bluetoothd restart, bus lost)
  uint64_t enumerations = 0;     // object enumerations (the first, then one per return of org.bluez)
  uint64_t sessions_started = 0;  // device sessions begun (an accepted device, again after each end)
};

class BluezClient {
 public:
  static absl::StatusOr<std::unique_ptr<BluezClient>> Create(BluezBus& bus, BluezClientOptions options,
                                                            MeasurementSink sink);
  ~BluezClient();  // Stop()s

  // Subscribes to signals and starts the rescan thread, which (now, and each time org.bluez comes
  // back) reads the current objects, powers on the adapters, sets the discovery filter (LE,
  // health services) and starts discovery, then starts a session per accepted device. Returns
  // without waiting for BlueZ: when it is not running yet the client waits for it. A single
  // adapter that refuses to power on or discover is logged and skipped.
  absl::Status Start();
  // Stops every session thread and signal delivery. Idempotent. Leaves devices connected.
  void Stop();

  BluezClientStats stats() const;
  const GattDecoder& decoder() const { return decoder_; }
  // Addresses of devices whose characteristics are subscribed now.
  std::vector<std::string> SubscribedDevices() const;

 private:
  struct Device;
  struct GattInventory;
  struct CharacteristicRef {
    std::shared_ptr<Device> device;
    Characteristic characteristic;
  };

  BluezClient(BluezBus& bus, BluezClientOptions options, MeasurementSink sink);

  void SetUpAdapter(const std::string& path, const PropertyMap& props);
  bool WantAdapter(const std::string& path) const;
  // Called with mu_ held.
  void TrackDeviceLocked(const std::string& path, const PropertyMap& props, bool announced);
  // Thread entry points: each catches and logs what escapes, so nothing reaches std::terminate.
  void RunDevice(std::shared_ptr<Device> device);
  void RunDeviceSession(const std::shared_ptr<Device>& device);
  void RunRescans();
  // Reads BlueZ's objects for presence `epoch`; sets up adapters and tracks devices.
  absl::Status Enumerate(uint64_t epoch);
  void OnPresence(const BluezPresence& presence);
  // org.bluez is gone: nothing learnt from it holds any more. Called with mu_ held.
  void ForgetBluezLocked();
  absl::Status ConnectWithBackoff(Device& device);
  // A signal or a Connect reply told the state of the device at `path`: newer than any object
  // enumeration asked for before now. Called with mu_ held.
  void NoteStateLocked(const std::string& path);
  // BlueZ's current Device1 properties of `path` (GetManagedObjects); nullopt when it is gone or
  // the call fails. Blocking: not with mu_ held, not on the dispatch thread.
  std::optional<PropertyMap> ReadDeviceProperties(const std::string& path);
  absl::StatusOr<GattInventory> SubscribeCharacteristics(const std::shared_ptr<Device>& device);
  // Reads, time sync and RACP catch-up after a connect; returns what it learnt.
  DeviceReport AfterConnect(const std::shared_ptr<Device>& device, const GattInventory& inventory);
  void CatchUpRecords(const std::shared_ptr<Device>& device, const GattInventory& inventory, DeviceReport& report);

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
  BluezPresence presence_;            // the latest the bus reported
  uint64_t enumerated_epoch_ = 0;     // presence epoch whose objects have been read
  uint64_t state_seq_ = 0;            // counts device states learnt from signals and Connect replies

  std::atomic<uint64_t> connect_attempts_{0};
  std::atomic<uint64_t> connect_retries_{0};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> disconnects_{0};
  std::atomic<uint64_t> notifications_{0};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> racp_requests_{0};
  std::atomic<uint64_t> racp_failures_{0};
  std::atomic<uint64_t> time_writes_{0};
  std::atomic<uint64_t> bluez_losses_{0};
  std::atomic<uint64_t> enumerations_{0};
  std::atomic<uint64_t> sessions_started_{0};
};

}  // namespace healthtwin::ble
