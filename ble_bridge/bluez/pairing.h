// One-step pairing of a wearable, as `healthtwin-bridge pair <address>` does it: find the device
// (discovering for it when BlueZ does not know it yet), Device1.Pair with the bridge's agent
// answering BlueZ's questions (Just Works or passkey entry), then Trusted=true so BlueZ lets the
// device reconnect without asking again.
//
// Thread: blocking; call from one thread. The agent must be registered (BluezAgent::Create) on
// the same system bus; PairDevice() points it at the device being paired.
#pragma once

#include <chrono>
#include <string>

#include "absl/status/statusor.h"
#include "ble_bridge/bluez/agent.h"
#include "ble_bridge/bluez/bluez_bus.h"

namespace healthtwin::ble {

struct PairOptions {
  std::string address;   // "AA:BB:CC:DD:EE:FF", any case
  std::string adapter;   // "hci0"; empty: any adapter
  // How long to discover when BlueZ does not know the device yet.
  std::chrono::milliseconds discovery_timeout{20'000};
  // Device1.Pair reply timeout: it covers the user reading and typing a passkey.
  std::chrono::milliseconds pair_timeout{120'000};
};

struct PairResult {
  std::string device_path;
  std::string address;
  bool already_paired = false;  // BlueZ had a bond already; Pair was not called
  bool paired = false;
  bool trusted = false;
};

// Errors: InvalidArgument for a malformed address; NotFound when the device is not seen within
// the discovery timeout; PermissionDenied when authentication fails (wrong passkey, refused on
// the device or by the prompt), with the BlueZ error name in the message; Unavailable or
// DeadlineExceeded for bus failures.
absl::StatusOr<PairResult> PairDevice(BluezBus& bus, BluezAgent& agent, const PairOptions& options);

// True for "AA:BB:CC:DD:EE:FF" (hex digits, either case).
bool IsBluetoothAddress(const std::string& address);

}  // namespace healthtwin::ble
