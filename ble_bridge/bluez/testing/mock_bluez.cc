#include "ble_bridge/bluez/testing/mock_bluez.h"

#include <sdbus-c++/Error.h>
#include <sdbus-c++/IProxy.h>
#include <sdbus-c++/Types.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "ble_bridge/bluez/gatt_uuids.h"

namespace healthtwin::ble::testing {
namespace {

using healthtwin::testing::PollUntil;
using healthtwin::testing::Subprocess;
using healthtwin::testing::SubprocessOptions;

constexpr char kMockIface[] = "org.freedesktop.DBus.Mock";
constexpr char kDevice[] = "org.bluez.Device1";
constexpr char kChar[] = "org.bluez.GattCharacteristic1";
constexpr uint64_t kCallTimeoutUs = 5'000'000;

using Method = sdbus::Struct<std::string, std::string, std::string, std::string>;
using Props = std::map<std::string, sdbus::Variant>;

// Python run by dbusmock inside the device object: Connect/Disconnect as bluetoothd reports them.
// dbusmock cannot add an object and announce it (InterfacesAdded) in one step, as bluetoothd
// does; until AddDevice has announced it, a Connect fails as a refused connection would
// (org.bluez.Error.Failed, which the bridge retries). Otherwise a client that found the object
// first (GetManagedObjects) and connected would then be told Connected=false by the late
// announcement, which no bluetoothd says of a connected device (seen in the hour's chaos soak).
constexpr char kConnectCode[] =
    "if not getattr(self, 'announced', False):\n"
    "    raise dbus.exceptions.DBusException('not yet announced', name='org.bluez.Error.Failed')\n"
    "n = getattr(self, 'fail_connects', 0)\n"
    "if n > 0:\n"
    "    self.fail_connects = n - 1\n"
    "    raise dbus.exceptions.DBusException('mock failure', name=self.fail_name)\n"
    "if self.props['org.bluez.Device1']['Connected']:\n"
    "    raise dbus.exceptions.DBusException('Already Connected', name='org.bluez.Error.AlreadyConnected')\n"
    "self.UpdateProperties('org.bluez.Device1', {'Connected': dbus.Boolean(True), 'ServicesResolved': "
    "dbus.Boolean(True)})\n";
constexpr char kDisconnectCode[] =
    "self.UpdateProperties('org.bluez.Device1', {'Connected': dbus.Boolean(False), 'ServicesResolved': "
    "dbus.Boolean(False)})\n";
constexpr char kSetFailCode[] = "self.fail_connects = args[0]\nself.fail_name = args[1]\n";
constexpr char kAnnouncedCode[] = "self.announced = True\n";

// Installed once on the root object: remembers which connection registered which agent path,
// because bluetoothd calls the agent on the connection that registered it and dbusmock's
// RegisterAgent does not keep the sender.
constexpr char kTrackAgentsCode[] =
    "import dbus.lowlevel\n"
    "objects['/org/bluez'].healthtwin_agent_owners = {}\n"
    "def _ht_track_agents(conn, msg):\n"
    "    try:\n"
    "        if isinstance(msg, dbus.lowlevel.MethodCallMessage) and msg.get_member() == 'RegisterAgent' \\\n"
    "                and msg.get_interface() == 'org.bluez.AgentManager1':\n"
    "            objects['/org/bluez'].healthtwin_agent_owners[str(msg.get_args_list()[0])] = msg.get_sender()\n"
    "    except Exception:\n"
    "        pass\n"
    "    return dbus.lowlevel.HANDLER_RESULT_NOT_YET_HANDLED\n"
    "self.connection.add_message_filter(_ht_track_agents)\n";

// Device1.Pair as bluetoothd runs it: ask the default agent over D-Bus, then mark the bond.
constexpr char kPairCode[] =
    "if self.props['org.bluez.Device1']['Paired']:\n"
    "    raise dbus.exceptions.DBusException('Already Paired', name='org.bluez.Error.AlreadyExists')\n"
    "mgr = objects['/org/bluez']\n"
    "agent = mgr.default_agent\n"
    "owner = getattr(mgr, 'healthtwin_agent_owners', {}).get(str(agent)) if agent else None\n"
    "if owner is None:\n"
    "    raise dbus.exceptions.DBusException('no agent', name='org.bluez.Error.AuthenticationFailed')\n"
    "a = dbus.Interface(self.connection.get_object(owner, agent, introspect=False), 'org.bluez.Agent1')\n"
    "mode = getattr(self, 'pair_mode', 'justworks')\n"
    "dev = dbus.ObjectPath(self.path)\n"
    "try:\n"
    "    if mode == 'justworks':\n"
    "        a.RequestAuthorization(dev, timeout=30)\n"
    "    elif mode == 'confirm':\n"
    "        a.RequestConfirmation(dev, dbus.UInt32(self.pair_passkey), timeout=30)\n"
    "    else:\n"
    "        got = int(a.RequestPasskey(dev, timeout=120))\n"
    "        if got != self.pair_passkey:\n"
    "            raise dbus.exceptions.DBusException('Authentication Failed (passkey mismatch)',\n"
    "                                                name='org.bluez.Error.AuthenticationFailed')\n"
    "except dbus.exceptions.DBusException as e:\n"
    "    if e.get_dbus_name() == 'org.bluez.Error.AuthenticationFailed':\n"
    "        raise\n"
    "    raise dbus.exceptions.DBusException('Authentication Rejected: ' + str(e.get_dbus_message()),\n"
    "                                        name='org.bluez.Error.AuthenticationRejected')\n"
    "self.UpdateProperties('org.bluez.Device1', {'Paired': dbus.Boolean(True), 'Bonded': dbus.Boolean(True)})\n";
constexpr char kSetPairingCode[] = "self.pair_mode = args[0]\nself.pair_passkey = int(args[1])\n";

constexpr char kReadValueCode[] =
    "if 'read' not in self.props['org.bluez.GattCharacteristic1']['Flags']:\n"
    "    raise dbus.exceptions.DBusException('Read not permitted', name='org.bluez.Error.NotPermitted')\n"
    "ret = dbus.Array(self.props['org.bluez.GattCharacteristic1']['Value'], signature='y')\n";

// (No comprehensions: exec() with separate locals hides `first` from their scope.)
// WriteValue: kept in self.writes (the cached Value changes silently, as bluetoothd does not
// signal a write); a RACP with a record store answers "report stored records" requests.
constexpr char kWriteValueCode[] =
    "flags = self.props['org.bluez.GattCharacteristic1']['Flags']\n"
    "if 'write' not in flags and 'write-without-response' not in flags:\n"
    "    raise dbus.exceptions.DBusException('Write not permitted', name='org.bluez.Error.NotPermitted')\n"
    "v = [int(b) for b in args[0]]\n"
    "self.writes = getattr(self, 'writes', []) + [v]\n"
    "self.props['org.bluez.GattCharacteristic1']['Value'] = dbus.Array(v, signature='y', variant_level=1)\n"
    "recs = getattr(self, 'racp_records', None)\n"
    "if recs is not None and len(v) >= 1:\n"
    "    sel = None\n"
    "    code = 1\n"
    "    if v[0] != 1:\n"
    "        code = 2\n"
    "    elif len(v) == 2 and v[1] == 1:\n"
    "        sel = sorted(recs.items())\n"
    "    elif len(v) == 5 and v[1] == 3 and v[2] == 1:\n"
    "        first = v[3] | (v[4] << 8)\n"
    "        sel = []\n"
    "        for r in sorted(recs.items()):\n"
    "            if r[0] >= first:\n"
    "                sel.append(r)\n"
    "    elif len(v) >= 2 and v[1] in (2, 3, 4, 5, 6):\n"
    "        code = 4\n"
    "    else:\n"
    "        code = 3\n"
    "    m = objects[self.racp_measurement]\n"
    "    for seq, value in (sel or []):\n"
    "        m.UpdateProperties('org.bluez.GattCharacteristic1', {'Value': dbus.Array(value, signature='y')})\n"
    "    if sel is not None:\n"
    "        code = 1 if sel else 6\n"
    "    self.UpdateProperties('org.bluez.GattCharacteristic1', {'Value': dbus.Array([6, 0, v[0], code], "
    "signature='y')})\n";
constexpr char kGetWritesCode[] =
    "ret = dbus.Array([dbus.Array(w, signature='y') for w in getattr(self, 'writes', [])], signature='ay')\n";
constexpr char kMakeStoreCode[] = "self.racp_records = {}\nself.racp_measurement = str(args[0])\n";
constexpr char kAddRecordCode[] = "self.racp_records[int(args[0])] = [int(b) for b in args[1]]\n";

constexpr char kReleaseNameCode[] = "self.connection.release_name('org.bluez')\n";
constexpr char kRequestNameCode[] = "self.connection.request_name('org.bluez', dbus.bus.NAME_FLAG_DO_NOT_QUEUE)\n";

template <typename... Args>
absl::Status CallOn(sdbus::IConnection& connection, const std::string& destination, const std::string& path,
                    const std::string& iface, const std::string& method, const Args&... args) {
  try {
    auto proxy = sdbus::createProxy(connection, destination, path);
    auto call = proxy->createMethodCall(iface, method);
    ((call << args), ...);
    proxy->callMethod(call, kCallTimeoutUs);
    return absl::OkStatus();
  } catch (const sdbus::Error& e) {
    return absl::InternalError(absl::StrFormat("%s %s.%s: %s: %s", path, iface, method, e.getName(), e.getMessage()));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<MockBluez>> MockBluez::Start() {
  std::unique_ptr<MockBluez> m(new MockBluez());
  char dir[] = "/tmp/ht-mockbluez-XXXXXX";
  if (mkdtemp(dir) == nullptr) return absl::InternalError("mkdtemp failed");
  m->dir_ = dir;
  m->address_ = "unix:path=" + m->dir_ + "/bus";
  if (absl::Status s = m->StartDaemon(); !s.ok()) return s;
  if (absl::Status s = m->StartMock(); !s.ok()) return s;
  if (const char* prev = getenv("DBUS_SYSTEM_BUS_ADDRESS")) m->previous_env_ = prev;
  setenv("DBUS_SYSTEM_BUS_ADDRESS", m->address_.c_str(), 1);
  return m;
}

absl::Status MockBluez::StartDaemon() {
  // A daemon killed with SIGKILL leaves its socket file behind.
  std::error_code ignored;
  std::filesystem::remove(dir_ + "/bus", ignored);
  auto daemon = Subprocess::Spawn("/usr/bin/setpriv", {"--pdeathsig", "KILL", "--", "/usr/bin/dbus-daemon", "--session",
                                                       "--nofork", "--address=" + address_, "--print-address=1"});
  if (!daemon.ok()) return daemon.status();
  daemon_ = *std::move(daemon);
  Subprocess* d = daemon_.get();
  if (!PollUntil([d] { return d->Stdout().find('\n') != std::string::npos || !d->Running(); },
                 std::chrono::seconds(10))) {
    return absl::DeadlineExceededError("dbus-daemon printed no address: " + d->Stderr());
  }
  if (!d->Running()) return absl::InternalError("dbus-daemon failed: " + d->Stderr());
  try {
    connection_ = sdbus::createSessionBusConnectionWithAddress(address_);
  } catch (const sdbus::Error& e) {
    return absl::UnavailableError("cannot connect to the private bus: " + e.getMessage());
  }
  return absl::OkStatus();
}

absl::Status MockBluez::StartMock() {
  SubprocessOptions options;
  options.extra_env = {"DBUS_SYSTEM_BUS_ADDRESS=" + address_};
  auto mock = Subprocess::Spawn(
      "/usr/bin/setpriv",
      {"--pdeathsig", "KILL", "--", "/usr/bin/python3", "-m", "dbusmock", "--system", "--template", "bluez5"}, options);
  if (!mock.ok()) return mock.status();
  mock_ = *std::move(mock);

  sdbus::IConnection& conn = *connection_;
  Subprocess* py = mock_.get();
  std::string owner;
  bool owned = PollUntil(
      [&] {
        try {
          auto proxy = sdbus::createProxy(conn, "org.freedesktop.DBus", "/org/freedesktop/DBus");
          proxy->callMethod("GetNameOwner")
              .onInterface("org.freedesktop.DBus")
              .withArguments("org.bluez")
              .storeResultsTo(owner);
          return true;
        } catch (const sdbus::Error&) {
          return !py->Running();
        }
      },
      std::chrono::seconds(15));
  if (!owned || !py->Running() || owner.empty())
    return absl::UnavailableError("dbusmock bluez5 did not start: " + py->Stderr());
  mock_name_ = owner;

  if (absl::Status s =
          CallOn(conn, mock_name_, "/", kMockIface, "AddMethod", std::string("org.bluez.Mock"),
                 std::string("HealthtwinTrackAgents"), std::string(""), std::string(""), std::string(kTrackAgentsCode));
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CallOn(conn, mock_name_, "/", "org.bluez.Mock", "HealthtwinTrackAgents"); !s.ok()) return s;
  for (const auto& [name, code] :
       {std::pair{"HealthtwinReleaseName", kReleaseNameCode}, std::pair{"HealthtwinRequestName", kRequestNameCode}}) {
    if (absl::Status s = CallOn(conn, mock_name_, "/", kMockIface, "AddMethod", std::string("org.bluez.Mock"),
                                std::string(name), std::string(""), std::string(""), std::string(code));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

MockBluez::~MockBluez() {
  connection_.reset();
  mock_.reset();    // SIGKILL + reap
  daemon_.reset();  // SIGKILL + reap
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  if (previous_env_) {
    setenv("DBUS_SYSTEM_BUS_ADDRESS", previous_env_->c_str(), 1);
  } else {
    unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
  }
}

std::string OutageName(Outage outage) {
  switch (outage) {
    case Outage::kBluetoothdRestart:
      return "BluetoothdRestart";
    case Outage::kBusRestart:
      return "BusRestart";
    case Outage::kNameReleased:
      return "NameReleased";
  }
  return "Unknown";
}

absl::Status MockBluez::BeginOutage(Outage outage) {
  switch (outage) {
    case Outage::kBluetoothdRestart:
      KillMock();
      return absl::OkStatus();
    case Outage::kBusRestart:
      KillDaemon();
      return absl::OkStatus();
    case Outage::kNameReleased:
      return ReleaseName();
  }
  return absl::InvalidArgumentError("unknown outage");
}

void MockBluez::KillMock() {
  mock_.reset();  // SIGKILL + reap
  mock_name_.clear();
}

absl::Status MockBluez::RestartMock() { return StartMock(); }

void MockBluez::KillDaemon() {
  connection_.reset();
  mock_.reset();
  daemon_.reset();
  mock_name_.clear();
}

absl::Status MockBluez::RestartDaemon() {
  if (absl::Status s = StartDaemon(); !s.ok()) return s;
  return StartMock();
}

absl::Status MockBluez::ReleaseName() {
  return CallOn(*connection_, mock_name_, "/", "org.bluez.Mock", "HealthtwinReleaseName");
}

absl::Status MockBluez::RequestName() {
  return CallOn(*connection_, mock_name_, "/", "org.bluez.Mock", "HealthtwinRequestName");
}

absl::StatusOr<std::string> MockBluez::AddAdapter(const std::string& name) {
  try {
    auto proxy = sdbus::createProxy(*connection_, mock_name_, "/");
    std::string path;
    proxy->callMethod("AddAdapter")
        .onInterface("org.bluez.Mock")
        .withArguments(name, "healthtwin-test")
        .storeResultsTo(path);
    return path;
  } catch (const sdbus::Error& e) {
    return absl::InternalError("AddAdapter: " + e.getMessage());
  }
}

std::string MockBluez::DevicePath(const std::string& adapter_path, const std::string& address) {
  return adapter_path + "/dev_" + absl::StrReplaceAll(absl::AsciiStrToUpper(address), {{":", "_"}});
}

absl::StatusOr<std::string> MockBluez::AddDevice(const std::string& adapter_path, const std::string& address,
                                                 const std::string& alias,
                                                 const std::vector<uint16_t>& service_uuids16) {
  std::string path = DevicePath(adapter_path, address);
  std::vector<std::string> uuids;
  for (uint16_t u : service_uuids16) uuids.push_back(FullUuid(u));
  Props props;
  props.emplace("Address", sdbus::Variant(address));
  props.emplace("AddressType", sdbus::Variant(std::string("public")));
  props.emplace("Name", sdbus::Variant(alias));
  props.emplace("Alias", sdbus::Variant(alias));
  props.emplace("Adapter", sdbus::Variant(sdbus::ObjectPath(adapter_path)));
  props.emplace("UUIDs", sdbus::Variant(uuids));
  props.emplace("Paired", sdbus::Variant(false));
  props.emplace("Trusted", sdbus::Variant(false));
  props.emplace("Bonded", sdbus::Variant(false));
  props.emplace("Connected", sdbus::Variant(false));
  props.emplace("ServicesResolved", sdbus::Variant(false));
  props.emplace("RSSI", sdbus::Variant(int16_t{-60}));
  std::vector<Method> methods = {
      Method{"Connect", "", "", kConnectCode},
      Method{"Disconnect", "", "", kDisconnectCode},
      Method{"TestSetFailConnects", "is", "", kSetFailCode},
      Method{"TestAnnounced", "", "", kAnnouncedCode},
      Method{"Pair", "", "", kPairCode},
      Method{"CancelPairing", "", "", ""},
      Method{"TestSetPairing", "su", "", kSetPairingCode},
  };
  if (absl::Status s =
          CallOn(*connection_, mock_name_, "/", kMockIface, "AddObject", path, std::string(kDevice), props, methods);
      !s.ok()) {
    return s;
  }
  std::map<std::string, Props> ifaces;
  ifaces.emplace(kDevice, props);
  std::vector<sdbus::Variant> args = {sdbus::Variant(sdbus::ObjectPath(path)), sdbus::Variant(ifaces)};
  if (absl::Status s = CallOn(*connection_, mock_name_, "/", kMockIface, "EmitSignal",
                              std::string("org.freedesktop.DBus.ObjectManager"), std::string("InterfacesAdded"),
                              std::string("oa{sa{sv}}"), args);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CallOn(*connection_, mock_name_, path, kDevice, "TestAnnounced"); !s.ok()) return s;
  return path;
}

absl::Status MockBluez::RemoveDevice(const std::string& device_path) {
  if (absl::Status s =
          CallOn(*connection_, mock_name_, "/", kMockIface, "RemoveObject", sdbus::ObjectPath(device_path));
      !s.ok()) {
    return s;
  }
  std::vector<sdbus::Variant> args = {sdbus::Variant(sdbus::ObjectPath(device_path)),
                                      sdbus::Variant(std::vector<std::string>{kDevice})};
  return CallOn(*connection_, mock_name_, "/", kMockIface, "EmitSignal",
                std::string("org.freedesktop.DBus.ObjectManager"), std::string("InterfacesRemoved"), std::string("oas"),
                args);
}

absl::StatusOr<std::string> MockBluez::AddCharacteristic(const std::string& device_path, int service_index,
                                                         uint16_t service_uuid16, int char_index,
                                                         uint16_t char_uuid16) {
  return AddCharacteristic(device_path, service_index, service_uuid16, char_index, char_uuid16, {"notify", "indicate"},
                           {});
}

absl::StatusOr<std::string> MockBluez::AddCharacteristic(const std::string& device_path, int service_index,
                                                         uint16_t service_uuid16, int char_index, uint16_t char_uuid16,
                                                         const std::vector<std::string>& flags,
                                                         const std::vector<uint8_t>& initial_value) {
  std::string service_path = absl::StrFormat("%s/service%04x", device_path, service_index);
  Props service;
  service.emplace("UUID", sdbus::Variant(FullUuid(service_uuid16)));
  service.emplace("Primary", sdbus::Variant(true));
  service.emplace("Device", sdbus::Variant(sdbus::ObjectPath(device_path)));
  // A second characteristic of the same service finds the service already there.
  (void)CallOn(*connection_, mock_name_, "/", kMockIface, "AddObject", service_path,
               std::string("org.bluez.GattService1"), service, std::vector<Method>{});
  std::string char_path = absl::StrFormat("%s/char%04x", service_path, char_index);
  Props ch;
  ch.emplace("UUID", sdbus::Variant(FullUuid(char_uuid16)));
  ch.emplace("Service", sdbus::Variant(sdbus::ObjectPath(service_path)));
  ch.emplace("Value", sdbus::Variant(initial_value));
  ch.emplace("Notifying", sdbus::Variant(false));
  ch.emplace("Flags", sdbus::Variant(flags));
  std::vector<Method> methods = {
      Method{"StartNotify", "", "",
             "self.UpdateProperties('org.bluez.GattCharacteristic1', {'Notifying': dbus.Boolean(True)})"},
      Method{"StopNotify", "", "",
             "self.UpdateProperties('org.bluez.GattCharacteristic1', {'Notifying': dbus.Boolean(False)})"},
      Method{"ReadValue", "a{sv}", "ay", kReadValueCode},
      Method{"WriteValue", "aya{sv}", "", kWriteValueCode},
      Method{"TestGetWrites", "", "aay", kGetWritesCode},
      Method{"TestMakeRecordStore", "o", "", kMakeStoreCode},
      Method{"TestAddRecord", "qay", "", kAddRecordCode},
  };
  if (absl::Status s =
          CallOn(*connection_, mock_name_, "/", kMockIface, "AddObject", char_path, std::string(kChar), ch, methods);
      !s.ok()) {
    return s;
  }
  return char_path;
}

absl::StatusOr<std::vector<std::vector<uint8_t>>> MockBluez::Writes(const std::string& characteristic_path) {
  try {
    auto proxy = sdbus::createProxy(*connection_, mock_name_, characteristic_path);
    std::vector<std::vector<uint8_t>> writes;
    proxy->callMethod("TestGetWrites").onInterface(kChar).storeResultsTo(writes);
    return writes;
  } catch (const sdbus::Error& e) {
    return absl::InternalError("TestGetWrites: " + e.getMessage());
  }
}

absl::Status MockBluez::MakeRecordStore(const std::string& racp_path, const std::string& measurement_path) {
  return CallOn(*connection_, mock_name_, racp_path, kChar, "TestMakeRecordStore", sdbus::ObjectPath(measurement_path));
}

absl::Status MockBluez::AddStoredRecord(const std::string& racp_path, uint16_t sequence_number,
                                        const std::vector<uint8_t>& value) {
  return CallOn(*connection_, mock_name_, racp_path, kChar, "TestAddRecord", sequence_number, value);
}

absl::Status MockBluez::SetPairing(const std::string& device_path, PairingMode mode, uint32_t passkey) {
  const std::string name = mode == PairingMode::kJustWorks ? "justworks"
                           : mode == PairingMode::kConfirm ? "confirm"
                                                           : "passkey";
  return CallOn(*connection_, mock_name_, device_path, kDevice, "TestSetPairing", name, passkey);
}

absl::Status MockBluez::AddBattery(const std::string& device_path, uint8_t percentage) {
  Props props;
  props.emplace("Percentage", sdbus::Variant(percentage));
  return CallOn(*connection_, mock_name_, device_path, kMockIface, "AddProperties", std::string("org.bluez.Battery1"),
                props);
}

absl::Status MockBluez::SetBattery(const std::string& device_path, uint8_t percentage) {
  Props props;
  props.emplace("Percentage", sdbus::Variant(percentage));
  return CallOn(*connection_, mock_name_, device_path, kMockIface, "UpdateProperties",
                std::string("org.bluez.Battery1"), props);
}

absl::Status MockBluez::Notify(const std::string& characteristic_path, const std::vector<uint8_t>& value) {
  Props props;
  props.emplace("Value", sdbus::Variant(value));
  return CallOn(*connection_, mock_name_, characteristic_path, kMockIface, "UpdateProperties", std::string(kChar),
                props);
}

absl::Status MockBluez::DropConnection(const std::string& device_path) {
  Props props;
  props.emplace("Connected", sdbus::Variant(false));
  props.emplace("ServicesResolved", sdbus::Variant(false));
  return CallOn(*connection_, mock_name_, device_path, kMockIface, "UpdateProperties", std::string(kDevice), props);
}

absl::Status MockBluez::Advertise(const std::string& device_path, int16_t rssi) {
  Props props;
  props.emplace("RSSI", sdbus::Variant(rssi));
  return CallOn(*connection_, mock_name_, device_path, kMockIface, "UpdateProperties", std::string(kDevice), props);
}

absl::Status MockBluez::EmitStaleAnnouncement(const std::string& device_path) {
  Props props;
  props.emplace("Connected", sdbus::Variant(false));
  props.emplace("ServicesResolved", sdbus::Variant(false));
  std::map<std::string, Props> ifaces;
  ifaces.emplace(kDevice, props);
  std::vector<sdbus::Variant> args = {sdbus::Variant(sdbus::ObjectPath(device_path)), sdbus::Variant(ifaces)};
  return CallOn(*connection_, mock_name_, "/", kMockIface, "EmitSignal",
                std::string("org.freedesktop.DBus.ObjectManager"), std::string("InterfacesAdded"),
                std::string("oa{sa{sv}}"), args);
}

absl::Status MockBluez::EmitStaleDisconnect(const std::string& device_path) {
  Props props;
  props.emplace("Connected", sdbus::Variant(false));
  props.emplace("ServicesResolved", sdbus::Variant(false));
  std::vector<sdbus::Variant> args = {sdbus::Variant(std::string(kDevice)), sdbus::Variant(props),
                                      sdbus::Variant(std::vector<std::string>{})};
  return CallOn(*connection_, mock_name_, device_path, kMockIface, "EmitSignal",
                std::string("org.freedesktop.DBus.Properties"), std::string("PropertiesChanged"),
                std::string("sa{sv}as"), args);
}

absl::Status MockBluez::FailNextConnects(const std::string& device_path, int count, const std::string& error_name) {
  return CallOn(*connection_, mock_name_, device_path, kDevice, "TestSetFailConnects", int32_t{count}, error_name);
}

absl::StatusOr<bool> MockBluez::GetBool(const std::string& path, const std::string& iface, const std::string& name) {
  try {
    auto proxy = sdbus::createProxy(*connection_, mock_name_, path);
    sdbus::Variant v;
    proxy->callMethod("Get")
        .onInterface("org.freedesktop.DBus.Properties")
        .withArguments(iface, name)
        .storeResultsTo(v);
    return v.get<bool>();
  } catch (const sdbus::Error& e) {
    return absl::InternalError("Get " + name + ": " + e.getMessage());
  }
}

}  // namespace healthtwin::ble::testing
