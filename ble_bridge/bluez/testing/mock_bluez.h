// A radio-free BlueZ for tests: a private dbus-daemon plus python3-dbusmock's bluez5 template on
// it, with helpers that add adapters, devices, GATT services and characteristics and send
// notifications (Value PropertiesChanged), all through dbusmock's own D-Bus API.
//
// Start() also points this process's system bus at the private daemon (DBUS_SYSTEM_BUS_ADDRESS,
// which sd-bus honours); the destructor restores the previous value.
//
// Devices are built with AddObject rather than the template's AddDevice, so that Connect and
// Disconnect behave like bluetoothd (Connected and ServicesResolved change together) from the
// first call, and so a test can make the next Connect calls fail with a chosen BlueZ error.
//
// Beyond the template (which neither calls an agent back nor has GATT objects), the harness adds:
//   - pairing through the registered agent: Device1.Pair calls the default agent over D-Bus as
//     bluetoothd does (RequestAuthorization for Just Works, RequestConfirmation for numeric
//     comparison, RequestPasskey for passkey entry, checked against the passkey the "device"
//     shows); the agent's bus name is learnt from its RegisterAgent call;
//   - ReadValue and WriteValue on characteristics, honouring Flags ("read", "write");
//   - a record store behind a RACP characteristic: a RACP WriteValue "report stored records"
//     (all, or >= sequence number) sends the matching stored records as Value changes of the
//     measurement characteristic, then the RACP response indication;
//   - org.bluez.Battery1 on a device.
//
// Outages: the daemon listens on a fixed unix socket in a private directory, so KillDaemon() then
// RestartDaemon() gives a new dbus-daemon at the same address (a system bus restart), and
// KillMock() then RestartMock() a new "bluetoothd" on a live bus. Both restarts start with an
// empty BlueZ (no adapter, no device): the test adds its objects again, as a real bluetoothd
// reads them back from its storage. ReleaseName() / RequestName() make org.bluez lose and regain
// its owner without losing any object. Every call goes to the mock's unique name, so the harness
// works while org.bluez is released.
//
// Ownership: MockBluez owns both processes. They are SIGKILLed and reaped by the destructor, even
// when a test fails; they are also started under `setpriv --pdeathsig KILL`, so they die with the
// test process if it crashes. Thread safety: none; use from the test thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sdbus-c++/IConnection.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::ble::testing {

// The ways BlueZ goes away under a running bridge, for parameterised tests.
enum class Outage {
  kBluetoothdRestart,  // KillMock(), later RestartMock()
  kBusRestart,         // KillDaemon(), later RestartDaemon()
  kNameReleased,       // ReleaseName(), later RequestName()
};
// "BluetoothdRestart", "BusRestart", "NameReleased": test name suffixes.
std::string OutageName(Outage outage);

class MockBluez {
 public:
  static absl::StatusOr<std::unique_ptr<MockBluez>> Start();
  ~MockBluez();

  const std::string& bus_address() const { return address_; }

  // "/org/bluez/hci0". The template's adapter is powered and supports discovery.
  absl::StatusOr<std::string> AddAdapter(const std::string& name);
  // Adds (or re-adds after RemoveDevice) a disconnected device advertising `service_uuids16`, and
  // announces it with InterfacesAdded. Returns "/org/bluez/hci0/dev_AA_BB_...".
  absl::StatusOr<std::string> AddDevice(const std::string& adapter_path, const std::string& address,
                                        const std::string& alias, const std::vector<uint16_t>& service_uuids16);
  // "/org/bluez/hci0/dev_AA_BB_...": where AddDevice puts the device. GATT objects may be added there
  // before the device itself, as bluetoothd has them all in place by the time it announces
  // ServicesResolved (the mock's Connect resolves services at once).
  static std::string DevicePath(const std::string& adapter_path, const std::string& address);
  // Removes the device object (not its GATT children, which a re-added device finds again) and
  // announces it with InterfacesRemoved.
  absl::Status RemoveDevice(const std::string& device_path);
  // Adds a primary service (once per service_index) and a characteristic with StartNotify and
  // StopNotify. Returns the characteristic's path.
  absl::StatusOr<std::string> AddCharacteristic(const std::string& device_path, int service_index,
                                                uint16_t service_uuid16, int char_index, uint16_t char_uuid16);
  // A characteristic with chosen Flags and an initial Value (for ReadValue). ReadValue fails with
  // org.bluez.Error.NotPermitted without "read", WriteValue without "write"/"write-without-response".
  absl::StatusOr<std::string> AddCharacteristic(const std::string& device_path, int service_index,
                                                uint16_t service_uuid16, int char_index, uint16_t char_uuid16,
                                                const std::vector<std::string>& flags,
                                                const std::vector<uint8_t>& initial_value);
  // Every value written to the characteristic with WriteValue, oldest first.
  absl::StatusOr<std::vector<std::vector<uint8_t>>> Writes(const std::string& characteristic_path);
  // Makes `racp_path` a RACP that serves records through `measurement_path`.
  absl::Status MakeRecordStore(const std::string& racp_path, const std::string& measurement_path);
  // Stores a record (the measurement value as the device would notify it) under `sequence_number`.
  absl::Status AddStoredRecord(const std::string& racp_path, uint16_t sequence_number, const std::vector<uint8_t>& value);

  // How Device1.Pair authenticates: kJustWorks calls RequestAuthorization, kConfirm
  // RequestConfirmation(passkey), kPasskey RequestPasskey and fails with
  // org.bluez.Error.AuthenticationFailed unless the agent answers `passkey`. Default kJustWorks.
  enum class PairingMode { kJustWorks, kConfirm, kPasskey };
  absl::Status SetPairing(const std::string& device_path, PairingMode mode, uint32_t passkey = 0);
  // Adds org.bluez.Battery1 {Percentage} to a device that AddDevice has added.
  absl::Status AddBattery(const std::string& device_path, uint8_t percentage);
  // Changes Battery1 Percentage (PropertiesChanged, as BlueZ's battery plugin does).
  absl::Status SetBattery(const std::string& device_path, uint8_t percentage);

  // Sets Value, emitting PropertiesChanged as bluetoothd does for a notification or indication.
  absl::Status Notify(const std::string& characteristic_path, const std::vector<uint8_t>& value);
  // The device drops the link: Connected and ServicesResolved become false.
  absl::Status DropConnection(const std::string& device_path);
  // The device is seen advertising again: RSSI changes.
  absl::Status Advertise(const std::string& device_path, int16_t rssi);
  // Out-of-date signals, as a loaded client may handle them late; the object itself is unchanged.
  // InterfacesAdded for an existing device, with Connected and ServicesResolved false as AddDevice
  // announced it:
  absl::Status EmitStaleAnnouncement(const std::string& device_path);
  // PropertiesChanged Connected=false, ServicesResolved=false while the device stays connected:
  absl::Status EmitStaleDisconnect(const std::string& device_path);
  // The next `count` Connect calls fail with the D-Bus error `error_name`.
  absl::Status FailNextConnects(const std::string& device_path, int count, const std::string& error_name);

  absl::StatusOr<bool> GetBool(const std::string& path, const std::string& iface, const std::string& name);

  // bluetoothd crashes: SIGKILL the dbusmock process (org.bluez loses its owner).
  void KillMock();
  // A new dbusmock bluez5 on the same bus, with no objects yet.
  absl::Status RestartMock();
  // The system bus goes away: SIGKILL the dbus-daemon (and the mock, which lives on it).
  void KillDaemon();
  // A new dbus-daemon at the same address, then a new mock on it (no objects yet).
  absl::Status RestartDaemon();
  // org.bluez loses its owner / gets it back (the same process, objects kept).
  absl::Status ReleaseName();
  absl::Status RequestName();
  // The first half of `outage` (kill the mock, kill the daemon, or release the name).
  absl::Status BeginOutage(Outage outage);

 private:
  MockBluez() = default;
  absl::Status StartDaemon();
  absl::Status StartMock();

  std::string dir_;      // private directory holding the bus socket
  std::string address_;  // unix:path=<dir_>/bus
  std::string mock_name_;  // the mock's unique bus name
  std::optional<std::string> previous_env_;
  std::unique_ptr<healthtwin::testing::Subprocess> daemon_;
  std::unique_ptr<healthtwin::testing::Subprocess> mock_;
  std::unique_ptr<sdbus::IConnection> connection_;
};

}  // namespace healthtwin::ble::testing
