// `healthtwin-bridge scan`: discovery for a while with the bridge's filter (LE transport, the
// health service UUIDs), then the list of health devices BlueZ knows, with what an operator needs
// to pick one for pairing: address, name, RSSI, services and whether it is paired or trusted.
//
// Thread: blocking; call from one thread. Uses bus.Subscribe() for the scan's duration, so the
// bus must not be subscribed by anyone else.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ble_bridge/bluez/bluez_bus.h"

namespace healthtwin::ble {

struct ScanOptions {
  std::string adapter;  // "hci0"; empty: every adapter
  std::chrono::milliseconds duration{10'000};
  bool health_only = true;  // list only devices advertising a health service
};

struct ScannedDevice {
  std::string address;
  std::string device_path;
  std::string adapter_path;
  std::string name;                      // Alias, else Name, else ""
  std::optional<int16_t> rssi;           // dBm; absent when not seen advertising in this scan
  std::vector<std::string> services;     // "180D" for SIG UUIDs, the full UUID otherwise
  bool paired = false;
  bool trusted = false;
  bool connected = false;
  bool seen = false;                     // advertised (or appeared) during this scan
};

// Errors: NotFound when there is no (such) adapter; the bus's errors otherwise. Devices are
// ordered by RSSI, strongest first, then by address.
absl::StatusOr<std::vector<ScannedDevice>> Scan(BluezBus& bus, const ScanOptions& options);

}  // namespace healthtwin::ble
