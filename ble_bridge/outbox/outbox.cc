#include "ble_bridge/outbox/outbox.h"

#include <sqlite3.h>

#include <cerrno>
#include <cmath>
#include <set>
#include <string_view>

#include "services/common/logging.h"

namespace healthtwin::ble {
namespace {

// 1: measurements and state. 2: device status rows (kind = 1) in the measurements table, so
// they share its AUTOINCREMENT id, the uplink's sender_seq.
constexpr int kSchemaVersion = 2;
constexpr int kKindStatus = 1;
constexpr int64_t kFixedRowBytes = 64;

// Statements are prepared from these constants only; values are always bound.
constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS measurements ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " device_id TEXT NOT NULL,"
    " vital_type INTEGER NOT NULL,"
    " value REAL NOT NULL,"
    " ucum_unit TEXT NOT NULL,"
    " measured_at_us INTEGER NOT NULL,"
    " received_at_us INTEGER NOT NULL,"
    " device_record_seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;";
// Version 2's columns, added to a version 1 file (and to a new one) when missing. A status row
// (kind 1) has vital_type 0, value 0, ucum_unit '' and measured_at_us = received_at_us =
// its observed_at.
constexpr const char* kStatusColumns[][2] = {
    {"kind", "ALTER TABLE measurements ADD COLUMN kind INTEGER NOT NULL DEFAULT 0"},
    {"battery_percent", "ALTER TABLE measurements ADD COLUMN battery_percent INTEGER"},
    {"sensor_contact", "ALTER TABLE measurements ADD COLUMN sensor_contact INTEGER"},
    {"connected", "ALTER TABLE measurements ADD COLUMN connected INTEGER"},
    {"connection_changed_at_us", "ALTER TABLE measurements ADD COLUMN connection_changed_at_us INTEGER"},
    {"clock_skew_us", "ALTER TABLE measurements ADD COLUMN clock_skew_us INTEGER"},
};
constexpr char kInsertStatus[] =
    "INSERT INTO measurements (device_id, vital_type, value, ucum_unit, measured_at_us, received_at_us,"
    " device_record_seq, kind, battery_percent, sensor_contact, connected, connection_changed_at_us, clock_skew_us)"
    " VALUES (?1, 0, 0, '', ?2, ?2, 0, 1, ?3, ?4, ?5, ?6, ?7)";
constexpr char kInsert[] =
    "INSERT INTO measurements (device_id, vital_type, value, ucum_unit, measured_at_us, received_at_us,"
    " device_record_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr char kSelectAfter[] =
    "SELECT id, device_id, vital_type, value, ucum_unit, measured_at_us, received_at_us, device_record_seq,"
    " kind, battery_percent, sensor_contact, connected, connection_changed_at_us, clock_skew_us"
    " FROM measurements WHERE id > ?1 ORDER BY id LIMIT ?2";
constexpr char kDelete[] =
    "DELETE FROM measurements WHERE id = ?1 RETURNING length(CAST(device_id AS BLOB)) + length(CAST(ucum_unit AS "
    "BLOB))";
constexpr char kTotals[] =
    "SELECT count(*), coalesce(sum(length(CAST(device_id AS BLOB)) + length(CAST(ucum_unit AS BLOB))), 0)"
    " FROM measurements";
constexpr char kOldest[] = "SELECT received_at_us FROM measurements ORDER BY id LIMIT 1";
constexpr char kGetState[] = "SELECT value FROM state WHERE key = ?1";
constexpr char kPutState[] =
    "INSERT INTO state (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";

// A prepared statement, finalised on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  void Text(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Real(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void Null(int i) { sqlite3_bind_null(stmt_, i); }
  bool ColNull(int i) { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  int Step() { return sqlite3_step(stmt_); }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(stmt_, i); }
  double ColReal(int i) { return sqlite3_column_double(stmt_, i); }
  std::string ColText(int i) {
    const auto* p = sqlite3_column_text(stmt_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, i)) : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

// SQLite reports a full disk as SQLITE_FULL when write() says ENOSPC, but as an I/O error when
// another call (fsync, ftruncate, growing the WAL index) runs out of space first; the errno tells.
bool IsDiskFull(sqlite3* db) {
  const int rc = sqlite3_extended_errcode(db) & 0xff;
  if (rc == SQLITE_FULL) return true;
  const int err = sqlite3_system_errno(db);
  return rc == SQLITE_IOERR && (err == ENOSPC || err == EDQUOT);
}

int64_t RowBytes(const Measurement& m) {
  return static_cast<int64_t>(m.device_id.size() + m.ucum_unit.size()) + kFixedRowBytes;
}

int64_t RowBytes(const DeviceStatusRecord& s) { return static_cast<int64_t>(s.device_id.size()) + kFixedRowBytes; }

// Rolls back an open transaction unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  int Begin() {
    const int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    open_ = rc == SQLITE_OK;
    return rc;
  }
  int Commit() {
    const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) open_ = false;
    return rc;
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Outbox>> Outbox::Open(const std::string& path, OutboxOptions options) {
  if (path.empty()) return absl::InvalidArgumentError("outbox path: empty");
  if (options.max_rows <= 0) return absl::InvalidArgumentError("outbox max_rows: must be positive");
  if (options.max_bytes <= 0) return absl::InvalidArgumentError("outbox max_bytes: must be positive");
  if (!(options.warn_fraction > 0 && options.warn_fraction <= 1)) {
    return absl::InvalidArgumentError("outbox warn_fraction: must be in (0, 1]");
  }
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::UnavailableError("outbox '" + path + "': cannot open: " + why);
  }
  std::unique_ptr<Outbox> outbox(new Outbox(path, options, db));
  if (auto s = outbox->Init(); !s.ok()) return s;
  return outbox;
}

Outbox::Outbox(std::string path, OutboxOptions options, sqlite3* db)
    : path_(std::move(path)), options_(options), db_(db) {}

Outbox::~Outbox() { sqlite3_close(db_); }

absl::Status Outbox::SqliteError(const char* what) const {
  return absl::InternalError("outbox '" + path_ + "': " + what + ": " + sqlite3_errmsg(db_));
}

absl::Status Outbox::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return SqliteError(sql);
  return absl::OkStatus();
}

absl::Status Outbox::Init() {
  sqlite3_busy_timeout(db_, options_.busy_timeout_ms);
  {
    // journal_mode answers with the mode in force; anything but "wal" (e.g. a file system
    // without shared memory) would silently weaken our guarantees, so refuse it.
    Stmt wal(db_, "PRAGMA journal_mode=WAL");
    if (!wal.ok() || wal.Step() != SQLITE_ROW) {
      return absl::FailedPreconditionError("outbox '" + path_ +
                                           "': not a usable SQLite database: " + sqlite3_errmsg(db_));
    }
    if (wal.ColText(0) != "wal") {
      return absl::FailedPreconditionError("outbox '" + path_ + "': WAL journal mode unavailable (got '" +
                                           wal.ColText(0) + "')");
    }
  }
  if (auto s = Exec("PRAGMA synchronous=FULL"); !s.ok()) return s;
  // Keeps the WAL file from growing without bound after a long outage is drained.
  if (auto s = Exec("PRAGMA journal_size_limit=67108864"); !s.ok()) return s;
  {
    Stmt v(db_, "PRAGMA user_version");
    if (!v.ok() || v.Step() != SQLITE_ROW) return SqliteError("reading user_version");
    const int64_t version = v.ColInt(0);
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError("outbox '" + path_ + "': schema version " + std::to_string(version) +
                                           " is newer than this bridge's " + std::to_string(kSchemaVersion));
    }
  }
  if (auto s = Exec(kSchema); !s.ok()) return s;
  if (auto s = AddMissingColumns(); !s.ok()) return s;
  if (auto s = Exec("PRAGMA user_version=2"); !s.ok()) return s;

  std::lock_guard lock(mu_);
  Stmt totals(db_, kTotals);
  if (!totals.ok() || totals.Step() != SQLITE_ROW) return SqliteError("counting rows");
  stats_.rows = totals.ColInt(0);
  stats_.bytes = totals.ColInt(1) + stats_.rows * kFixedRowBytes;
  if (auto s = RefreshOldestLocked(); !s.ok()) return s;
  UpdateNearFullLocked();
  common::LogInfo("bridge.outbox_opened", {{"path", path_},
                                           {"rows", stats_.rows},
                                           {"bytes", stats_.bytes},
                                           {"max_rows", options_.max_rows},
                                           {"max_bytes", options_.max_bytes}});
  return absl::OkStatus();
}

absl::Status Outbox::AddMissingColumns() {
  std::set<std::string> have;
  {
    Stmt info(db_, "PRAGMA table_info(measurements)");
    if (!info.ok()) return SqliteError("reading the measurements columns");
    while (info.Step() == SQLITE_ROW) have.insert(info.ColText(1));
  }
  for (const auto& [column, alter] : kStatusColumns) {
    if (have.contains(column)) continue;
    if (auto s = Exec(alter); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status Outbox::RefreshOldestLocked() {
  Stmt oldest(db_, kOldest);
  if (!oldest.ok()) return SqliteError("preparing oldest");
  const int rc = oldest.Step();
  if (rc == SQLITE_ROW) {
    stats_.oldest_received_at_unix_us = oldest.ColInt(0);
  } else if (rc == SQLITE_DONE) {
    stats_.oldest_received_at_unix_us = 0;
  } else {
    return SqliteError("reading oldest");
  }
  return absl::OkStatus();
}

void Outbox::UpdateNearFullLocked() {
  const bool near =
      static_cast<double>(stats_.rows) >= options_.warn_fraction * static_cast<double>(options_.max_rows) ||
      static_cast<double>(stats_.bytes) >= options_.warn_fraction * static_cast<double>(options_.max_bytes);
  if (near && !stats_.near_full) {
    ++stats_.near_full_warnings_total;
    common::LogWarn("bridge.outbox_near_full", {{"path", path_},
                                                {"rows", stats_.rows},
                                                {"max_rows", options_.max_rows},
                                                {"bytes", stats_.bytes},
                                                {"max_bytes", options_.max_bytes},
                                                {"warn_fraction", options_.warn_fraction}});
  } else if (!near && stats_.near_full) {
    common::LogInfo("bridge.outbox_below_warning", {{"path", path_}, {"rows", stats_.rows}, {"bytes", stats_.bytes}});
  }
  stats_.near_full = near;
}

absl::StatusOr<std::vector<int64_t>> Outbox::Append(std::span<const Measurement> batch,
                                                    const std::map<std::string, std::string>& state_updates) {
  int64_t add_bytes = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Measurement& m = batch[i];
    const std::string where = "measurement[" + std::to_string(i) + "].";
    if (m.device_id.empty()) return absl::InvalidArgumentError(where + "device_id: empty");
    if (!common::IsKnownVitalType(static_cast<int>(m.type))) {
      return absl::InvalidArgumentError(where + "type: unspecified or unknown (" +
                                        std::to_string(static_cast<int>(m.type)) + ")");
    }
    // SQLite would store NaN as NULL; a special value is not a sample and must never
    // become one.
    if (!std::isfinite(m.value)) return absl::InvalidArgumentError(where + "value: not a finite number");
    if (m.ucum_unit.empty()) return absl::InvalidArgumentError(where + "ucum_unit: empty");
    add_bytes += RowBytes(m);
  }
  return AppendValidated(batch, {}, state_updates, add_bytes);
}

absl::StatusOr<int64_t> Outbox::AppendStatus(const DeviceStatusRecord& status) {
  if (status.device_id.empty()) return absl::InvalidArgumentError("status.device_id: empty");
  if (status.battery_percent && (*status.battery_percent < 0 || *status.battery_percent > 100)) {
    return absl::InvalidArgumentError("status.battery_percent: " + std::to_string(*status.battery_percent) +
                                      " is outside 0..100");
  }
  auto ids = AppendValidated({}, std::span<const DeviceStatusRecord>(&status, 1), {}, RowBytes(status));
  if (!ids.ok()) return ids.status();
  return ids->front();
}

absl::StatusOr<std::vector<int64_t>> Outbox::AppendValidated(std::span<const Measurement> batch,
                                                             std::span<const DeviceStatusRecord> statuses,
                                                             const std::map<std::string, std::string>& state_updates,
                                                             int64_t add_bytes) {
  std::lock_guard lock(mu_);
  const int64_t n = static_cast<int64_t>(batch.size() + statuses.size());
  if (stats_.rows + n > options_.max_rows || stats_.bytes + add_bytes > options_.max_bytes) {
    ++stats_.refused_total;
    // Loud but not a flood: the first refusal and every 1000th after it.
    if ((stats_.refused_total - stats_.disk_full_total) % 1000 == 1) {
      common::LogError("bridge.outbox_full", {{"path", path_},
                                              {"rows", stats_.rows},
                                              {"max_rows", options_.max_rows},
                                              {"bytes", stats_.bytes},
                                              {"max_bytes", options_.max_bytes},
                                              {"refused_total", stats_.refused_total}});
    }
    return absl::ResourceExhaustedError("outbox '" + path_ + "' is full (" + std::to_string(stats_.rows) + "/" +
                                        std::to_string(options_.max_rows) + " rows, " + std::to_string(stats_.bytes) +
                                        "/" + std::to_string(options_.max_bytes) +
                                        " bytes): measurement refused, nothing stored was dropped");
  }

  auto ids = WriteLocked(batch, statuses, state_updates);
  if (!ids.ok()) {
    if (ids.status().code() == absl::StatusCode::kResourceExhausted) return RefuseDiskFullLocked(ids.status());
    return ids.status();
  }
  if (stats_.disk_full) {
    stats_.disk_full = false;
    common::LogInfo("bridge.outbox_disk_space_returned",
                    {{"path", path_}, {"disk_full_total", stats_.disk_full_total}});
  }
  if (stats_.rows == 0 && n > 0) {
    stats_.oldest_received_at_unix_us =
        batch.empty() ? statuses.front().observed_at_unix_us : batch.front().received_at_unix_us;
  }
  stats_.rows += n;
  stats_.bytes += add_bytes;
  stats_.appended_total += static_cast<uint64_t>(n);
  UpdateNearFullLocked();
  return ids;
}

absl::StatusOr<std::vector<int64_t>> Outbox::WriteLocked(std::span<const Measurement> batch,
                                                         std::span<const DeviceStatusRecord> statuses,
                                                         const std::map<std::string, std::string>& state_updates) {
  Transaction tx(db_);
  if (tx.Begin() != SQLITE_OK) return WriteError("BEGIN");
  Stmt insert(db_, kInsert);
  if (!insert.ok()) return SqliteError("preparing insert");
  std::vector<int64_t> ids;
  ids.reserve(batch.size());
  for (const Measurement& m : batch) {
    insert.Text(1, m.device_id);
    insert.Int(2, static_cast<int>(m.type));
    insert.Real(3, m.value);
    insert.Text(4, m.ucum_unit);
    insert.Int(5, m.measured_at_unix_us);
    insert.Int(6, m.received_at_unix_us);
    insert.Int(7, static_cast<int64_t>(m.device_record_seq));  // bit pattern kept
    if (insert.Step() != SQLITE_DONE) return WriteError("insert");
    ids.push_back(sqlite3_last_insert_rowid(db_));
    insert.Reset();
  }
  if (!statuses.empty()) {
    Stmt status_insert(db_, kInsertStatus);
    if (!status_insert.ok()) return SqliteError("preparing status insert");
    for (const DeviceStatusRecord& st : statuses) {
      status_insert.Text(1, st.device_id);
      status_insert.Int(2, st.observed_at_unix_us);
      if (st.battery_percent) {
        status_insert.Int(3, *st.battery_percent);
      } else {
        status_insert.Null(3);
      }
      status_insert.Int(4, static_cast<int>(st.sensor_contact));
      status_insert.Int(5, st.connected ? 1 : 0);
      status_insert.Int(6, st.connection_changed_at_unix_us);
      if (st.clock_skew_us) {
        status_insert.Int(7, *st.clock_skew_us);
      } else {
        status_insert.Null(7);
      }
      if (status_insert.Step() != SQLITE_DONE) return WriteError("status insert");
      ids.push_back(sqlite3_last_insert_rowid(db_));
      status_insert.Reset();
    }
  }
  if (!state_updates.empty()) {
    Stmt put(db_, kPutState);
    if (!put.ok()) return SqliteError("preparing state update");
    for (const auto& [key, value] : state_updates) {
      put.Text(1, key);
      put.Text(2, value);
      if (put.Step() != SQLITE_DONE) return WriteError("state update");
      put.Reset();
    }
  }
  if (tx.Commit() != SQLITE_OK) return WriteError("COMMIT");

  return ids;
}

absl::Status Outbox::WriteError(const char* what) const {
  if (!IsDiskFull(db_)) return SqliteError(what);
  return absl::ResourceExhaustedError("outbox '" + path_ + "': " + what + ": disk full (" + sqlite3_errmsg(db_) +
                                      ", errno " + std::to_string(sqlite3_system_errno(db_)) + ")");
}

absl::Status Outbox::RefuseDiskFullLocked(const absl::Status& cause) {
  ++stats_.refused_total;
  ++stats_.disk_full_total;
  if (!stats_.disk_full) {
    stats_.disk_full = true;
    disk_full_in_episode_ = 0;
  }
  // One error when an episode starts, then every 1000th refusal: loud, but a gateway whose disk
  // stays full for days must not fill what is left of it with our own logs.
  if (disk_full_in_episode_++ % 1000 == 0) {
    common::LogError("bridge.outbox_disk_full", {{"path", path_},
                                                 {"rows", stats_.rows},
                                                 {"disk_full_total", stats_.disk_full_total},
                                                 {"refused_total", stats_.refused_total},
                                                 {"error", std::string(cause.message())}});
  }
  return absl::ResourceExhaustedError(std::string(cause.message()) +
                                      ": measurement refused, nothing stored was dropped");
}

absl::StatusOr<int64_t> Outbox::Append(const Measurement& m) {
  auto ids = Append(std::span<const Measurement>(&m, 1));
  if (!ids.ok()) return ids.status();
  return ids->front();
}

absl::StatusOr<std::vector<OutboxRow>> Outbox::ReadAfter(int64_t after_id, std::size_t limit) {
  std::lock_guard lock(mu_);
  Stmt select(db_, kSelectAfter);
  if (!select.ok()) return SqliteError("preparing select");
  select.Int(1, after_id);
  select.Int(2, static_cast<int64_t>(limit));
  std::vector<OutboxRow> rows;
  int rc;
  while ((rc = select.Step()) == SQLITE_ROW) {
    OutboxRow r;
    r.id = select.ColInt(0);
    r.measurement.device_id = select.ColText(1);
    r.measurement.type = static_cast<common::VitalType>(select.ColInt(2));
    r.measurement.value = select.ColReal(3);
    r.measurement.ucum_unit = select.ColText(4);
    r.measurement.measured_at_unix_us = select.ColInt(5);
    r.measurement.received_at_unix_us = select.ColInt(6);
    r.measurement.device_record_seq = static_cast<uint64_t>(select.ColInt(7));
    if (select.ColInt(8) == kKindStatus) {
      DeviceStatusRecord st;
      st.device_id = r.measurement.device_id;
      st.observed_at_unix_us = r.measurement.measured_at_unix_us;
      if (!select.ColNull(9)) st.battery_percent = static_cast<int>(select.ColInt(9));
      st.sensor_contact = static_cast<SensorContact>(select.ColInt(10));
      st.connected = select.ColInt(11) != 0;
      st.connection_changed_at_unix_us = select.ColInt(12);
      if (!select.ColNull(13)) st.clock_skew_us = select.ColInt(13);
      r.status = std::move(st);
    }
    rows.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return SqliteError("select");
  return rows;
}

absl::StatusOr<int64_t> Outbox::Delete(std::span<const int64_t> ids) {
  if (ids.empty()) return 0;
  std::lock_guard lock(mu_);
  Transaction tx(db_);
  if (tx.Begin() != SQLITE_OK) return SqliteError("BEGIN");
  Stmt del(db_, kDelete);
  if (!del.ok()) return SqliteError("preparing delete");
  int64_t rows = 0, bytes = 0;
  for (int64_t id : ids) {
    del.Int(1, id);
    int rc;
    while ((rc = del.Step()) == SQLITE_ROW) {
      ++rows;
      bytes += del.ColInt(0) + kFixedRowBytes;
    }
    if (rc != SQLITE_DONE) return SqliteError("delete");
    del.Reset();
  }
  if (tx.Commit() != SQLITE_OK) return SqliteError("COMMIT");
  stats_.rows -= rows;
  stats_.bytes -= bytes;
  stats_.deleted_total += static_cast<uint64_t>(rows);
  if (auto s = RefreshOldestLocked(); !s.ok()) return s;
  UpdateNearFullLocked();
  return rows;
}

absl::StatusOr<std::optional<std::string>> Outbox::GetState(const std::string& key) {
  std::lock_guard lock(mu_);
  Stmt get(db_, kGetState);
  if (!get.ok()) return SqliteError("preparing state read");
  get.Text(1, key);
  const int rc = get.Step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(get.ColText(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return SqliteError("state read");
}

absl::Status Outbox::PutState(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  Stmt put(db_, kPutState);
  if (!put.ok()) return SqliteError("preparing state update");
  put.Text(1, key);
  put.Text(2, value);
  if (put.Step() != SQLITE_DONE) return SqliteError("state update");
  return absl::OkStatus();
}

OutboxStats Outbox::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace healthtwin::ble
