#include "ble_bridge/bluez/sdbus_bluez_bus.h"

#include <sdbus-c++/Error.h>
#include <sdbus-c++/IProxy.h>
#include <sdbus-c++/Message.h>
#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "ble_bridge/bluez/event_loop.h"

namespace healthtwin::ble {
namespace {

constexpr char kErrorNamePayload[] = "type.healthtwin/dbus-error-name";
constexpr char kDbusService[] = "org.freedesktop.DBus";
constexpr char kDbusPath[] = "/org/freedesktop/DBus";
constexpr char kDisconnected[] = "org.freedesktop.DBus.Error.Disconnected";

absl::Status FromSdbus(const sdbus::Error& e) { return DbusError(e.getName(), e.getMessage()); }

uint64_t Micros(std::chrono::milliseconds d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

}  // namespace

absl::Status DbusError(const std::string& name, const std::string& message) {
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  if (name == "org.freedesktop.DBus.Error.UnknownObject" || name == "org.freedesktop.DBus.Error.UnknownMethod" ||
      name == "org.freedesktop.DBus.Error.UnknownInterface" || name == "org.bluez.Error.DoesNotExist") {
    code = absl::StatusCode::kNotFound;
  } else if (name == "org.freedesktop.DBus.Error.NoReply" || name == "org.freedesktop.DBus.Error.Timeout" ||
             name == "org.freedesktop.DBus.Error.TimedOut") {
    code = absl::StatusCode::kDeadlineExceeded;
  } else if (name == "org.bluez.Error.AlreadyExists" || name == "org.bluez.Error.AlreadyConnected") {
    code = absl::StatusCode::kAlreadyExists;
  }
  absl::Status status(code, name + ": " + message);
  status.SetPayload(kErrorNamePayload, absl::Cord(name));
  return status;
}

std::string DbusErrorName(const absl::Status& status) {
  auto payload = status.GetPayload(kErrorNamePayload);
  return payload ? std::string(*payload) : std::string();
}

// One connection to the system bus. Its loop stops, and the connection closes, when the last
// holder lets go: a thread still waiting for a reply keeps the loop that will deliver it. The
// last reference must never be dropped under mu_ (the loop's exit handler takes it).
struct SdbusBluezBus::Session {
  std::unique_ptr<sdbus::IConnection> connection;
  sdbus::Slot name_match;
  sdbus::Slot object_manager_match;
  sdbus::Slot properties_match;
  std::unique_ptr<EventLoopThread> loop;
  int failed_pings = 0;

  ~Session() {
    if (loop) loop->Stop();
    // The slots unregister through the connection, so they go first.
    name_match.reset();
    object_manager_match.reset();
    properties_match.reset();
    connection.reset();
  }
};

absl::StatusOr<std::unique_ptr<SdbusBluezBus>> SdbusBluezBus::Create(std::chrono::milliseconds call_timeout) {
  return Create(SdbusBusOptions{.call_timeout = call_timeout});
}

absl::StatusOr<std::unique_ptr<SdbusBluezBus>> SdbusBluezBus::Create(SdbusBusOptions options) {
  std::unique_ptr<SdbusBluezBus> bus(new SdbusBluezBus(options));
  absl::Status first = bus->Connect();
  if (!first.ok()) {
    if (options.require_bus_at_start) return first;
    spdlog::warn("dbus: system bus not reachable yet ({}); retrying in the background", first.ToString());
  }
  bus->supervisor_ = std::thread([b = bus.get()] { b->SuperviseGuarded(); });
  return bus;
}

SdbusBluezBus::SdbusBluezBus(SdbusBusOptions options)
    : options_(options), heartbeat_(std::chrono::steady_clock::now()) {}

SdbusBluezBus::~SdbusBluezBus() {
  Unsubscribe();
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  std::shared_ptr<Session> session;
  {
    std::lock_guard lock(mu_);
    session.swap(session_);
  }
  session.reset();
}

absl::Status SdbusBluezBus::Connect() {
  auto session = std::make_shared<Session>();
  std::lock_guard match_lock(match_mu_);
  std::string owner;
  try {
    session->connection = sdbus::createSystemBusConnection();
    const Session* raw = session.get();
    session->name_match = session->connection->addMatch(
        "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
        "member='NameOwnerChanged',path='/org/freedesktop/DBus',arg0='org.bluez'",
        [this, raw](sdbus::Message& msg) { OnNameOwnerChanged(raw, msg); });
    bool subscribed;
    {
      std::lock_guard lock(handlers_mu_);
      subscribed = subscribed_;
    }
    if (subscribed) {
      if (absl::Status s = InstallBluezMatches(*session); !s.ok()) return s;
    }
    // Asked before the loop runs: a NameOwnerChanged that crosses this answer is dispatched after
    // it, so the last word on the owner is always the newest.
    auto proxy = sdbus::createProxy(*session->connection, kDbusService, kDbusPath);
    auto call = proxy->createMethodCall(kDbusService, "GetNameOwner");
    call << std::string(kBluezService);
    try {
      auto reply = proxy->callMethod(call, Micros(options_.call_timeout));
      reply >> owner;
    } catch (const sdbus::Error& e) {
      if (e.getName() != "org.freedesktop.DBus.Error.NameHasNoOwner") throw;
    }
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
  {
    std::lock_guard lock(mu_);
    session_ = session;
    ++connections_;
    owner_events_.clear();  // anything queued belonged to the previous connection
    owner_events_.push_back(owner);
  }
  cv_.notify_all();
  session->loop = std::make_unique<EventLoopThread>(*session->connection, "system bus", [this](const absl::Status&) {
    std::lock_guard lock(mu_);  // so the supervisor cannot miss the wake-up
    cv_.notify_all();
  });
  return absl::OkStatus();
}

absl::Status SdbusBluezBus::InstallBluezMatches(Session& session) {
  try {
    // sender='org.bluez': the daemon matches the well-known name against its current owner, so
    // no other client on the system bus can fake a notification, and a restarted bluetoothd is
    // matched without a new rule.
    session.object_manager_match = session.connection->addMatch(
        "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.ObjectManager',path='/'",
        [this](sdbus::Message& msg) { OnObjectManagerSignal(msg); });
    session.properties_match = session.connection->addMatch(
        "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',"
        "member='PropertiesChanged',path_namespace='/org/bluez'",
        [this](sdbus::Message& msg) { OnPropertiesChanged(msg); });
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
  return absl::OkStatus();
}

void SdbusBluezBus::SuperviseGuarded() {
  while (true) {
    try {
      Supervise();
      return;
    } catch (const std::exception& e) {
      // Bus errors are Status values; this is a bug (or memory). Log it and go on supervising.
      spdlog::error("dbus: supervisor: {}", e.what());
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; })) return;
  }
}

void SdbusBluezBus::Supervise() {
  using Clock = std::chrono::steady_clock;
  Backoff backoff(options_.reconnect, options_.seed);
  bool warned = false;
  auto next_ping = Clock::now() + options_.health_interval;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    heartbeat_ = Clock::now();
    if (!session_) {
      lock.unlock();
      absl::Status s = Connect();
      lock.lock();
      if (!s.ok()) {
        const auto delay = backoff.Next();
        if (!warned) {
          spdlog::warn("dbus: cannot connect to the system bus ({}); retrying with backoff", s.ToString());
        } else {
          spdlog::debug("dbus: reconnect failed ({}); next try in {} ms", s.ToString(), delay.count());
        }
        warned = true;
        cv_.wait_for(lock, delay, [&] { return stopping_; });
        continue;
      }
      backoff.Reset();
      warned = false;
      spdlog::info("dbus: connected to the system bus (connection {})", connections_);
      next_ping = Clock::now() + options_.health_interval;
      continue;
    }
    if (session_->loop && session_->loop->exited()) {
      DropSession(lock, session_->loop->exit_status().ToString());
      continue;
    }
    if (!owner_events_.empty()) {
      std::string owner = std::move(owner_events_.front());
      owner_events_.pop_front();
      lock.unlock();
      ApplyOwner(owner);
      lock.lock();
      continue;
    }
    if (Clock::now() >= next_ping) {
      std::shared_ptr<Session> session = session_;
      lock.unlock();
      absl::StatusOr<sdbus::MethodReply> pong =
          Invoke(kDbusPath, "org.freedesktop.DBus.Peer", "Ping", options_.ping_timeout, nullptr, kDbusService);
      lock.lock();
      next_ping = Clock::now() + options_.health_interval;
      const Session* pinged = session.get();
      bool drop = false;
      if (pong.ok()) {
        session->failed_pings = 0;
      } else {
        drop = ++session->failed_pings >= 2;
      }
      // Never the last reference under mu_: closing a session joins its loop, whose exit
      // handler takes mu_.
      lock.unlock();
      session.reset();
      lock.lock();
      if (drop && session_.get() == pinged) {
        DropSession(lock, "the bus daemon does not answer: " + pong.status().ToString());
      }
      continue;
    }
    cv_.wait_until(lock, next_ping, [&] {
      return stopping_ || !session_ || (session_->loop && session_->loop->exited()) || !owner_events_.empty();
    });
  }
}

void SdbusBluezBus::DropSession(std::unique_lock<std::mutex>& lock, const std::string& why) {
  std::shared_ptr<Session> lost;
  lost.swap(session_);
  owner_events_.clear();
  lock.unlock();
  spdlog::warn("dbus: lost the system bus connection ({}); reconnecting", why);
  lost.reset();  // closes it unless a caller still waits on it
  ApplyOwner("");
  lock.lock();
}

void SdbusBluezBus::ApplyOwner(const std::string& owner) {
  std::vector<BluezPresence> reports;
  {
    std::lock_guard lock(mu_);
    if (owner == owner_) return;
    if (!owner_.empty()) {
      presence_ = {.available = false, .epoch = presence_.epoch + 1};
      reports.push_back(presence_);
    }
    owner_ = owner;
    if (!owner.empty()) {
      presence_ = {.available = true, .epoch = presence_.epoch + 1};
      reports.push_back(presence_);
    }
  }
  for (const BluezPresence& p : reports) {
    if (p.available) {
      spdlog::info("dbus: org.bluez is available ({}, epoch {})", owner, p.epoch);
    } else {
      spdlog::warn("dbus: org.bluez went away (epoch {})", p.epoch);
    }
    Report(p);
  }
}

void SdbusBluezBus::Report(const BluezPresence& presence) {
  std::lock_guard lock(handlers_mu_);
  if (!subscribed_ || !handlers_.presence_changed) return;
  try {
    handlers_.presence_changed(presence);
  } catch (const std::exception& e) {
    spdlog::error("dbus: presence handler threw: {}", e.what());
  }
}

absl::Status SdbusBluezBus::Subscribe(BusSignalHandlers handlers) {
  std::lock_guard match_lock(match_mu_);
  {
    std::lock_guard lock(handlers_mu_);
    if (subscribed_) return absl::FailedPreconditionError("already subscribed");
    handlers_ = std::move(handlers);
    subscribed_ = true;
  }
  if (std::shared_ptr<Session> session = CurrentSession()) {
    if (absl::Status s = InstallBluezMatches(*session); !s.ok()) {
      // The connection is failing; the supervisor installs the matches on the next one.
      spdlog::warn("dbus: subscribing: {}", s.ToString());
    }
  }
  return absl::OkStatus();
}

void SdbusBluezBus::Unsubscribe() {
  std::lock_guard match_lock(match_mu_);
  {
    std::lock_guard lock(handlers_mu_);  // waits for a handler that is running now
    handlers_ = {};
    subscribed_ = false;
  }
  // Not under handlers_mu_: removing a match waits for the dispatch thread, which may be waiting
  // for handlers_mu_ to deliver a signal (it then finds subscribed_ false and returns).
  if (std::shared_ptr<Session> session = CurrentSession()) {
    session->object_manager_match.reset();
    session->properties_match.reset();
  }
}

BluezPresence SdbusBluezBus::Presence() const {
  std::lock_guard lock(mu_);
  return presence_;
}

bool SdbusBluezBus::Healthy(std::chrono::milliseconds max_age) const {
  std::lock_guard lock(mu_);
  return std::chrono::steady_clock::now() - heartbeat_ <= max_age;
}

uint64_t SdbusBluezBus::connections() const {
  std::lock_guard lock(mu_);
  return connections_;
}

std::shared_ptr<SdbusBluezBus::Session> SdbusBluezBus::CurrentSession() const {
  std::lock_guard lock(mu_);
  return session_;
}

void SdbusBluezBus::OnNameOwnerChanged(const Session* from, sdbus::Message& msg) {
  try {
    std::string name, old_owner, new_owner;
    msg >> name >> old_owner >> new_owner;
    if (name != kBluezService) return;
    {
      std::lock_guard lock(mu_);
      if (session_.get() != from) return;  // a connection already given up
      // A direct hand-over (old -> new) is a loss followed by a new owner.
      if (!old_owner.empty() && !new_owner.empty()) owner_events_.push_back("");
      owner_events_.push_back(new_owner);
    }
    cv_.notify_all();
  } catch (const std::exception& e) {
    spdlog::warn("dbus: malformed NameOwnerChanged: {}", e.what());
  }
}

void SdbusBluezBus::OnObjectManagerSignal(sdbus::Message& msg) {
  // Everything here arrives from the network (through bluetoothd): a malformed signal is dropped.
  // Nothing may escape into sd-bus's dispatch (it would end the loop, or the process).
  try {
    std::lock_guard lock(handlers_mu_);
    if (!subscribed_) return;
    sdbus::ObjectPath path;
    if (msg.getMemberName() == "InterfacesAdded") {
      std::map<std::string, std::map<std::string, sdbus::Variant>> ifaces;
      msg >> path >> ifaces;
      if (handlers_.interfaces_added) handlers_.interfaces_added(path, ifaces);
    } else if (msg.getMemberName() == "InterfacesRemoved") {
      std::vector<std::string> ifaces;
      msg >> path >> ifaces;
      if (handlers_.interfaces_removed) handlers_.interfaces_removed(path, ifaces);
    }
  } catch (const sdbus::Error&) {
  } catch (const std::exception& e) {
    spdlog::error("dbus: ObjectManager signal handler threw: {}", e.what());
  }
}

void SdbusBluezBus::OnPropertiesChanged(sdbus::Message& msg) {
  try {
    std::lock_guard lock(handlers_mu_);
    if (!subscribed_) return;
    std::string iface;
    std::map<std::string, sdbus::Variant> changed;
    std::vector<std::string> invalidated;
    msg >> iface >> changed >> invalidated;
    if (handlers_.properties_changed) handlers_.properties_changed(msg.getPath(), iface, changed, invalidated);
  } catch (const sdbus::Error&) {
  } catch (const std::exception& e) {
    spdlog::error("dbus: PropertiesChanged handler threw: {}", e.what());
  }
}

absl::StatusOr<sdbus::MethodReply> SdbusBluezBus::Invoke(const std::string& path, const std::string& iface,
                                                         const std::string& method, std::chrono::milliseconds timeout,
                                                         const std::function<void(sdbus::MethodCall&)>& fill,
                                                         const std::string& destination) {
  std::shared_ptr<Session> session = CurrentSession();
  if (!session) return DbusError(kDisconnected, "not connected to the system bus (reconnecting)");
  try {
    auto proxy = sdbus::createProxy(*session->connection, destination, path);
    auto call = proxy->createMethodCall(iface, method);
    if (fill) fill(call);
    return proxy->callMethod(call, Micros(timeout));
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
}

absl::StatusOr<ManagedObjects> SdbusBluezBus::GetManagedObjects() {
  auto reply = Invoke("/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", options_.call_timeout, nullptr);
  if (!reply.ok()) return reply.status();
  try {
    std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>> objects;
    *reply >> objects;
    ManagedObjects out;
    for (auto& [path, ifaces] : objects) out.emplace(path, std::move(ifaces));
    return out;
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
}

absl::Status SdbusBluezBus::SetProperty(const std::string& path, const std::string& iface, const std::string& name,
                                        const sdbus::Variant& value) {
  return Invoke(path, "org.freedesktop.DBus.Properties", "Set", options_.call_timeout,
                [&](sdbus::MethodCall& call) { call << iface << name << value; })
      .status();
}

absl::Status SdbusBluezBus::Call(const std::string& path, const std::string& iface, const std::string& method,
                                 const std::optional<PropertyMap>& options) {
  return Invoke(path, iface, method, options_.call_timeout,
                [&](sdbus::MethodCall& call) {
                  if (options) call << *options;
                })
      .status();
}

absl::Status SdbusBluezBus::CallWithTimeout(const std::string& path, const std::string& iface,
                                            const std::string& method, std::chrono::milliseconds timeout) {
  return Invoke(path, iface, method, timeout, nullptr).status();
}

absl::StatusOr<std::vector<uint8_t>> SdbusBluezBus::ReadValue(const std::string& characteristic_path) {
  auto reply = Invoke(characteristic_path, kGattCharacteristicIface, "ReadValue", options_.call_timeout,
                      [](sdbus::MethodCall& call) { call << PropertyMap{}; });
  if (!reply.ok()) return reply.status();
  try {
    std::vector<uint8_t> value;
    *reply >> value;
    return value;
  } catch (const sdbus::Error& e) {
    return FromSdbus(e);
  }
}

absl::Status SdbusBluezBus::WriteValue(const std::string& characteristic_path, const std::vector<uint8_t>& value,
                                       const PropertyMap& options) {
  return Invoke(characteristic_path, kGattCharacteristicIface, "WriteValue", options_.call_timeout,
                [&](sdbus::MethodCall& call) { call << value << options; })
      .status();
}

}  // namespace healthtwin::ble
