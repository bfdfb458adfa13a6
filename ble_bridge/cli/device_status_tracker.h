// Decides when a device's technical state is worth a status row (ble_bridge/outbox/outbox.h
// DeviceStatusRecord): it knows each device's battery level, sensor contact, connection and
// clock skew, and answers every event with the snapshot to store, or nullopt when nothing
// worth a row changed. A row is due on:
//   - connect (the device report after subscribing: battery and Current Time skew as read then);
//   - disconnect, when the last stored row said connected (or none was stored);
//   - a battery level that differs from the last one stored, or an unchanged one when the last
//     stored is at least `battery_refresh` old (so a silent-but-connected device still shows a
//     recent level; every 10 minutes at most, not at each of a strap's notifications);
//   - a sensor contact (Heart Rate Measurement Flags bits 1-2: not supported / detected / not
//     detected) that differs from the last one stored.
// A notification implies the device is connected: when the tracker did not know it yet (the
// report comes only after the reads that follow subscribing), the snapshot says connected since
// that notification. After a disconnect the contact is unknown until the next heart rate.
//
// "Stored" means Stored() was called with the row: when the outbox refuses a row, the caller
// does not call it, and the next event finds the difference again. Pure, no clock (times are
// arguments, gateway clock), not thread-safe (the Recorder calls it under its lock).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "ble_bridge/outbox/outbox.h"

namespace healthtwin::ble {

struct DeviceStatusTrackerOptions {
  int64_t battery_refresh_us = 10LL * 60 * 1'000'000;
};

class DeviceStatusTracker {
 public:
  explicit DeviceStatusTracker(DeviceStatusTrackerOptions options = {}) : options_(options) {}

  std::optional<DeviceStatusRecord> OnConnected(const std::string& device, int64_t at_us, int64_t connected_at_us,
                                                std::optional<int> battery_percent,
                                                std::optional<int64_t> clock_skew_us);
  std::optional<DeviceStatusRecord> OnDisconnected(const std::string& device, int64_t at_us);
  std::optional<DeviceStatusRecord> OnBattery(const std::string& device, int64_t at_us, int battery_percent);
  // `contact`: nullopt when the device does not support sensor contact.
  std::optional<DeviceStatusRecord> OnSensorContact(const std::string& device, int64_t at_us,
                                                    std::optional<bool> contact);

  // `row` (returned by one of the above) is durable in the outbox.
  void Stored(const DeviceStatusRecord& row);

 private:
  struct State {
    DeviceStatusRecord now;                    // what is known
    std::optional<DeviceStatusRecord> stored;  // the last row stored
  };
  // The device's state, connected since `at_us` if it was not known to be.
  State& Connected(const std::string& device, int64_t at_us);
  static DeviceStatusRecord Snapshot(const State& s, int64_t at_us);

  const DeviceStatusTrackerOptions options_;
  std::map<std::string, State> devices_;
};

}  // namespace healthtwin::ble
