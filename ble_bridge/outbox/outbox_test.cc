#include "ble_bridge/outbox/outbox.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace healthtwin::ble {
namespace {

using common::VitalType;

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ht-outbox-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/outbox.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Outbox> OpenOrDie(OutboxOptions options = {}) {
    auto outbox = Outbox::Open(path_, options);
    EXPECT_TRUE(outbox.ok()) << outbox.status();
    return outbox.ok() ? *std::move(outbox) : nullptr;
  }

  static Measurement Hr(double bpm, int64_t t_us = 1'700'000'000'000'000, std::string device = "AA:BB:CC:DD:EE:01") {
    return {std::move(device), VitalType::kHeartRate, bpm, "/min", t_us, t_us + 250'000, 0};
  }

  std::string dir_;
  std::string path_;
};

TEST_F(OutboxTest, AppendsAndReadsBackEveryField) {
  auto outbox = OpenOrDie();
  Measurement m{"AA:BB:CC:DD:EE:FF",   VitalType::kSystolicBp,  16.4, "kPa", 1'700'000'000'123'456,
                1'700'000'002'000'000, 0xFFFF'FFFF'FFFF'FFF0ull};
  auto id = outbox->Append(m);
  ASSERT_TRUE(id.ok()) << id.status();
  auto rows = outbox->ReadAfter(0, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  const OutboxRow& r = rows->front();
  EXPECT_EQ(r.id, *id);
  EXPECT_EQ(r.measurement.device_id, m.device_id);
  EXPECT_EQ(r.measurement.type, VitalType::kSystolicBp);
  EXPECT_EQ(r.measurement.value, 16.4);
  EXPECT_EQ(r.measurement.ucum_unit, "kPa");
  EXPECT_EQ(r.measurement.measured_at_unix_us, m.measured_at_unix_us);
  EXPECT_EQ(r.measurement.received_at_unix_us, m.received_at_unix_us);
  EXPECT_EQ(r.measurement.device_record_seq, m.device_record_seq);
}

TEST_F(OutboxTest, IdsIncreaseAndAreNeverReusedAfterDeletingTheNewest) {
  auto outbox = OpenOrDie();
  auto a = outbox->Append(Hr(60));
  auto b = outbox->Append(Hr(61));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_LT(*a, *b);
  const int64_t ids[] = {*b};
  ASSERT_TRUE(outbox->Delete(ids).ok());
  outbox.reset();
  outbox = OpenOrDie();
  auto c = outbox->Append(Hr(62));
  ASSERT_TRUE(c.ok());
  EXPECT_GT(*c, *b);
}

TEST_F(OutboxTest, ReadAfterPagesInIdOrder) {
  auto outbox = OpenOrDie();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(outbox->Append(Hr(60 + i)).ok());
  auto first = outbox->ReadAfter(0, 4);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 4u);
  auto rest = outbox->ReadAfter(first->back().id, 100);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 6u);
  EXPECT_EQ(rest->front().measurement.value, 64);
  EXPECT_EQ(rest->back().measurement.value, 69);
}

TEST_F(OutboxTest, DeleteRemovesExactlyTheGivenIds) {
  auto outbox = OpenOrDie();
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(*outbox->Append(Hr(60 + i)));
  const int64_t gone[] = {ids[1], ids[3], 999'999};
  auto deleted = outbox->Delete(gone);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(*deleted, 2);
  auto rows = outbox->ReadAfter(0, 100);
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].id, ids[0]);
  EXPECT_EQ((*rows)[1].id, ids[2]);
  EXPECT_EQ((*rows)[2].id, ids[4]);
  EXPECT_EQ(outbox->Stats().rows, 3);
  EXPECT_EQ(outbox->Stats().deleted_total, 2u);
}

TEST_F(OutboxTest, RejectsMeasurementsThatAreNotSamples) {
  auto outbox = OpenOrDie();
  Measurement nan = Hr(std::nan(""));
  EXPECT_EQ(outbox->Append(nan).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(outbox->Append(nan).status().message().find("value"), std::string::npos);
  Measurement inf = Hr(INFINITY);
  EXPECT_EQ(outbox->Append(inf).status().code(), absl::StatusCode::kInvalidArgument);
  Measurement no_device = Hr(60, 1, "");
  EXPECT_NE(outbox->Append(no_device).status().message().find("device_id"), std::string::npos);
  Measurement no_type = Hr(60);
  no_type.type = VitalType::kUnspecified;
  EXPECT_NE(outbox->Append(no_type).status().message().find("type"), std::string::npos);
  Measurement no_unit = Hr(60);
  no_unit.ucum_unit.clear();
  EXPECT_NE(outbox->Append(no_unit).status().message().find("ucum_unit"), std::string::npos);
  EXPECT_EQ(outbox->Stats().rows, 0);
}

TEST_F(OutboxTest, BatchWithOneBadMeasurementStoresNothing) {
  auto outbox = OpenOrDie();
  std::vector<Measurement> batch = {Hr(60), Hr(std::nan(""))};
  auto ids = outbox->Append(batch, {{"racp/AA", "7"}});
  EXPECT_EQ(ids.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ids.status().message().find("measurement[1]"), std::string::npos);
  EXPECT_TRUE(outbox->ReadAfter(0, 10)->empty());
  EXPECT_FALSE(outbox->GetState("racp/AA")->has_value());
}

TEST_F(OutboxTest, RefusesWhenRowBoundReachedAndKeepsEverythingStored) {
  auto outbox = OpenOrDie({.max_rows = 3});
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(outbox->Append(Hr(60 + i)).ok());
  auto refused = outbox->Append(Hr(99));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("full"), std::string::npos);
  EXPECT_EQ(outbox->Stats().refused_total, 1u);
  auto rows = outbox->ReadAfter(0, 10);
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ(rows->front().measurement.value, 60);  // the oldest was not dropped
  // Room again once ingest has acknowledged something.
  const int64_t first[] = {rows->front().id};
  ASSERT_TRUE(outbox->Delete(first).ok());
  EXPECT_TRUE(outbox->Append(Hr(99)).ok());
}

TEST_F(OutboxTest, RefusesABatchThatWouldCrossTheBoundWhole) {
  auto outbox = OpenOrDie({.max_rows = 3});
  std::vector<Measurement> batch(4, Hr(60));
  EXPECT_EQ(outbox->Append(batch).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(outbox->Stats().rows, 0);
}

TEST_F(OutboxTest, RefusesWhenByteBoundReached) {
  // Each row: 17 + 4 bytes of strings + 64 fixed = 85.
  auto outbox = OpenOrDie({.max_bytes = 200});
  EXPECT_TRUE(outbox->Append(Hr(60)).ok());
  EXPECT_TRUE(outbox->Append(Hr(61)).ok());
  EXPECT_EQ(outbox->Stats().bytes, 170);
  EXPECT_EQ(outbox->Append(Hr(62)).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(OutboxTest, FlagsNearFullOnceAndRearmsBelowTheWarningLevel) {
  auto outbox = OpenOrDie({.max_rows = 10, .warn_fraction = 0.8});
  std::vector<int64_t> ids;
  for (int i = 0; i < 7; ++i) ids.push_back(*outbox->Append(Hr(60)));
  EXPECT_FALSE(outbox->Stats().near_full);
  ids.push_back(*outbox->Append(Hr(60)));
  EXPECT_TRUE(outbox->Stats().near_full);
  ids.push_back(*outbox->Append(Hr(60)));
  EXPECT_EQ(outbox->Stats().near_full_warnings_total, 1u);
  const int64_t two[] = {ids[0], ids[1]};
  ASSERT_TRUE(outbox->Delete(two).ok());
  EXPECT_FALSE(outbox->Stats().near_full);
  ASSERT_TRUE(outbox->Append(Hr(60)).ok());
  ASSERT_TRUE(outbox->Append(Hr(60)).ok());
  EXPECT_TRUE(outbox->Stats().near_full);
  EXPECT_EQ(outbox->Stats().near_full_warnings_total, 2u);
}

TEST_F(OutboxTest, ReopenRestoresCountsAndOldestReceiveTime) {
  {
    auto outbox = OpenOrDie();
    ASSERT_TRUE(outbox->Append(Hr(60, 1'000'000)).ok());
    ASSERT_TRUE(outbox->Append(Hr(61, 2'000'000)).ok());
  }
  auto outbox = OpenOrDie();
  const OutboxStats s = outbox->Stats();
  EXPECT_EQ(s.rows, 2);
  EXPECT_EQ(s.bytes, 170);
  EXPECT_EQ(s.oldest_received_at_unix_us, 1'250'000);
  auto rows = outbox->ReadAfter(0, 1);
  ASSERT_TRUE(outbox->Delete(std::vector<int64_t>{rows->front().id}).ok());
  EXPECT_EQ(outbox->Stats().oldest_received_at_unix_us, 2'250'000);
}

TEST_F(OutboxTest, StatePersistsAcrossReopenAndCommitsWithTheMeasurements) {
  {
    auto outbox = OpenOrDie();
    ASSERT_TRUE(outbox->PutState("racp/AA:BB", "41").ok());
    std::vector<Measurement> batch = {Hr(60), Hr(61)};
    ASSERT_TRUE(outbox->Append(batch, {{"racp/AA:BB", "43"}, {"clock/AA:BB", "skew=2s"}}).ok());
  }
  auto outbox = OpenOrDie();
  EXPECT_EQ(outbox->GetState("racp/AA:BB")->value_or(""), "43");
  EXPECT_EQ(outbox->GetState("clock/AA:BB")->value_or(""), "skew=2s");
  EXPECT_FALSE(outbox->GetState("missing")->has_value());
}

TEST_F(OutboxTest, KeepsTheFileInWalMode) {
  auto outbox = OpenOrDie();
  ASSERT_TRUE(outbox->Append(Hr(60)).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST_F(OutboxTest, RefusesAFileThatIsNotADatabase) {
  std::ofstream(path_) << "this is not a SQLite database, just some text that is long enough to have a header";
  auto outbox = Outbox::Open(path_);
  EXPECT_EQ(outbox.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(outbox.status().message().find(path_), std::string::npos);
}

TEST_F(OutboxTest, RefusesASchemaNewerThanTheCode) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto outbox = Outbox::Open(path_);
  EXPECT_EQ(outbox.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(outbox.status().message().find("newer"), std::string::npos);
}

TEST_F(OutboxTest, RejectsInvalidOptions) {
  EXPECT_EQ(Outbox::Open(path_, {.max_rows = 0}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Outbox::Open(path_, {.max_bytes = -1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Outbox::Open(path_, {.warn_fraction = 1.5}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Outbox::Open("", {}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(OutboxTest, UnopenablePathNamesThePath) {
  auto outbox = Outbox::Open(dir_ + "/no/such/dir/outbox.db");
  EXPECT_EQ(outbox.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(outbox.status().message().find("no/such/dir"), std::string::npos);
}

// Device status rows (schema version 2): they share the measurements' ids, read back field
// for field, count against the bound, and a version 1 file is upgraded in place.
constexpr int64_t kT = 1'700'000'000'000'000;

DeviceStatusRecord Status(int64_t observed_us, std::optional<int> battery) {
  return {"AA:BB:CC:DD:EE:01",     observed_us, battery, SensorContact::kNotDetected, true,
          observed_us - 5'000'000, -600'250'000};
}

Measurement HrAt(int64_t t_us) { return {"AA:BB:CC:DD:EE:01", VitalType::kHeartRate, 70, "/min", t_us, t_us, 0}; }

TEST_F(OutboxTest, StatusesShareTheIdSequenceAndReadBackEveryField) {
  auto outbox = Outbox::Open(path_);
  ASSERT_TRUE(outbox.ok()) << outbox.status();
  auto a = (*outbox)->Append(HrAt(kT));
  auto b = (*outbox)->AppendStatus(Status(kT + 1, 42));
  DeviceStatusRecord bare = Status(kT + 2, std::nullopt);
  bare.clock_skew_us.reset();
  bare.connected = false;
  bare.sensor_contact = SensorContact::kUnknown;
  auto c = (*outbox)->AppendStatus(bare);
  auto d = (*outbox)->Append(HrAt(kT + 3));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_LT(*a, *b);
  EXPECT_LT(*b, *c);
  EXPECT_LT(*c, *d);

  auto rows = (*outbox)->ReadAfter(0, 10);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_FALSE((*rows)[0].is_status());
  EXPECT_FALSE((*rows)[3].is_status());
  ASSERT_TRUE((*rows)[1].is_status());
  const DeviceStatusRecord& s = *(*rows)[1].status;
  EXPECT_EQ((*rows)[1].device_id(), "AA:BB:CC:DD:EE:01");
  EXPECT_EQ(s.observed_at_unix_us, kT + 1);
  EXPECT_EQ(s.battery_percent, 42);
  EXPECT_EQ(s.sensor_contact, SensorContact::kNotDetected);
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.connection_changed_at_unix_us, kT + 1 - 5'000'000);
  EXPECT_EQ(s.clock_skew_us, -600'250'000);
  ASSERT_TRUE((*rows)[2].is_status());
  const DeviceStatusRecord& t = *(*rows)[2].status;
  EXPECT_FALSE(t.battery_percent.has_value());
  EXPECT_FALSE(t.clock_skew_us.has_value());
  EXPECT_FALSE(t.connected);
  EXPECT_EQ(t.sensor_contact, SensorContact::kUnknown);
  EXPECT_EQ((*outbox)->Stats().rows, 4);
}

TEST_F(OutboxTest, RejectsAStatusWithoutDeviceOrWithAnImpossibleBattery) {
  auto outbox = Outbox::Open(path_);
  ASSERT_TRUE(outbox.ok());
  DeviceStatusRecord s = Status(kT, 101);
  EXPECT_EQ((*outbox)->AppendStatus(s).status().message(), "status.battery_percent: 101 is outside 0..100");
  s.battery_percent = 100;
  s.device_id.clear();
  EXPECT_EQ((*outbox)->AppendStatus(s).status().message(), "status.device_id: empty");
  EXPECT_EQ((*outbox)->Stats().rows, 0);
}

TEST_F(OutboxTest, AStatusCountsAgainstTheRowBound) {
  auto outbox = Outbox::Open(path_, {.max_rows = 1});
  ASSERT_TRUE(outbox.ok());
  ASSERT_TRUE((*outbox)->AppendStatus(Status(kT, 50)).ok());
  EXPECT_EQ((*outbox)->AppendStatus(Status(kT + 1, 50)).status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ((*outbox)->Append(HrAt(kT + 2)).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(OutboxTest, AVersion1FileIsUpgradedAndKeepsItsRowsAndIds) {
  {
    // The version 1 schema exactly as the bridge before device statuses wrote it.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE measurements (id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL,"
                           " vital_type INTEGER NOT NULL, value REAL NOT NULL, ucum_unit TEXT NOT NULL,"
                           " measured_at_us INTEGER NOT NULL, received_at_us INTEGER NOT NULL,"
                           " device_record_seq INTEGER NOT NULL);"
                           "CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
                           "INSERT INTO measurements VALUES (41, 'AA:BB:CC:DD:EE:01', 1, 72, '/min', 5, 6, 0);"
                           "PRAGMA user_version=1;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto outbox = Outbox::Open(path_);
  ASSERT_TRUE(outbox.ok()) << outbox.status();
  auto id = (*outbox)->AppendStatus(Status(kT, 10));
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, 42);
  auto rows = (*outbox)->ReadAfter(0, 10);
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_FALSE((*rows)[0].is_status());
  EXPECT_EQ((*rows)[0].measurement.value, 72);
  ASSERT_TRUE((*rows)[1].is_status());
  EXPECT_EQ((*rows)[1].status->battery_percent, 10);
}

}  // namespace
}  // namespace healthtwin::ble
