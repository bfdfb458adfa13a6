#include "ble_bridge/cli/recorder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace healthtwin::ble {
namespace {

constexpr char kMeter[] = "AA:BB:CC:DD:EE:03";

ReceivedMeasurement GlucoseRecord(uint16_t seq, int64_t received_us) {
  GlucoseMeasurement g;
  g.sequence_number = seq;
  g.base_time = DateTime{.year = 2026, .month = 11, .day = 20, .hours = 8, .minutes = 0, .seconds = 0};
  g.unit = GlucoseUnit::kKgPerL;
  g.concentration = DecodeSfloat(0xB064);  // 100 * 10^-5 kg/L = 100 mg/dL
  ReceivedMeasurement m;
  m.device_address = kMeter;
  m.decoded = Decoded{Characteristic::kGlucoseMeasurement, g};
  m.received_at_unix_us = received_us;
  return m;
}

class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/recorder_test_" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
    auto outbox = Outbox::Open(dir_ + "/outbox.db");
    ASSERT_TRUE(outbox.ok()) << outbox.status();
    outbox_ = *std::move(outbox);
  }
  void TearDown() override {
    outbox_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
  std::unique_ptr<Outbox> outbox_;
};

TEST_F(RecorderTest, GlucoseRecordAdvancesTheCursorWithItsRow) {
  Recorder r(*outbox_);
  EXPECT_FALSE(r.LastRecordSeq(kMeter, Characteristic::kGlucoseMeasurement).has_value());
  ASSERT_TRUE(r.Record(GlucoseRecord(7, 1'790'000'000'000'000)).ok());
  EXPECT_EQ(r.LastRecordSeq(kMeter, Characteristic::kGlucoseMeasurement), std::optional<uint16_t>(7));
  auto rows = outbox_->ReadAfter(0, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].measurement.device_record_seq, 7u);
  EXPECT_EQ(*outbox_->GetState("racp.cursor.AA:BB:CC:DD:EE:03.2A18"), std::optional<std::string>("7"));
}

TEST_F(RecorderTest, CursorNeverMovesBack) {
  Recorder r(*outbox_);
  ASSERT_TRUE(r.Record(GlucoseRecord(9, 1'790'000'000'000'000)).ok());
  ASSERT_TRUE(r.Record(GlucoseRecord(4, 1'790'000'000'000'001)).ok());
  EXPECT_EQ(r.LastRecordSeq(kMeter, Characteristic::kGlucoseMeasurement), std::optional<uint16_t>(9));
}

TEST_F(RecorderTest, FullOutboxLeavesTheCursorBehind) {
  outbox_.reset();
  auto small = Outbox::Open(dir_ + "/small.db", OutboxOptions{.max_rows = 1});
  ASSERT_TRUE(small.ok());
  Recorder r(**small);
  ASSERT_TRUE(r.Record(GlucoseRecord(1, 1'790'000'000'000'000)).ok());
  absl::Status s = r.Record(GlucoseRecord(2, 1'790'000'000'000'001));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  // Record 2 stays on the meter: the next RACP request starts at 2.
  EXPECT_EQ(r.LastRecordSeq(kMeter, Characteristic::kGlucoseMeasurement), std::optional<uint16_t>(1));
  EXPECT_EQ(r.append_failures(), 1u);
}

TEST_F(RecorderTest, CursorWaitsBelowARefusedRecordWhenLaterOnesAreStored) {
  outbox_.reset();
  auto small = Outbox::Open(dir_ + "/small.db", OutboxOptions{.max_rows = 1});
  ASSERT_TRUE(small.ok());
  Outbox& outbox = **small;
  Recorder r(outbox);
  auto free_space = [&] {
    auto rows = outbox.ReadAfter(0, 10);
    ASSERT_TRUE(rows.ok());
    for (const auto& row : *rows) ASSERT_TRUE(outbox.Delete(std::span<const int64_t>(&row.id, 1)).ok());
  };
  auto cursor = [&] { return r.LastRecordSeq(kMeter, Characteristic::kGlucoseMeasurement); };
  ASSERT_TRUE(r.Record(GlucoseRecord(1, 1'790'000'000'000'000)).ok());
  EXPECT_FALSE(r.Record(GlucoseRecord(2, 1'790'000'000'000'001)).ok());
  free_space();  // the uplink delivered record 1 while the meter kept sending
  ASSERT_TRUE(r.Record(GlucoseRecord(3, 1'790'000'000'000'002)).ok());
  EXPECT_EQ(cursor(), std::optional<uint16_t>(1)) << "record 3 carried the cursor over refused record 2";

  // The next catch-up asks for records after 1: 2 is stored now, and 3 again (a duplicate).
  free_space();
  ASSERT_TRUE(r.Record(GlucoseRecord(2, 1'790'000'000'000'003)).ok());
  EXPECT_EQ(cursor(), std::optional<uint16_t>(2));
  free_space();
  ASSERT_TRUE(r.Record(GlucoseRecord(3, 1'790'000'000'000'004)).ok());
  EXPECT_EQ(cursor(), std::optional<uint16_t>(3));
}

// Found by the soak: after an outage a meter notified its newest record live before the catch-up
// request; the cursor jumped to it and the records in between were never fetched.
TEST_F(RecorderTest, ALiveRecordBeyondAGapHoldsTheCursorUntilACatchUpSucceeds) {
  Recorder r(*outbox_);
  auto cursor = [&] { return r.LastRecordSeq(kMeter, Characteristic::kGlucoseMeasurement); };
  auto catch_up = [&](RacpOutcome outcome) {
    DeviceReport rep;
    rep.device_address = kMeter;
    rep.racp = outcome;
    r.OnDeviceReport(rep);
  };
  for (uint16_t seq = 1; seq <= 5; ++seq) ASSERT_TRUE(r.Record(GlucoseRecord(seq, 1'790'000'000'000'000 + seq)).ok());
  ASSERT_EQ(cursor(), std::optional<uint16_t>(5));
  ASSERT_TRUE(r.Record(GlucoseRecord(9, 1'790'000'000'000'009)).ok());  // live, 6-8 still on the meter
  EXPECT_EQ(cursor(), std::optional<uint16_t>(5));
  catch_up(RacpOutcome::kTimedOut);
  EXPECT_EQ(cursor(), std::optional<uint16_t>(5)) << "a failed catch-up proves nothing";
  ASSERT_TRUE(r.Record(GlucoseRecord(6, 1'790'000'000'000'006)).ok());
  EXPECT_EQ(cursor(), std::optional<uint16_t>(6));
  ASSERT_TRUE(r.Record(GlucoseRecord(7, 1'790'000'000'000'007)).ok());
  ASSERT_TRUE(r.Record(GlucoseRecord(8, 1'790'000'000'000'008)).ok());
  EXPECT_EQ(cursor(), std::optional<uint16_t>(8));
  catch_up(RacpOutcome::kSuccess);  // the meter sent everything from 6 on, 9 included
  EXPECT_EQ(cursor(), std::optional<uint16_t>(9));
}

TEST_F(RecorderTest, ASuccessfulCatchUpDoesNotCarryTheCursorOverARefusedRecord) {
  outbox_.reset();
  auto small = Outbox::Open(dir_ + "/small.db", OutboxOptions{.max_rows = 2});
  ASSERT_TRUE(small.ok());
  Recorder r(**small);
  ASSERT_TRUE(r.Record(GlucoseRecord(1, 1'790'000'000'000'001)).ok());
  ASSERT_TRUE(r.Record(GlucoseRecord(3, 1'790'000'000'000'003)).ok());   // live; 2 not fetched yet
  EXPECT_FALSE(r.Record(GlucoseRecord(2, 1'790'000'000'000'002)).ok());  // refused: full
  DeviceReport rep;
  rep.device_address = kMeter;
  rep.racp = RacpOutcome::kSuccess;
  r.OnDeviceReport(rep);
  EXPECT_EQ(r.LastRecordSeq(kMeter, Characteristic::kGlucoseMeasurement), std::optional<uint16_t>(1));
}

TEST_F(RecorderTest, DeviceReportIsKeptInTheDeviceBook) {
  {
    Recorder r(*outbox_);
    DeviceReport rep;
    rep.device_address = kMeter;
    rep.name = "meter";
    rep.connected_at_unix_us = 5;
    rep.battery_percent = 81;
    rep.battery_source = "2A19";
    rep.manufacturer = "Roche";
    rep.serial = "S1";
    rep.clock_skew_us = -90'500'000;
    rep.time_written = true;
    rep.racp = RacpOutcome::kNoRecords;
    rep.racp_detail = "no_records_found";
    rep.racp_from_sequence = 12;
    r.OnDeviceReport(rep);
    r.RefreshBindings([](const std::string&) { return std::string("bound"); });
  }
  auto book = Recorder::LoadDevices(*outbox_);  // as `devices` reads it, after a restart
  const auto& d = book[kMeter];
  EXPECT_EQ(d["battery_percent"], 81);
  EXPECT_EQ(d["battery_source"], "2A19");
  EXPECT_EQ(d["manufacturer"], "Roche");
  EXPECT_EQ(d["serial"], "S1");
  EXPECT_FALSE(d.contains("model"));
  EXPECT_DOUBLE_EQ(d["clock_skew_s"].get<double>(), -90.5);
  EXPECT_EQ(d["time_synced_unix_us"], 5);
  EXPECT_EQ(d["racp"]["outcome"], "no_records");
  EXPECT_EQ(d["racp"]["from_sequence"], 12);
  EXPECT_EQ(d["binding"], "bound");
  EXPECT_EQ(d["name"], "meter");
}

ReceivedMeasurement Battery(int percent, int64_t received_us) {
  ReceivedMeasurement m;
  m.device_address = kMeter;
  m.decoded = Decoded{Characteristic::kBatteryLevel, BatteryLevel{.battery_percent = static_cast<uint8_t>(percent)}};
  m.received_at_unix_us = received_us;
  return m;
}

ReceivedMeasurement HeartRate(std::optional<bool> contact, int64_t received_us) {
  ReceivedMeasurement m;
  m.device_address = kMeter;
  HeartRateMeasurement hr;
  hr.heart_rate_bpm = 70;
  hr.sensor_contact = contact;
  m.decoded = Decoded{Characteristic::kHeartRateMeasurement, hr};
  m.received_at_unix_us = received_us;
  return m;
}

// The outbox's status rows, oldest first.
std::vector<DeviceStatusRecord> StatusRows(Outbox& outbox) {
  std::vector<DeviceStatusRecord> out;
  auto rows = outbox.ReadAfter(0, 1000);
  EXPECT_TRUE(rows.ok());
  for (const auto& r : rows.value_or(std::vector<OutboxRow>{})) {
    if (r.status) out.push_back(*r.status);
  }
  return out;
}

TEST_F(RecorderTest, BatteryNotificationUpdatesTheBookAndStoresAStatusRowNotASample) {
  Recorder r(*outbox_);
  ASSERT_TRUE(r.Record(Battery(42, 1'790'000'000'000'000)).ok());
  EXPECT_EQ(Recorder::LoadDevices(*outbox_)[kMeter]["battery_percent"], 42);
  EXPECT_EQ(outbox_->Stats().rows, 1);
  auto statuses = StatusRows(*outbox_);
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].battery_percent, 42);
  EXPECT_TRUE(statuses[0].connected);
  // The same level a minute later: no row; a new level: a row.
  ASSERT_TRUE(r.Record(Battery(42, 1'790'000'060'000'000)).ok());
  ASSERT_TRUE(r.Record(Battery(41, 1'790'000'061'000'000)).ok());
  statuses = StatusRows(*outbox_);
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_EQ(statuses[1].battery_percent, 41);
  EXPECT_EQ(r.statuses_appended(), 2u);
}

TEST_F(RecorderTest, SensorContactChangesAreStatusRowsBesideTheHeartRates) {
  Recorder r(*outbox_);
  const int64_t t = 1'790'000'000'000'000;
  // Several notifications in the same microsecond still get distinct observed_at stamps.
  ASSERT_TRUE(r.Record(HeartRate(true, t)).ok());
  ASSERT_TRUE(r.Record(HeartRate(true, t + 1'000'000)).ok());
  ASSERT_TRUE(r.Record(HeartRate(false, t + 2'000'000)).ok());
  ASSERT_TRUE(r.Record(HeartRate(false, t + 2'000'000)).ok());
  ASSERT_TRUE(r.Record(HeartRate(true, t + 2'000'000)).ok());
  EXPECT_EQ(r.appended(), 5u);  // every heart rate is a sample
  auto statuses = StatusRows(*outbox_);
  ASSERT_EQ(statuses.size(), 3u);
  EXPECT_EQ(statuses[0].sensor_contact, SensorContact::kDetected);
  EXPECT_EQ(statuses[1].sensor_contact, SensorContact::kNotDetected);
  EXPECT_EQ(statuses[2].sensor_contact, SensorContact::kDetected);
  EXPECT_LT(statuses[1].observed_at_unix_us, statuses[2].observed_at_unix_us);
}

TEST_F(RecorderTest, ReportAndDisconnectAreStatusRows) {
  Recorder r(*outbox_, [] { return int64_t{1'790'000'000'500'000}; });
  DeviceReport report;
  report.device_address = kMeter;
  report.connected_at_unix_us = 1'790'000'000'000'000;
  report.battery_percent = 77;
  report.clock_skew_us = -90'500'000;
  r.OnDeviceReport(report);
  r.OnDisconnected(kMeter, 1'790'000'100'000'000);
  r.OnDisconnected(kMeter, 1'790'000'100'000'001);  // already said
  auto statuses = StatusRows(*outbox_);
  ASSERT_EQ(statuses.size(), 2u);
  EXPECT_TRUE(statuses[0].connected);
  EXPECT_EQ(statuses[0].observed_at_unix_us, 1'790'000'000'500'000);
  EXPECT_EQ(statuses[0].connection_changed_at_unix_us, 1'790'000'000'000'000);
  EXPECT_EQ(statuses[0].battery_percent, 77);
  EXPECT_EQ(statuses[0].clock_skew_us, -90'500'000);
  EXPECT_FALSE(statuses[1].connected);
  EXPECT_EQ(statuses[1].connection_changed_at_unix_us, 1'790'000'100'000'000);
  EXPECT_EQ(statuses[1].battery_percent, 77);
}

TEST_F(RecorderTest, AStatusTheFullOutboxRefusedIsStoredWithTheNextEvent) {
  outbox_.reset();
  auto small = Outbox::Open(dir_ + "/small.db", {.max_rows = 1});
  ASSERT_TRUE(small.ok());
  Recorder r(**small);
  ASSERT_TRUE(r.Record(Battery(50, 1'790'000'000'000'000)).ok());
  ASSERT_TRUE(r.Record(Battery(49, 1'790'000'001'000'000)).ok());  // refused: the outbox is full
  EXPECT_EQ(r.append_failures(), 1u);
  auto rows = (*small)->ReadAfter(0, 10);
  ASSERT_TRUE(rows.ok());
  ASSERT_TRUE((*small)->Delete(std::vector<int64_t>{rows->front().id}).ok());  // delivered
  ASSERT_TRUE(r.Record(Battery(49, 1'790'000'002'000'000)).ok());              // same level, but never stored
  auto statuses = StatusRows(**small);
  ASSERT_EQ(statuses.size(), 1u);
  EXPECT_EQ(statuses[0].battery_percent, 49);
}

}  // namespace
}  // namespace healthtwin::ble
