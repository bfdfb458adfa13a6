// The bridge's durable on-gateway outbox: every parsed measurement is written here, and made
// durable, before anything else happens to it. Rows leave the outbox only when ingest's
// durability watermark covers them (see ble_bridge/uplink/forwarder.h).
//
// Storage is one SQLite file in WAL mode with synchronous=FULL: Append() returns only after
// the WAL frame holding the row has been fsync'd, so an acknowledged append survives a
// kill -9 of the bridge and a power cut of the gateway. (synchronous=NORMAL would survive
// kill -9 too, since the WAL is in the page cache, but could lose the last commits on power
// loss; a measurement taken from a cuff cannot be taken again, so we pay the fsync.)
//
// Row ids are SQLite AUTOINCREMENT ids: strictly increasing and never reused, even after the
// newest rows are deleted. The uplink uses a row's id as its sender_seq. Device status rows
// (AppendStatus) live in the same table and so take ids from the same sequence.
//
// Schema version 2 (device statuses) is added in place to a version 1 file on Open(); a bridge
// built before it refuses a version 2 file (its schema is newer), so a downgrade needs the
// outbox drained first.
//
// The outbox also holds small key/value state (e.g. each device's last RACP sequence
// number) in the same file, so a measurement and the cursor that covers it can be committed
// in one transaction.
//
// Bound policy: the outbox holds at most `max_rows` rows and about `max_bytes` bytes of
// payload. When an append would cross either bound it is REFUSED with RESOURCE_EXHAUSTED, a
// counter is incremented and an error is logged; nothing already stored is ever dropped to
// make room. The BLE layer then leaves the reading on the device (RACP will fetch it later
// from the last persisted sequence number). When usage crosses `warn_fraction` of a bound a
// warning is logged once (re-armed when usage falls back below it) and `near_full` is set.
//
// A full file system is refused the same way: when SQLite cannot write or fsync for lack of
// space (SQLITE_FULL, or an I/O error with ENOSPC/EDQUOT) the append's transaction is rolled
// back (no row and no state update of it is stored), RESOURCE_EXHAUSTED is returned,
// `refused_total` and `disk_full_total` are incremented and `bridge.outbox_disk_full` is logged
// at error level (rate-limited). The same open Outbox keeps working: appends succeed again as
// soon as space returns, with no reopen, and `bridge.outbox_disk_space_returned` is logged.
//
// Thread safety: all methods may be called from any thread; calls are serialised by an
// internal mutex. One process should open a given file; SQLite's own file locks make a
// second writer wait up to `busy_timeout_ms` rather than corrupt anything.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/vital_type.h"

struct sqlite3;

namespace healthtwin::ble {

// One scalar observation as the parsers produce it, before it has an outbox id.
struct Measurement {
  std::string device_id;  // e.g. the BLE address "AA:BB:CC:DD:EE:FF"
  common::VitalType type = common::VitalType::kUnspecified;
  double value = 0;
  std::string ucum_unit;            // UCUM code of `value`, e.g. "mm[Hg]", "kPa"
  int64_t measured_at_unix_us = 0;  // device clock
  int64_t received_at_unix_us = 0;  // gateway clock
  uint64_t device_record_seq = 0;   // the device's own record number; 0 when none
};

// Values match healthtwin.vitals.v1.SensorContact.
enum class SensorContact { kUnknown = 0, kNotSupported = 1, kDetected = 2, kNotDetected = 3 };

// A device's technical state as the gateway saw it at `observed_at_unix_us`: a snapshot of all
// it knows (see cli/device_status_tracker.h for when one is taken). Travels to ingest as a
// healthtwin.vitals.v1.DeviceStatus.
struct DeviceStatusRecord {
  std::string device_id;
  int64_t observed_at_unix_us = 0;     // gateway clock
  std::optional<int> battery_percent;  // 0..100; nullopt when not read yet
  SensorContact sensor_contact = SensorContact::kUnknown;
  bool connected = false;
  int64_t connection_changed_at_unix_us = 0;  // gateway clock
  std::optional<int64_t> clock_skew_us;       // device clock minus gateway clock
};

// A stored row: a measurement, or a device status when `status` is set (then `measurement` holds
// only the device_id). `id` is strictly increasing across both and is the uplink's sender_seq,
// so one acknowledgement watermark covers both and delivery stays exactly once.
struct OutboxRow {
  int64_t id = 0;
  Measurement measurement;
  std::optional<DeviceStatusRecord> status;

  bool is_status() const { return status.has_value(); }
  const std::string& device_id() const { return status ? status->device_id : measurement.device_id; }
};

struct OutboxOptions {
  int64_t max_rows = 5'000'000;       // about 30 days of 1 Hz heart rate from two devices
  int64_t max_bytes = 1'000'000'000;  // estimated payload bytes (see OutboxStats::bytes)
  double warn_fraction = 0.8;         // log and set near_full at this share of a bound
  int busy_timeout_ms = 5'000;
};

// Counters and gauges for metrics. Totals count since Open().
struct OutboxStats {
  int64_t rows = 0;
  // Estimated payload: the two strings' lengths plus 64 bytes of fixed fields per row.
  int64_t bytes = 0;
  int64_t oldest_received_at_unix_us = 0;  // 0 when empty
  uint64_t appended_total = 0;
  uint64_t deleted_total = 0;
  uint64_t refused_total = 0;    // appends refused: outbox bound reached or disk full
  uint64_t disk_full_total = 0;  // of those, refused because the file system was full
  bool disk_full = false;        // the last append was refused for a full disk
  uint64_t near_full_warnings_total = 0;
  bool near_full = false;
};

class Outbox {
 public:
  // Opens (creating if needed) the outbox file and checks its schema. Errors (the message
  // names the path and SQLite's reason): InvalidArgument for bad options, Unavailable when
  // the file cannot be opened, FailedPrecondition when it is not a SQLite database, WAL is
  // unavailable, or its schema is newer than this code.
  static absl::StatusOr<std::unique_ptr<Outbox>> Open(const std::string& path, OutboxOptions options = {});

  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;
  ~Outbox();

  // Appends `batch` and applies `state_updates` (key -> value) in one durable transaction and
  // returns the new ids in order. All or nothing. Errors: InvalidArgument for an empty
  // device_id or an unspecified type (naming the index), ResourceExhausted when the bound
  // would be crossed or the file system is full (nothing is written), Internal for another
  // SQLite failure.
  absl::StatusOr<std::vector<int64_t>> Append(std::span<const Measurement> batch,
                                              const std::map<std::string, std::string>& state_updates = {});
  absl::StatusOr<int64_t> Append(const Measurement& m);
  // Appends one device status, durably, under the same bound as measurements (a status row
  // counts as one row of device_id bytes plus the fixed 64). Errors: InvalidArgument for an empty
  // device_id or a battery_percent outside 0..100, otherwise as Append.
  absl::StatusOr<int64_t> AppendStatus(const DeviceStatusRecord& status);

  // Up to `limit` rows with id > `after_id`, oldest first.
  absl::StatusOr<std::vector<OutboxRow>> ReadAfter(int64_t after_id, std::size_t limit);

  // Deletes exactly these ids (missing ones are ignored) in one durable transaction and
  // returns how many rows went.
  absl::StatusOr<int64_t> Delete(std::span<const int64_t> ids);

  // Small persistent key/value state. Get returns nullopt for a missing key.
  absl::StatusOr<std::optional<std::string>> GetState(const std::string& key);
  absl::Status PutState(const std::string& key, const std::string& value);

  OutboxStats Stats() const;
  const OutboxOptions& options() const { return options_; }
  const std::string& path() const { return path_; }

 private:
  Outbox(std::string path, OutboxOptions options, sqlite3* db);
  absl::Status Init();
  // Adds the version 2 columns that the measurements table lacks.
  absl::Status AddMissingColumns();
  absl::Status Exec(const char* sql);
  absl::Status SqliteError(const char* what) const;
  // SqliteError, but ResourceExhausted when the failure was a full disk.
  absl::Status WriteError(const char* what) const;
  // Bound checks, then WriteLocked, then the counters; `batch` and `statuses` were validated.
  absl::StatusOr<std::vector<int64_t>> AppendValidated(std::span<const Measurement> batch,
                                                       std::span<const DeviceStatusRecord> statuses,
                                                       const std::map<std::string, std::string>& state_updates,
                                                       int64_t add_bytes);
  absl::StatusOr<std::vector<int64_t>> WriteLocked(std::span<const Measurement> batch,
                                                   std::span<const DeviceStatusRecord> statuses,
                                                   const std::map<std::string, std::string>& state_updates);
  absl::Status RefuseDiskFullLocked(const absl::Status& cause);
  void UpdateNearFullLocked();
  absl::Status RefreshOldestLocked();

  const std::string path_;
  const OutboxOptions options_;
  mutable std::mutex mu_;
  sqlite3* db_;  // owned
  OutboxStats stats_;
  uint64_t disk_full_in_episode_ = 0;  // refusals since the disk-full episode began
};

}  // namespace healthtwin::ble
