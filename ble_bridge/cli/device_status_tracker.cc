#include "ble_bridge/cli/device_status_tracker.h"

#include <algorithm>

namespace healthtwin::ble {

DeviceStatusRecord DeviceStatusTracker::Snapshot(const State& s, int64_t at_us) {
  DeviceStatusRecord row = s.now;
  row.observed_at_unix_us = at_us;
  // The change cannot be later than the observation (ingest rejects it).
  row.connection_changed_at_unix_us = std::min(row.connection_changed_at_unix_us, at_us);
  return row;
}

DeviceStatusTracker::State& DeviceStatusTracker::Connected(const std::string& device, int64_t at_us) {
  auto [it, fresh] = devices_.try_emplace(device);
  State& s = it->second;
  if (fresh) s.now.device_id = device;
  if (fresh || !s.now.connected) {
    s.now.connected = true;
    s.now.connection_changed_at_unix_us = at_us;
  }
  return s;
}

std::optional<DeviceStatusRecord> DeviceStatusTracker::OnConnected(const std::string& device, int64_t at_us,
                                                                   int64_t connected_at_us,
                                                                   std::optional<int> battery_percent,
                                                                   std::optional<int64_t> clock_skew_us) {
  State& s = Connected(device, connected_at_us);
  // A notification may have told us first; the connection began at the report's time anyway.
  s.now.connection_changed_at_unix_us = std::min(s.now.connection_changed_at_unix_us, connected_at_us);
  if (battery_percent) s.now.battery_percent = battery_percent;
  s.now.clock_skew_us = clock_skew_us;  // measured on this connection, or unknown on it
  return Snapshot(s, at_us);
}

std::optional<DeviceStatusRecord> DeviceStatusTracker::OnDisconnected(const std::string& device, int64_t at_us) {
  auto [it, fresh] = devices_.try_emplace(device);
  State& s = it->second;
  if (fresh) s.now.device_id = device;
  if (!fresh && !s.now.connected && s.stored && !s.stored->connected) return std::nullopt;
  if (fresh || s.now.connected) s.now.connection_changed_at_unix_us = at_us;
  s.now.connected = false;
  s.now.sensor_contact = SensorContact::kUnknown;
  return Snapshot(s, at_us);
}

std::optional<DeviceStatusRecord> DeviceStatusTracker::OnBattery(const std::string& device, int64_t at_us,
                                                                 int battery_percent) {
  State& s = Connected(device, at_us);
  s.now.battery_percent = battery_percent;
  const bool due = !s.stored || s.stored->battery_percent != battery_percent ||
                   at_us - s.stored->observed_at_unix_us >= options_.battery_refresh_us;
  if (!due) return std::nullopt;
  return Snapshot(s, at_us);
}

std::optional<DeviceStatusRecord> DeviceStatusTracker::OnSensorContact(const std::string& device, int64_t at_us,
                                                                       std::optional<bool> contact) {
  State& s = Connected(device, at_us);
  s.now.sensor_contact = !contact   ? SensorContact::kNotSupported
                         : *contact ? SensorContact::kDetected
                                    : SensorContact::kNotDetected;
  if (s.stored && s.stored->sensor_contact == s.now.sensor_contact && s.stored->connected) return std::nullopt;
  return Snapshot(s, at_us);
}

void DeviceStatusTracker::Stored(const DeviceStatusRecord& row) {
  auto it = devices_.find(row.device_id);
  if (it != devices_.end()) it->second.stored = row;
}

}  // namespace healthtwin::ble
