#include "ble_bridge/bluez/agent.h"

#include <sdbus-c++/Error.h>
#include <sdbus-c++/IProxy.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "ble_bridge/bluez/bluez_bus.h"

namespace healthtwin::ble {
namespace {

constexpr char kRejected[] = "org.bluez.Error.Rejected";
constexpr uint64_t kRegisterTimeoutUs = 10'000'000;
constexpr uint32_t kMaxPasskey = 999'999;

// "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF" -> "AA:BB:CC:DD:EE:FF". The agent cannot ask BlueZ for
// the Address property: BlueZ is waiting for this very reply.
std::string AddressOf(const std::string& device_path) {
  std::string name = device_path.substr(device_path.rfind('/') + 1);
  if (name.rfind("dev_", 0) == 0) name = name.substr(4);
  std::replace(name.begin(), name.end(), '_', ':');
  return name;
}

void CallManager(sdbus::IConnection& connection, const char* method, const sdbus::ObjectPath& path,
                 const std::string* capability) {
  auto proxy = sdbus::createProxy(connection, kBluezService, "/org/bluez");
  auto call = proxy->createMethodCall(kAgentManagerIface, method);
  call << path;
  if (capability != nullptr) call << *capability;
  proxy->callMethod(call, kRegisterTimeoutUs);
}

}  // namespace

absl::StatusOr<std::unique_ptr<BluezAgent>> BluezAgent::Create(PairingPrompt& prompt, const std::string& capability,
                                                              const std::string& path) {
  std::unique_ptr<BluezAgent> agent(new BluezAgent(prompt, path));
  BluezAgent* self = agent.get();
  try {
    agent->connection_ = sdbus::createSystemBusConnection();
    agent->object_ = sdbus::createObject(*agent->connection_, path);
    auto& o = *agent->object_;
    o.registerMethod("Release").onInterface(kAgentIface).implementedAs([] { spdlog::info("agent: released by BlueZ"); });
    o.registerMethod("RequestPinCode")
        .onInterface(kAgentIface)
        .withInputParamNames("device")
        .withOutputParamNames("pincode")
        .implementedAs([self](sdbus::ObjectPath device) -> std::string {
          self->rejected_.fetch_add(1);
          throw sdbus::Error(kRejected, "PIN codes (BR/EDR legacy pairing) are not supported: " + AddressOf(device));
        });
    o.registerMethod("DisplayPinCode")
        .onInterface(kAgentIface)
        .withInputParamNames("device", "pincode")
        .implementedAs([self](sdbus::ObjectPath device, std::string) {
          self->rejected_.fetch_add(1);
          throw sdbus::Error(kRejected, "PIN codes (BR/EDR legacy pairing) are not supported: " + AddressOf(device));
        });
    o.registerMethod("RequestPasskey")
        .onInterface(kAgentIface)
        .withInputParamNames("device")
        .withOutputParamNames("passkey")
        .implementedAs([self](sdbus::ObjectPath device) -> uint32_t {
          const std::string address = self->CheckTarget(device, "RequestPasskey");
          absl::StatusOr<uint32_t> passkey = self->prompt_.Passkey(address);
          if (!passkey.ok() || *passkey > kMaxPasskey) {
            self->rejected_.fetch_add(1);
            throw sdbus::Error(kRejected, passkey.ok() ? "passkey above 999999" : std::string(passkey.status().message()));
          }
          self->passkeys_.fetch_add(1);
          return *passkey;
        });
    o.registerMethod("DisplayPasskey")
        .onInterface(kAgentIface)
        .withInputParamNames("device", "passkey", "entered")
        .implementedAs([](sdbus::ObjectPath device, uint32_t passkey, uint16_t entered) {
          spdlog::info("agent: type {:06d} on {} ({} digits entered)", passkey, AddressOf(device), entered);
        });
    o.registerMethod("RequestConfirmation")
        .onInterface(kAgentIface)
        .withInputParamNames("device", "passkey")
        .implementedAs([self](sdbus::ObjectPath device, uint32_t passkey) {
          const std::string address = self->CheckTarget(device, "RequestConfirmation");
          if (!self->prompt_.Confirm(address, passkey)) {
            self->rejected_.fetch_add(1);
            throw sdbus::Error(kRejected, "passkey not confirmed");
          }
          self->confirmations_.fetch_add(1);
        });
    o.registerMethod("RequestAuthorization")
        .onInterface(kAgentIface)
        .withInputParamNames("device")
        .implementedAs([self](sdbus::ObjectPath device) {
          self->CheckTarget(device, "RequestAuthorization");
          self->authorizations_.fetch_add(1);
        });
    o.registerMethod("AuthorizeService")
        .onInterface(kAgentIface)
        .withInputParamNames("device", "uuid")
        .implementedAs([self](sdbus::ObjectPath device, std::string) {
          self->CheckTarget(device, "AuthorizeService");
          self->authorizations_.fetch_add(1);
        });
    o.registerMethod("Cancel").onInterface(kAgentIface).implementedAs([self] {
      self->cancels_.fetch_add(1);
      spdlog::info("agent: BlueZ cancelled the pairing request");
    });
    o.finishRegistration();
    agent->loop_ = std::make_unique<EventLoopThread>(*agent->connection_, "agent", nullptr);
    CallManager(*agent->connection_, "RegisterAgent", sdbus::ObjectPath(path), &capability);
    CallManager(*agent->connection_, "RequestDefaultAgent", sdbus::ObjectPath(path), nullptr);
  } catch (const sdbus::Error& e) {
    return DbusError(e.getName(), "registering the pairing agent: " + e.getMessage());
  }
  return agent;
}

BluezAgent::~BluezAgent() {
  try {
    if (connection_) CallManager(*connection_, "UnregisterAgent", sdbus::ObjectPath(path_), nullptr);
  } catch (const std::exception&) {
    // BlueZ (or the bus) may be gone already; nothing to undo then.
  }
  loop_.reset();
  object_.reset();
}

void BluezAgent::SetTarget(const std::string& device_path) {
  std::lock_guard lock(mu_);
  target_ = device_path;
}

std::string BluezAgent::CheckTarget(const std::string& device, const char* request) {
  std::string target;
  {
    std::lock_guard lock(mu_);
    target = target_;
  }
  if (device != target) {
    rejected_.fetch_add(1);
    spdlog::warn("agent: {} from {} refused: not the device being paired", request, device);
    throw sdbus::Error(kRejected, "not the device being paired");
  }
  return AddressOf(device);
}

AgentStats BluezAgent::stats() const {
  return {.authorizations = authorizations_.load(),
          .passkeys = passkeys_.load(),
          .confirmations = confirmations_.load(),
          .rejected = rejected_.load(),
          .cancels = cancels_.load()};
}

}  // namespace healthtwin::ble
