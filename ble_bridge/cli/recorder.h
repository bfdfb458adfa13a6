// What `healthtwin-bridge run` does with everything the BLE side reports, kept out of main.cc so
// that tests can drive it: every measurement becomes outbox rows, and the device's RACP cursor
// (the highest glucose record sequence number stored) is written in the SAME durable
// transaction as those rows, so a restart resumes exactly after the last stored record: a crash
// between the two cannot lose a record (cursor behind) or skip one (cursor ahead).
//
// The device book (outbox state key "bridge.devices") remembers, per device: first seen, the
// registry's binding answer, and the last connection's report (name, battery, Device
// Information, Current Time skew, time sync, RACP outcome), plus the largest device clock lead
// seen in measurements. `healthtwin-bridge devices` prints it.
//
// Cursor keys: "racp.cursor.<ADDRESS>.<UUID>", e.g. "racp.cursor.AA:BB:CC:DD:EE:01.2A18", value
// the decimal sequence number. One per device and characteristic, in the outbox's state table.
// A record the outbox refuses (bound reached, disk full) holds the cursor below it until it is
// stored, even when later records of the same stream are stored meanwhile, so the meter's next
// RACP catch-up fetches it again (the later ones come back as duplicates, which ingest absorbs).
// A live record beyond cursor + 1 (the meter notified a new record before the catch-up fetched
// the ones before it) does not move the cursor either; a successful catch-up then moves it to
// the highest record stored.
//
// Device status rows (cli/device_status_tracker.h decides when one is due) go into the same
// outbox, each in its own durable append: at connect (OnDeviceReport), at disconnect
// (OnDisconnected), on a battery level (2A19) and on a change of a heart rate's sensor contact
// (Record). Their observed_at is the gateway time of the event, made distinct per device.
//
// Thread safety: every method may be called from any thread (the sink runs on the D-Bus dispatch
// thread, reports on device threads). The outbox must outlive the recorder.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "ble_bridge/bluez/bluez_client.h"
#include "ble_bridge/cli/device_status_tracker.h"
#include "ble_bridge/outbox/outbox.h"

namespace healthtwin::ble {

class Recorder {
 public:
  // `now_unix_us` (gateway clock) stamps the status row of a device report; default
  // system_clock.
  explicit Recorder(Outbox& outbox, std::function<int64_t()> now_unix_us = {});

  // Converts and appends `m` (with its cursor update). Errors are the outbox's
  // (ResourceExhausted when full: the record stays on the device and RACP fetches it later).
  absl::Status Record(const ReceivedMeasurement& m);
  // The cursor for options.last_record_seq; nullopt when none is stored.
  std::optional<uint16_t> LastRecordSeq(const std::string& address, Characteristic c);
  // Saves a connection's report in the device book, and a status row (connected, battery,
  // clock skew).
  void OnDeviceReport(const DeviceReport& report);
  // A status row: the device disconnected at `at_unix_us` (gateway clock).
  void OnDisconnected(const std::string& address, int64_t at_unix_us);
  // A battery level from org.bluez.Battery1 (2A19 notifications come through Record): the book
  // shows it, and a status row is appended when due.
  void OnBatteryLevel(const std::string& address, int percent, int64_t at_unix_us, const std::string& source);
  // Updates every device's binding with `binding_of(device_id)`.
  void RefreshBindings(const std::function<std::string(const std::string&)>& binding_of);

  uint64_t appended() const { return appended_.load(); }
  uint64_t append_failures() const { return append_failures_.load(); }
  uint64_t statuses_appended() const { return statuses_appended_.load(); }

  static std::string CursorKey(const std::string& address, Characteristic c);
  // The device book as stored: {"AA:..": {...}, ...}; {} when empty or unreadable.
  static nlohmann::json LoadDevices(Outbox& outbox);

 private:
  void SaveLocked();
  void BatteryLevelLocked(const std::string& address, int percent, int64_t at_unix_us, const std::string& source);
  void CatchUpDoneLocked(const std::string& address);
  // The persisted cursor under `key`; nullopt when none (or unreadable).
  std::optional<uint16_t> StoredCursor(const std::string& key);
  // `at_us`, or just after the device's previous status stamp: two rows of a device never share
  // an observed_at (ingest's idempotency key).
  int64_t StatusStampLocked(const std::string& address, int64_t at_us);
  // Appends `row` when one is due; a refused row is logged and asked for again by the tracker.
  void AppendStatusLocked(const std::optional<DeviceStatusRecord>& row);

  Outbox& outbox_;
  const std::function<int64_t()> now_unix_us_;
  std::mutex mu_;  // guards everything below
  DeviceStatusTracker status_;
  std::map<std::string, int64_t> last_status_us_;  // per device
  nlohmann::json devices_;
  std::map<std::string, int64_t> last_received_us_;  // per device, to keep time stamps distinct
  std::set<std::string> skew_logged_;
  // Per cursor key, the lowest record sequence number refused by the outbox and not yet stored
  // since. In memory only: the persisted cursor is below it, so a restart refetches it anyway.
  std::map<std::string, uint32_t> refused_seq_;
  // Per cursor key, the highest record sequence number stored by this process.
  std::map<std::string, uint32_t> max_stored_seq_;
  std::atomic<uint64_t> appended_{0}, append_failures_{0}, statuses_appended_{0};
};

}  // namespace healthtwin::ble
