// PgDeviceStatusStore on a real PostgreSQL (migration 0008), connected as the ingest role so the
// grants are exercised too: idempotent history, latest only moving forward, patient resolution
// through the binding, the heartbeat upsert, the NOTIFY, and the alerts role reading it all.
#include "services/ingest/pg_device_status_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>

#include "services/ingest/partition_maintainer.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/migrated_database.h"

namespace healthtwin::ingest {
namespace {

constexpr int64_t kNow = 1'790'000'000'000'000;  // 2026-09-21
constexpr char kBound[] = "AA:BB:CC:DD:EE:01";
constexpr char kLoose[] = "AA:BB:CC:DD:EE:09";

ValidDeviceStatus At(const std::string& device, int64_t observed_us, std::optional<int> battery) {
  ValidDeviceStatus s;
  s.device_id = device;
  s.observed_at_us = observed_us;
  s.battery_percent = battery;
  s.sensor_contact = SensorContact::kDetected;
  s.connected = true;
  s.connection_changed_at_us = observed_us - 10'000'000;
  return s;
}

class PgDeviceStatusStoreTest : public testing::ClusterPerSuiteTest {
 protected:
  void SetUp() override {
    auto conninfo = testing::CreateMigratedDatabase(*cluster_, TestDatabaseName());
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    conninfo_ = *conninfo;
    // pat-0001 wears kBound, bound a day before kNow through bridge-001 only. Constants only.
    pqxx::connection setup(conninfo_);
    pqxx::nontransaction(setup).exec(
        "INSERT INTO patients (patient_id) VALUES ('pat-0001');"
        "INSERT INTO devices (device_id, kind, patient_id, bound_at) VALUES ('" +
        std::string(kBound) + "', 1, 'pat-0001', to_timestamp(" + std::to_string(kNow / 1'000'000) +
        ") - interval '1 day');"
        "INSERT INTO device_gateways (device_id, bridge_id) VALUES ('" +
        std::string(kBound) + "', 'bridge-001')");
    pool_ = std::make_unique<common::PgPool>(testing::ServiceConnInfo(conninfo_, "ingest"), 2);
    store_ = std::make_unique<PgDeviceStatusStore>(*pool_);
  }

  std::string One(const std::string& sql) {
    pqxx::connection c(conninfo_);
    pqxx::nontransaction tx(c);
    auto r = tx.exec(sql);
    return r.empty() || r[0][0].is_null() ? "NULL" : r[0][0].as<std::string>();
  }

  std::string conninfo_;
  std::unique_ptr<common::PgPool> pool_;
  std::unique_ptr<PgDeviceStatusStore> store_;
};

TEST_F(PgDeviceStatusStoreTest, StoresHistoryAndLatestOnceAndResolvesThePatientThroughTheBinding) {
  auto first =
      store_->StoreStatuses("bridge-001", {At(kBound, kNow - 2'000'000, 80), At(kLoose, kNow, 50)}, std::nullopt, kNow);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->stored, 2u);
  EXPECT_EQ(first->duplicates, 0u);
  // The same statuses again (a resend after a lost acknowledgement): nothing new.
  auto again = store_->StoreStatuses("bridge-001", {At(kBound, kNow - 2'000'000, 80), At(kLoose, kNow, 50)},
                                     std::nullopt, kNow + 1);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->stored, 0u);
  EXPECT_EQ(again->duplicates, 2u);
  EXPECT_EQ(One("SELECT count(*) FROM device_status_history"), "2");
  EXPECT_EQ(One("SELECT count(*) FROM device_status_latest"), "2");
  EXPECT_EQ(One("SELECT patient_id FROM device_status_latest WHERE device_id = 'AA:BB:CC:DD:EE:01'"), "pat-0001");
  // Unknown to the registry: stored all the same, with no patient.
  EXPECT_EQ(One("SELECT patient_id FROM device_status_latest WHERE device_id = 'AA:BB:CC:DD:EE:09'"), "NULL");
  EXPECT_EQ(One("SELECT battery_percent FROM device_status_latest WHERE device_id = 'AA:BB:CC:DD:EE:01'"), "80");
  EXPECT_EQ(One("SELECT sensor_contact FROM device_status_history WHERE device_id = 'AA:BB:CC:DD:EE:01'"), "2");
  EXPECT_EQ(One("SELECT connected FROM device_status_latest WHERE device_id = 'AA:BB:CC:DD:EE:01'"), "t");
  EXPECT_EQ(One("SELECT extract(epoch FROM observed_at - connection_changed_at)::bigint FROM device_status_latest"
                " WHERE device_id = 'AA:BB:CC:DD:EE:01'"),
            "10");
}

TEST_F(PgDeviceStatusStoreTest, AnotherGatewayOfABoundDeviceGetsNoPatient) {
  ASSERT_TRUE(store_->StoreStatuses("bridge-777", {At(kBound, kNow, 80)}, std::nullopt, kNow).ok());
  EXPECT_EQ(One("SELECT patient_id FROM device_status_history"), "NULL");
  EXPECT_EQ(One("SELECT bridge_id FROM device_status_history"), "bridge-777");
}

TEST_F(PgDeviceStatusStoreTest, LatestMovesOnlyForwardAndKeepsTheLastKnownBattery) {
  ASSERT_TRUE(store_->StoreStatuses("bridge-001", {At(kBound, kNow, 70)}, std::nullopt, kNow).ok());
  // An older observation arriving late goes to the history only.
  ASSERT_TRUE(store_->StoreStatuses("bridge-001", {At(kBound, kNow - 60'000'000, 90)}, std::nullopt, kNow).ok());
  EXPECT_EQ(One("SELECT battery_percent FROM device_status_latest"), "70");
  EXPECT_EQ(One("SELECT count(*) FROM device_status_history"), "2");
  // A newer one without a battery level (sent at connect, before the read) keeps 70.
  ValidDeviceStatus disconnected = At(kBound, kNow + 1'000'000, std::nullopt);
  disconnected.connected = false;
  disconnected.sensor_contact = SensorContact::kNotDetected;
  disconnected.clock_skew_s = -600.5;
  ASSERT_TRUE(store_->StoreStatuses("bridge-001", {disconnected}, std::nullopt, kNow).ok());
  EXPECT_EQ(One("SELECT battery_percent FROM device_status_latest"), "70");
  EXPECT_EQ(One("SELECT connected FROM device_status_latest"), "f");
  EXPECT_EQ(One("SELECT sensor_contact FROM device_status_latest"), "3");
  EXPECT_EQ(One("SELECT clock_skew_s FROM device_status_latest"), "-600.5");
  EXPECT_EQ(One("SELECT battery_percent FROM device_status_history ORDER BY observed_at DESC LIMIT 1"), "NULL");
}

TEST_F(PgDeviceStatusStoreTest, ABatchWithSeveralStatusesOfADeviceMovesLatestToTheNewest) {
  ValidDeviceStatus newest = At(kBound, kNow, std::nullopt);  // no battery: the batch's last level stays
  newest.sensor_contact = SensorContact::kNotDetected;
  ValidDeviceStatus skewed = At(kBound, kNow - 2'000'000, 40);
  skewed.clock_skew_s = 1e-3;
  auto r = store_->StoreStatuses(
      "bridge-001", {At(kBound, kNow - 3'000'000, 41), skewed, newest, At(kBound, kNow, 99), At(kLoose, kNow, 7)},
      std::nullopt, kNow);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->stored, 4u);
  EXPECT_EQ(r->duplicates, 1u);  // the second status at kNow of the same device
  EXPECT_EQ(One("SELECT count(*) FROM device_status_history"), "4");
  EXPECT_EQ(One("SELECT battery_percent FROM device_status_latest WHERE device_id = 'AA:BB:CC:DD:EE:01'"), "40");
  EXPECT_EQ(One("SELECT sensor_contact FROM device_status_latest WHERE device_id = 'AA:BB:CC:DD:EE:01'"), "3");
  EXPECT_EQ(One("SELECT clock_skew_s FROM device_status_latest WHERE device_id = 'AA:BB:CC:DD:EE:01'"), "0.001");
  EXPECT_EQ(One("SELECT battery_percent FROM device_status_latest WHERE device_id = 'AA:BB:CC:DD:EE:09'"), "7");
}

TEST_F(PgDeviceStatusStoreTest, RetentionDeletesOnlyHistoryOlderThanItsDaysAndKeepsLatest) {
  const int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  const int64_t day_us = 86'400LL * 1'000'000;
  ASSERT_TRUE(store_
                  ->StoreStatuses("bridge-001",
                                  {At(kLoose, now_us - 400 * day_us, 10), At(kBound, now_us - day_us, 20)},
                                  std::nullopt, now_us)
                  .ok());
  // As ingest runs it with --vitals-retention-days 365: the hourly maintenance, as the ingest role.
  PartitionMaintainer maintainer(*pool_, 365);
  ASSERT_TRUE(maintainer.RunOnce().ok());
  EXPECT_EQ(One("SELECT count(*) FROM device_status_history"), "1");
  EXPECT_EQ(One("SELECT device_id FROM device_status_history"), kBound);
  EXPECT_EQ(One("SELECT count(*) FROM device_status_latest"), "2");  // a device's newest row stays
}

TEST_F(PgDeviceStatusStoreTest, HeartbeatKeepsOneRowPerBridge) {
  GatewayHeartbeat hb{kNow - 1'000'000, 12, "0.1.0", 60};
  auto r = store_->StoreStatuses("bridge-001", {}, hb, kNow);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->heartbeat_stored);
  hb.outbox_depth = 3;
  hb.uptime_s = 120;
  ASSERT_TRUE(store_->StoreStatuses("bridge-001", {}, hb, kNow + 60'000'000).ok());
  EXPECT_EQ(One("SELECT count(*) FROM gateway_heartbeats"), "1");
  EXPECT_EQ(One("SELECT outbox_depth FROM gateway_heartbeats WHERE bridge_id = 'bridge-001'"), "3");
  EXPECT_EQ(One("SELECT uptime_s FROM gateway_heartbeats"), "120");
  EXPECT_EQ(One("SELECT extract(epoch FROM received_at - observed_at)::bigint FROM gateway_heartbeats"), "61");
}

TEST_F(PgDeviceStatusStoreTest, NotifiesOnANewStatusOnlyAndTheAlertsRoleCanReadEveryTable) {
  pqxx::connection listener(testing::ServiceConnInfo(conninfo_, "alerts"));
  int notified = 0;
  struct Receiver : pqxx::notification_receiver {
    Receiver(pqxx::connection_base& c, int& n) : pqxx::notification_receiver(c, "device_status_new"), n_(n) {}
    void operator()(const std::string&, int) override { ++n_; }
    int& n_;
  } receiver(listener, notified);
  ASSERT_TRUE(store_->StoreStatuses("bridge-001", {At(kBound, kNow, 70)}, std::nullopt, kNow).ok());
  listener.await_notification(5, 0);
  EXPECT_EQ(notified, 1);
  // A duplicate and a heartbeat alone wake nobody.
  ASSERT_TRUE(store_->StoreStatuses("bridge-001", {At(kBound, kNow, 70)}, GatewayHeartbeat{kNow, 0, "", 0}, kNow).ok());
  listener.await_notification(0, 300'000);
  EXPECT_EQ(notified, 1);

  pqxx::nontransaction tx(listener);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM device_status_latest")[0][0].as<int>(), 1);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM device_status_history")[0][0].as<int>(), 1);
  EXPECT_EQ(tx.exec("SELECT count(*) FROM gateway_heartbeats")[0][0].as<int>(), 1);
}

}  // namespace
}  // namespace healthtwin::ingest
