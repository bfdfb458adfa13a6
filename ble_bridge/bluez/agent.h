// The bridge's BlueZ pairing agent: an org.bluez.Agent1 object exported on its own system-bus
// connection and registered with org.bluez.AgentManager1 (RegisterAgent + RequestDefaultAgent),
// so bluetoothd asks it the pairing questions while `healthtwin-bridge pair` runs.
//
// Policy: the agent answers only for the one device the operator asked to pair (SetTarget);
// every request about another device is refused with org.bluez.Error.Rejected, so a stranger's
// device cannot pair with the gateway while the agent is registered.
//   - RequestAuthorization (Just Works) and AuthorizeService: accepted for the target.
//   - RequestPasskey (passkey entry: the device shows six digits, we type them): asks the
//     PairingPrompt; an error or a value above 999999 rejects.
//   - RequestConfirmation (numeric comparison): asks the PairingPrompt.
//   - RequestPinCode / DisplayPinCode (legacy BR/EDR PIN): rejected; health devices are LE.
//   - DisplayPasskey, Cancel, Release: logged and counted.
//
// Threading: the agent's connection runs its own event-loop thread (an EventLoopThread: a bus that
// goes away ends it with a log line, not std::terminate); the PairingPrompt is called
// on it and may block (reading a passkey from the terminal) without delaying the bridge's other
// bus. The prompt must not call into org.bluez synchronously: bluetoothd (and the mock) waits for
// the agent's reply. Ownership: the agent does not own the prompt, which must outlive it; the
// destructor unregisters the agent and stops the thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <sdbus-c++/IConnection.h>
#include <sdbus-c++/IObject.h>

#include "absl/status/statusor.h"
#include "ble_bridge/bluez/event_loop.h"

namespace healthtwin::ble {

class PairingPrompt {
 public:
  virtual ~PairingPrompt() = default;
  // The passkey the device displays (0..999999), or an error to refuse the pairing.
  virtual absl::StatusOr<uint32_t> Passkey(const std::string& device_address) = 0;
  // Numeric comparison: true when `passkey` is what the device shows.
  virtual bool Confirm(const std::string& device_address, uint32_t passkey) = 0;
};

struct AgentStats {
  uint64_t authorizations = 0;   // RequestAuthorization / AuthorizeService answered yes
  uint64_t passkeys = 0;         // RequestPasskey answered with a passkey
  uint64_t confirmations = 0;    // RequestConfirmation answered yes
  uint64_t rejected = 0;         // any request refused
  uint64_t cancels = 0;
};

class BluezAgent {
 public:
  static constexpr char kDefaultPath[] = "/org/healthtwin/bridge/agent";

  // Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured), exports the agent at
  // `path` with `capability` ("KeyboardDisplay" lets a device ask for passkey entry or numeric
  // comparison; Just Works needs nothing), registers it and makes it the default agent.
  // Unavailable when the bus or BlueZ cannot be reached; AlreadyExists when BlueZ refuses the path.
  static absl::StatusOr<std::unique_ptr<BluezAgent>> Create(PairingPrompt& prompt,
                                                           const std::string& capability = "KeyboardDisplay",
                                                           const std::string& path = kDefaultPath);
  ~BluezAgent();

  // The device object path ("/org/bluez/hci0/dev_AA_...") whose requests are answered.
  void SetTarget(const std::string& device_path);
  const std::string& path() const { return path_; }
  // The agent connection's unique bus name (":1.42"), where BlueZ calls it.
  std::string bus_name() const { return connection_->getUniqueName(); }
  AgentStats stats() const;

 private:
  BluezAgent(PairingPrompt& prompt, std::string path) : prompt_(prompt), path_(std::move(path)) {}
  // Throws sdbus::Error(org.bluez.Error.Rejected) unless `device` is the target.
  std::string CheckTarget(const std::string& device, const char* request);

  PairingPrompt& prompt_;
  const std::string path_;
  std::unique_ptr<sdbus::IConnection> connection_;
  std::unique_ptr<sdbus::IObject> object_;
  std::unique_ptr<EventLoopThread> loop_;  // after connection_: stopped before it closes
  mutable std::mutex mu_;
  std::string target_;
  std::atomic<uint64_t> authorizations_{0}, passkeys_{0}, confirmations_{0}, rejected_{0}, cancels_{0};
};

}  // namespace healthtwin::ble
