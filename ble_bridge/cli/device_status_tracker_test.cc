#include "ble_bridge/cli/device_status_tracker.h"

#include <gtest/gtest.h>

namespace healthtwin::ble {
namespace {

constexpr char kStrap[] = "AA:BB:CC:DD:EE:01";
constexpr int64_t kT = 1'790'000'000'000'000;
constexpr int64_t kMinuteUs = 60'000'000;

// Stores whatever the tracker asks for and returns it.
std::optional<DeviceStatusRecord> Keep(DeviceStatusTracker& t, std::optional<DeviceStatusRecord> row) {
  if (row) t.Stored(*row);
  return row;
}

TEST(DeviceStatusTrackerTest, ConnectReportsBatteryAndSkewAndIsAlwaysARow) {
  DeviceStatusTracker t;
  auto row = Keep(t, t.OnConnected(kStrap, kT + 5, kT, 88, -600'000'000));
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->device_id, kStrap);
  EXPECT_EQ(row->observed_at_unix_us, kT + 5);
  EXPECT_TRUE(row->connected);
  EXPECT_EQ(row->connection_changed_at_unix_us, kT);
  EXPECT_EQ(row->battery_percent, 88);
  EXPECT_EQ(row->clock_skew_us, -600'000'000);
  EXPECT_EQ(row->sensor_contact, SensorContact::kUnknown);
  // A second report (BlueZ came back, the device was still connected) is a row too.
  EXPECT_TRUE(t.OnConnected(kStrap, kT + 10, kT + 9, 88, -1'000).has_value());
}

TEST(DeviceStatusTrackerTest, BatteryIsARowWhenItChangesOrEveryTenMinutesUnchanged) {
  DeviceStatusTracker t;
  ASSERT_TRUE(Keep(t, t.OnConnected(kStrap, kT, kT, 80, std::nullopt)));
  EXPECT_FALSE(Keep(t, t.OnBattery(kStrap, kT + 1 * kMinuteUs, 80)).has_value());
  EXPECT_FALSE(Keep(t, t.OnBattery(kStrap, kT + 10 * kMinuteUs - 1, 80)).has_value());
  auto refresh = Keep(t, t.OnBattery(kStrap, kT + 10 * kMinuteUs, 80));
  ASSERT_TRUE(refresh.has_value());
  EXPECT_EQ(refresh->battery_percent, 80);
  auto drop = Keep(t, t.OnBattery(kStrap, kT + 10 * kMinuteUs + 1, 79));
  ASSERT_TRUE(drop.has_value());
  EXPECT_EQ(drop->battery_percent, 79);
  EXPECT_FALSE(Keep(t, t.OnBattery(kStrap, kT + 11 * kMinuteUs, 79)).has_value());
}

TEST(DeviceStatusTrackerTest, ARowTheOutboxRefusedIsAskedForAgain) {
  DeviceStatusTracker t;
  ASSERT_TRUE(Keep(t, t.OnConnected(kStrap, kT, kT, 80, std::nullopt)));
  ASSERT_TRUE(t.OnBattery(kStrap, kT + 1, 70).has_value());  // not Stored(): refused
  auto again = Keep(t, t.OnBattery(kStrap, kT + 2, 70));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->battery_percent, 70);
}

TEST(DeviceStatusTrackerTest, SensorContactIsARowOnlyWhenItChanges) {
  DeviceStatusTracker t;
  ASSERT_TRUE(Keep(t, t.OnConnected(kStrap, kT, kT, 80, std::nullopt)));
  auto on = Keep(t, t.OnSensorContact(kStrap, kT + 1, true));
  ASSERT_TRUE(on.has_value());
  EXPECT_EQ(on->sensor_contact, SensorContact::kDetected);
  EXPECT_EQ(on->battery_percent, 80);  // a snapshot: what else is known comes along
  for (int i = 2; i < 100; ++i) EXPECT_FALSE(Keep(t, t.OnSensorContact(kStrap, kT + i, true)).has_value());
  auto off = Keep(t, t.OnSensorContact(kStrap, kT + 100, false));
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ(off->sensor_contact, SensorContact::kNotDetected);
  EXPECT_FALSE(Keep(t, t.OnSensorContact(kStrap, kT + 101, false)).has_value());
  auto unsupported = Keep(t, t.OnSensorContact(kStrap, kT + 102, std::nullopt));
  ASSERT_TRUE(unsupported.has_value());
  EXPECT_EQ(unsupported->sensor_contact, SensorContact::kNotSupported);
}

TEST(DeviceStatusTrackerTest, ANotificationBeforeTheReportMeansConnectedSinceThen) {
  DeviceStatusTracker t;
  auto first = Keep(t, t.OnSensorContact(kStrap, kT + 3, true));
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->connected);
  EXPECT_EQ(first->connection_changed_at_unix_us, kT + 3);
  // The report then says when the connection really began.
  auto report = Keep(t, t.OnConnected(kStrap, kT + 9, kT, 50, std::nullopt));
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->connection_changed_at_unix_us, kT);
  EXPECT_EQ(report->sensor_contact, SensorContact::kDetected);
}

TEST(DeviceStatusTrackerTest, DisconnectIsOneRowAndForgetsTheContact) {
  DeviceStatusTracker t;
  ASSERT_TRUE(Keep(t, t.OnConnected(kStrap, kT, kT, 80, 5)));
  ASSERT_TRUE(Keep(t, t.OnSensorContact(kStrap, kT + 1, true)));
  auto gone = Keep(t, t.OnDisconnected(kStrap, kT + 7));
  ASSERT_TRUE(gone.has_value());
  EXPECT_FALSE(gone->connected);
  EXPECT_EQ(gone->connection_changed_at_unix_us, kT + 7);
  EXPECT_EQ(gone->sensor_contact, SensorContact::kUnknown);
  EXPECT_EQ(gone->battery_percent, 80);
  EXPECT_FALSE(Keep(t, t.OnDisconnected(kStrap, kT + 8)).has_value());
  // After the reconnect, contact is a change again.
  ASSERT_TRUE(Keep(t, t.OnConnected(kStrap, kT + 20, kT + 20, 80, 5)));
  auto back = Keep(t, t.OnSensorContact(kStrap, kT + 21, true));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->sensor_contact, SensorContact::kDetected);
}

TEST(DeviceStatusTrackerTest, DevicesAreTrackedApart) {
  DeviceStatusTracker t;
  ASSERT_TRUE(Keep(t, t.OnBattery("a", kT, 50)));
  auto b = Keep(t, t.OnBattery("b", kT, 50));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->device_id, "b");
}

}  // namespace
}  // namespace healthtwin::ble
