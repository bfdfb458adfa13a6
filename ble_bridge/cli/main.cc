// healthtwin-bridge: the gateway's command line.
//
//   healthtwin-bridge decode --characteristic 2A35 --hex "16 7C 00 ..."
//   healthtwin-bridge run --ingest-addr HOST:PORT --pki DIR [--as bridge-001] --outbox FILE
//                         [--registry-addr HOST:PORT] [--adapter hci0]
//   healthtwin-bridge devices --outbox FILE [--registry-addr HOST:PORT --pki DIR ...]
//   healthtwin-bridge scan [--seconds N] [--json] [--adapter hci0] [--all] [--outbox FILE]
//   healthtwin-bridge pair AA:BB:CC:DD:EE:FF [--passkey-stdin] [--adapter hci0] [--timeout-s N]
//
// `decode` is a stable contract (MISSION.md "ble_bridge"): it prints one JSON object on stdout and
// exits 0; for a malformed value, bad hex or a characteristic it cannot parse it prints one line
// on stderr giving the reason and exits 2.
//
// `run` is the gateway daemon: BlueZ client -> durable outbox -> uplink to ingest (mutual TLS).
// Every decoded measurement is appended to the outbox (fsync'd) on the D-Bus dispatch thread
// before anything else; the forwarder sends it and deletes it once ingest's watermark covers it.
// With --registry-addr only devices the registry binds to a patient are forwarded; the others
// stay in the outbox until they are bound. SIGTERM/SIGINT: stop the BLE side, then try to
// deliver what is left for up to --drain-timeout-s (what is not delivered stays in the outbox for
// the next start), print a JSON summary on stdout and exit 0, whatever state D-Bus is in.
//
// D-Bus and BlueZ may go away under `run`: the system bus connection drops (dbus-daemon
// restarted) or org.bluez loses its owner (bluetoothd restarted). The bridge then keeps
// forwarding what the outbox holds, reconnects to the bus with backoff, and when org.bluez is
// back reads adapters and devices again, subscribes again and reruns RACP catch-up from the
// stored cursor (bluez/bluez_client.h). It also starts while the bus is still down. Under systemd
// (NOTIFY_SOCKET) it sends READY=1 once running and WATCHDOG=1 while healthy (systemd_notify.h).
//
// On each connection `run` also reads battery and Device Information, measures the device clock
// (Current Time) and sets it when allowed, and fetches stored glucose records through RACP from
// the last sequence number stored (a cursor kept in the outbox, see cli/recorder.h).
//
// Device status for technical alarms goes through the same outbox, exactly once: a row at each
// connect (battery, clock skew) and disconnect, on a new battery level (an unchanged one every
// 10 min at most) and on a change of a strap's sensor contact (cli/device_status_tracker.h).
// Every --heartbeat-s (default 60) the uplink also sends a gateway heartbeat with the outbox
// depth, outside the outbox (uplink/forwarder.h).
//
// `devices` lists every device the bridge has connected to or received a measurement from (kept
// in the outbox file) with its binding (asked live from the registry when --registry-addr is
// given, otherwise what the last `run` learned), battery, Device Information, clock skew and the
// last RACP outcome: one JSON object per line.
//
// `scan` discovers for --seconds with the health-service filter and lists what it found, one
// line per device (or one JSON object per line with --json), with the binding `run` last
// learned when --outbox is given.
//
// `pair` pairs and trusts one device through the bridge's BlueZ agent: Just Works needs nothing;
// for passkey entry it asks for the six digits the device shows (a prompt on stderr, read from
// stdin; --passkey-stdin reads stdin without a prompt, for scripts). Prints one JSON line.
//
// Exit codes: 0 success; 1 BlueZ or the outbox failed at run time, or pairing failed (one line on
// stderr giving the reason); 2 bad arguments or unusable files, with one line on stderr.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ble_bridge/bluez/agent.h"
#include "ble_bridge/bluez/bluez_client.h"
#include "ble_bridge/bluez/pairing.h"
#include "ble_bridge/bluez/scanner.h"
#include "ble_bridge/bluez/sdbus_bluez_bus.h"
#include "ble_bridge/cli/gateway_clock.h"
#include "ble_bridge/cli/recorder.h"
#include "ble_bridge/cli/systemd_notify.h"
#include "ble_bridge/cli/terminate_handler.h"
#include "ble_bridge/outbox/outbox.h"
#include "ble_bridge/parsers/decoder.h"
#include "ble_bridge/parsers/hex.h"
#include "ble_bridge/parsers/json.h"
#include "ble_bridge/uplink/binding.h"
#include "ble_bridge/uplink/forwarder.h"
#include "ble_bridge/uplink/grpc_uplink.h"
#include "services/common/logging.h"
#include "services/common/time_util.h"

namespace {

namespace ble = healthtwin::ble;
namespace common = healthtwin::common;

constexpr int kExitRuntime = 1;
// Reported in the gateway heartbeat: the project version (ble_bridge/cli/CMakeLists.txt).
constexpr char kBridgeVersion[] = HT_BRIDGE_VERSION;
constexpr int kExitInvalid = 2;
// The bus supervisor loops at least every few seconds (ping interval, ping timeout, reconnect
// backoff); this long without a round means it, or the dispatch thread it pings, is stuck.
constexpr std::chrono::seconds kBusStaleAfter{20};

int Fail(absl::string_view reason) {
  std::string line(reason);
  for (char& ch : line) {
    if (ch == '\n' || ch == '\r') ch = ' ';  // the contract is one line
  }
  std::cerr << "healthtwin-bridge: " << line << "\n";
  return kExitInvalid;
}

int Decode(const std::string& characteristic, const std::string& hex) {
  auto c = ble::ParseCharacteristicUuid(characteristic);
  if (!c.ok()) return Fail(c.status().message());
  auto bytes = ble::ParseHex(hex);
  if (!bytes.ok()) return Fail(bytes.status().message());
  auto decoded = ble::Decode(*c, *bytes);
  if (!decoded.ok()) return Fail(decoded.status().message());
  std::cout << ble::ToJson(*decoded).dump() << "\n";
  return 0;
}

// --pki DIR --as NAME, or --ca/--cert/--key.
struct TlsFlags {
  std::string pki, as = "bridge-001", ca, cert, key;
  CLI::Option* pki_opt = nullptr;
  CLI::Option* ca_opt = nullptr;

  void AddTo(CLI::App* app) {
    pki_opt = app->add_option("--pki", pki, "directory with ca.pem and NAME.pem/NAME.key")
                  ->check(CLI::ExistingDirectory);
    app->add_option("--as", as, "certificate name within --pki (default bridge-001)");
    ca_opt = app->add_option("--ca", ca, "CA bundle (instead of --pki)")->check(CLI::ExistingFile);
    app->add_option("--cert", cert, "bridge certificate (with --ca)")->check(CLI::ExistingFile);
    app->add_option("--key", key, "bridge private key (with --ca)")->check(CLI::ExistingFile);
  }
  bool given() const { return !pki.empty() || !ca.empty() || !cert.empty() || !key.empty(); }
  absl::StatusOr<common::TlsFiles> Resolve() const {
    if (!pki.empty() && (!ca.empty() || !cert.empty() || !key.empty())) {
      return absl::InvalidArgumentError("give either --pki (with --as) or --ca, --cert and --key, not both");
    }
    common::TlsFiles files;
    if (!pki.empty()) {
      files = {pki + "/ca.pem", pki + "/" + as + ".pem", pki + "/" + as + ".key"};
    } else if (!ca.empty() && !cert.empty() && !key.empty()) {
      files = {ca, cert, key};
    } else {
      return absl::InvalidArgumentError("TLS: give --pki DIR [--as NAME], or all of --ca, --cert and --key");
    }
    if (auto m = common::LoadTlsMaterial(files); !m.ok()) return m.status();
    return files;
  }
};

std::string Binding(ble::BindingCache* bindings, const std::string& device_id) {
  if (bindings == nullptr) return "unchecked";
  auto bound = bindings->IsBound(device_id);
  if (!bound.ok()) return "unknown";
  if (*bound) return "bound";
  for (const auto& u : bindings->Unbound()) {
    if (u.device_id == device_id) return u.known_to_registry ? "unbound" : "not_enrolled";
  }
  return "unbound";
}

struct RunFlags {
  std::string ingest_addr, registry_addr, outbox_path, adapter, log_level = "info";
  std::string ingest_identity = "ingest";  // Ingest hosts the registry too.
  TlsFlags tls;
  ble::OutboxOptions outbox_options;
  int64_t binding_ttl_s = 60, drain_timeout_s = 10, ack_timeout_ms = 60'000, max_backoff_ms = 30'000;
  int64_t racp_timeout_ms = 30'000;
  int64_t heartbeat_s = 60;
  bool no_time_sync = false;
  std::size_t batch_size = 500;
};

int Run(const RunFlags& f) {
  auto tls = f.tls.Resolve();
  if (!tls.ok()) return Fail(tls.status().message());
  if (auto s = common::InitLogging("bridge", f.log_level, common::LogFormat::kJson); !s.ok()) {
    return Fail("--log-level: " + std::string(s.message()));
  }

  // Block the shutdown signals before any thread exists; this thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto outbox = ble::Outbox::Open(f.outbox_path, f.outbox_options);
  if (!outbox.ok()) return Fail(outbox.status().message());

  ble::GrpcSampleSink sink(
      [a = f.ingest_addr] { return a; }, *tls,
      {.ack_timeout = std::chrono::milliseconds(f.ack_timeout_ms), .ingest_identity = f.ingest_identity});
  ble::GrpcDeviceRegistry registry([a = f.registry_addr] { return a; }, *tls, std::chrono::milliseconds(5'000),
                                   f.ingest_identity);
  ble::BindingCache binding_cache(registry, std::chrono::seconds(f.binding_ttl_s), ble::BindingCache::SteadyNowUs);
  ble::BindingCache* bindings = f.registry_addr.empty() ? nullptr : &binding_cache;
  // Receive times (the measurement time of heart rate) do not follow steps of the system clock:
  // a stamp hours in the future would be rejected by ingest. See gateway_clock.h.
  ble::GatewayClock gateway_clock;
  auto gateway_now = [&gateway_clock] { return gateway_clock.NowUnixMicros(); };
  ble::ForwarderOptions fwd{.batch_size = f.batch_size,
                            .max_backoff = std::chrono::milliseconds(f.max_backoff_ms),
                            .jitter_seed = static_cast<uint64_t>(common::NowUnixMicros()),
                            .heartbeat_interval = std::chrono::seconds(f.heartbeat_s),
                            .bridge_version = kBridgeVersion,
                            .now_unix_us = gateway_now};
  ble::Forwarder forwarder(**outbox, sink, fwd, bindings);
  ble::Recorder recorder(**outbox, gateway_now);
  ble::MeasurementSink on_measurement = [&](const ble::ReceivedMeasurement& m) { (void)recorder.Record(m); };

  // Unlike scan and pair, the daemon starts without a bus too: it keeps forwarding the outbox and
  // connects when the bus is there (sdbus_bluez_bus.h).
  auto bus = ble::SdbusBluezBus::Create({.seed = static_cast<uint64_t>(common::NowUnixMicros()),
                                         .require_bus_at_start = false});
  if (!bus.ok()) {
    std::cerr << "healthtwin-bridge: system bus: " << bus.status().message() << "\n";
    return kExitRuntime;
  }
  ble::BluezClientOptions client_options;
  if (!f.adapter.empty()) client_options.adapters = {f.adapter};
  client_options.backoff_seed = static_cast<uint64_t>(common::NowUnixMicros());
  client_options.racp_timeout = std::chrono::milliseconds(f.racp_timeout_ms);
  client_options.now_unix_us = gateway_now;
  client_options.write_current_time = !f.no_time_sync;
  client_options.last_record_seq = [&](const std::string& address, ble::Characteristic c) {
    return recorder.LastRecordSeq(address, c);
  };
  client_options.on_device_report = [&](const ble::DeviceReport& r) { recorder.OnDeviceReport(r); };
  client_options.on_disconnect = [&](const std::string& address, int64_t at_us) {
    recorder.OnDisconnected(address, at_us);
  };
  client_options.on_battery_level = [&](const std::string& address, uint8_t percent, int64_t at_us) {
    recorder.OnBatteryLevel(address, percent, at_us, "org.bluez.Battery1");
  };
  auto client = ble::BluezClient::Create(**bus, client_options, on_measurement);
  if (!client.ok()) {
    std::cerr << "healthtwin-bridge: " << client.status().message() << "\n";
    return kExitRuntime;
  }

  ble::StopSignal stop;
  // Every thread catches what escapes it: a bug in one must not take the daemon down through
  // std::terminate. The forwarder starts again after a pause; bookkeeping goes on.
  std::thread forwarding([&] {
    while (true) {
      try {
        forwarder.Run(stop);
        return;
      } catch (const std::exception& e) {
        common::Log(spdlog::level::err, "bridge.forwarder_exception", {{"what", e.what()}});
      }
      if (stop.WaitFor(std::chrono::seconds(1))) return;
    }
  });
  std::thread bookkeeping([&] {
    do {
      try {
        recorder.RefreshBindings([&](const std::string& id) { return Binding(bindings, id); });
      } catch (const std::exception& e) {
        common::Log(spdlog::level::err, "bridge.bookkeeping_exception", {{"what", e.what()}});
      }
    } while (!stop.WaitFor(std::chrono::seconds(2)));
  });
  if (auto s = (*client)->Start(); !s.ok()) {
    std::cerr << "healthtwin-bridge: BlueZ: " << s.message() << "\n";
    stop.Stop();
    forwarding.join();
    bookkeeping.join();
    return kExitRuntime;
  }
  common::Log(spdlog::level::info, "bridge.started",
              {{"ingest", f.ingest_addr}, {"binding_check", bindings != nullptr}, {"outbox", f.outbox_path}});
  ble::SystemdNotifier notifier = ble::SystemdNotifier::FromEnvironment();
  notifier.Ready((*bus)->Presence().available ? "running; BlueZ available" : "running; waiting for BlueZ");

  // The main loop: wait for a stop signal, and meanwhile ping the systemd watchdog while the BLE
  // side is healthy (the bus supervisor went round its loop recently; see sdbus_bluez_bus.h).
  // D-Bus or BlueZ being away is not unhealthy: the bridge keeps forwarding and reconnects.
  int sig = 0;
  bool healthy = true;
  while (sig == 0) {
    timespec tick{.tv_sec = 0, .tv_nsec = 250'000'000};
    const int got = sigtimedwait(&signals, nullptr, &tick);
    if (got == SIGINT || got == SIGTERM) {
      sig = got;
      break;
    }
    const bool now_healthy = (*bus)->Healthy(kBusStaleAfter);
    if (now_healthy != healthy) {
      common::Log(now_healthy ? spdlog::level::info : spdlog::level::err,
                  now_healthy ? "bridge.healthy" : "bridge.unhealthy",
                  {{"detail", "D-Bus supervisor heartbeat"}});
      healthy = now_healthy;
    }
    notifier.Tick(healthy);
  }
  notifier.Stopping();
  common::Log(spdlog::level::info, "bridge.stopping", {{"signal", sig}});
  (*client)->Stop();  // no new measurements from here on
  stop.Stop();
  forwarding.join();
  bookkeeping.join();

  // Drain: deliver what is left, bounded; a second signal or the timeout ends it early.
  ble::StopSignal drain_stop;
  std::thread drain_timer([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(f.drain_timeout_s);
    while (!drain_stop.WaitFor(std::chrono::milliseconds(100))) {
      sigset_t pending;
      sigpending(&pending);
      if (std::chrono::steady_clock::now() >= deadline || sigismember(&pending, SIGINT) ||
          sigismember(&pending, SIGTERM)) {
        drain_stop.Stop();
      }
    }
  });
  const bool drained = f.drain_timeout_s > 0 && forwarder.Drain(drain_stop);
  drain_stop.Stop();
  drain_timer.join();
  recorder.RefreshBindings([&](const std::string& id) { return Binding(bindings, id); });

  const auto s = forwarder.Stats();
  const auto cs = (*client)->stats();
  std::cout << nlohmann::json{{"appended", recorder.appended()},
                              {"append_failures", recorder.append_failures()},
                              {"notifications", cs.notifications},
                              {"rejected_payloads", cs.rejected},
                              {"racp_requests", cs.racp_requests},
                              {"racp_failures", cs.racp_failures},
                              {"time_writes", cs.time_writes},
                              {"bluez_losses", cs.bluez_losses},
                              {"bus_connections", (*bus)->connections()},
                              {"clock_jumps", gateway_clock.Stats().jumps_total},
                              {"acked", s.acked_total},
                              {"statuses_appended", recorder.statuses_appended()},
                              {"heartbeats", s.heartbeats_total},
                              {"held", s.held_total},
                              {"drained", drained},
                              {"pending", (*outbox)->Stats().rows}}
                   .dump()
            << "\n";
  return 0;
}

int Devices(const std::string& outbox_path, const std::string& registry_addr, const TlsFlags& tls_flags) {
  // Logs (the outbox's, the registry client's) go to stderr: stdout is one JSON object per line.
  (void)common::InitLogging("bridge", "warn", common::LogFormat::kText);
  auto outbox = ble::Outbox::Open(outbox_path);
  if (!outbox.ok()) return Fail(outbox.status().message());
  nlohmann::json devices = ble::Recorder::LoadDevices(**outbox);
  std::unique_ptr<ble::GrpcDeviceRegistry> registry;
  std::unique_ptr<ble::BindingCache> bindings;
  if (!registry_addr.empty()) {
    auto tls = tls_flags.Resolve();
    if (!tls.ok()) return Fail(tls.status().message());
    registry = std::make_unique<ble::GrpcDeviceRegistry>([registry_addr] { return registry_addr; }, *tls);
    bindings =
        std::make_unique<ble::BindingCache>(*registry, std::chrono::seconds(1), ble::BindingCache::SteadyNowUs);
  } else if (tls_flags.given()) {
    return Fail("TLS flags only make sense with --registry-addr");
  }
  for (auto& [id, d] : devices.items()) {
    if (bindings) d["binding"] = Binding(bindings.get(), id);
    nlohmann::json line = d;
    line["device_id"] = id;
    line["binding"] = d.value("binding", "unchecked");
    line["first_seen_unix_us"] = d.value("first_seen_unix_us", int64_t{0});
    std::cout << line.dump() << "\n";
  }
  return 0;
}


// Answers the agent's questions from stdin: the passkey a device shows, or yes/no for numeric
// comparison. Runs on the agent's bus thread while the main thread waits in Device1.Pair.
class StdinPrompt final : public ble::PairingPrompt {
 public:
  explicit StdinPrompt(bool prompt) : prompt_(prompt) {}
  absl::StatusOr<uint32_t> Passkey(const std::string& address) override {
    if (prompt_) std::cerr << "Enter the 6-digit passkey shown on " << address << ": " << std::flush;
    std::string line;
    if (!std::getline(std::cin, line)) return absl::InvalidArgumentError("passkey: no input on stdin");
    std::string digits(absl::StripAsciiWhitespace(line));
    uint32_t passkey = 0;
    if (digits.empty() || digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), ::isdigit) ||
        !absl::SimpleAtoi(digits, &passkey)) {
      return absl::InvalidArgumentError("passkey: expected up to 6 digits, got '" + digits + "'");
    }
    return passkey;
  }
  bool Confirm(const std::string& address, uint32_t passkey) override {
    std::cerr << "Does " << address << " show the passkey " << absl::StrFormat("%06d", passkey) << "? [y/N]: "
              << std::flush;
    std::string line;
    if (!std::getline(std::cin, line)) return false;
    line = absl::AsciiStrToLower(absl::StripAsciiWhitespace(line));
    return line == "y" || line == "yes";
  }

 private:
  const bool prompt_;
};

int Pair(const std::string& address, const std::string& adapter, bool passkey_stdin, int64_t timeout_s) {
  if (!ble::IsBluetoothAddress(address)) return Fail("address: expected AA:BB:CC:DD:EE:FF, got '" + address + "'");
  (void)common::InitLogging("bridge", "warn", common::LogFormat::kText);
  auto bus = ble::SdbusBluezBus::Create();
  if (!bus.ok()) {
    std::cerr << "healthtwin-bridge: system bus: " << bus.status().message() << "\n";
    return kExitRuntime;
  }
  StdinPrompt prompt(!passkey_stdin);
  auto agent = ble::BluezAgent::Create(prompt);
  if (!agent.ok()) {
    std::cerr << "healthtwin-bridge: " << agent.status().message() << "\n";
    return kExitRuntime;
  }
  ble::PairOptions options;
  options.address = address;
  options.adapter = adapter;
  options.discovery_timeout = std::chrono::seconds(timeout_s);
  auto result = ble::PairDevice(**bus, **agent, options);
  if (!result.ok()) {
    std::string line(result.status().message());
    std::replace(line.begin(), line.end(), '\n', ' ');
    std::cerr << "healthtwin-bridge: " << line << "\n";
    return kExitRuntime;
  }
  std::cout << nlohmann::json{{"address", result->address},     {"device_path", result->device_path},
                              {"paired", result->paired},       {"trusted", result->trusted},
                              {"already_paired", result->already_paired}}
                   .dump()
            << "\n";
  return 0;
}

int Scan(const std::string& adapter, int64_t seconds, bool json, bool all, const std::string& outbox_path) {
  (void)common::InitLogging("bridge", "warn", common::LogFormat::kText);
  nlohmann::json book = nlohmann::json::object();
  if (!outbox_path.empty()) {
    auto outbox = ble::Outbox::Open(outbox_path);
    if (!outbox.ok()) return Fail(outbox.status().message());
    book = ble::Recorder::LoadDevices(**outbox);
  }
  auto bus = ble::SdbusBluezBus::Create();
  if (!bus.ok()) {
    std::cerr << "healthtwin-bridge: system bus: " << bus.status().message() << "\n";
    return kExitRuntime;
  }
  ble::ScanOptions options;
  options.adapter = adapter;
  options.duration = std::chrono::seconds(seconds);
  options.health_only = !all;
  auto found = ble::Scan(**bus, options);
  if (!found.ok()) {
    std::cerr << "healthtwin-bridge: scan: " << found.status().message() << "\n";
    return kExitRuntime;
  }
  if (!json) std::cout << absl::StrFormat("%-17s %5s  %-8s %-7s %-12s %s\n", "ADDRESS", "RSSI", "PAIRED", "TRUSTED", "BINDING", "NAME [SERVICES]");
  for (const auto& d : *found) {
    const std::string binding =
        book.contains(d.address) ? book[d.address].value("binding", "unchecked") : std::string("not_seen");
    if (json) {
      nlohmann::json j{{"address", d.address}, {"name", d.name},       {"services", d.services},
                       {"paired", d.paired},   {"trusted", d.trusted}, {"connected", d.connected},
                       {"seen", d.seen},       {"adapter", d.adapter_path}, {"binding", binding}};
      j["rssi_dbm"] = d.rssi ? nlohmann::json(*d.rssi) : nlohmann::json(nullptr);
      std::cout << j.dump() << "\n";
    } else {
      std::cout << absl::StrFormat("%-17s %5s  %-8s %-7s %-12s %s [%s]\n", d.address,
                                   d.rssi ? std::to_string(*d.rssi) : "-", d.paired ? "yes" : "no",
                                   d.trusted ? "yes" : "no", binding, d.name, absl::StrJoin(d.services, " "));
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ble::InstallTerminateHandler("healthtwin-bridge");
  CLI::App app{"healthtwin-bridge: the BLE gateway of healthtwin"};
  app.require_subcommand(1);

  auto* decode = app.add_subcommand("decode", "decode one GATT characteristic value and print it as JSON");
  std::string characteristic, hex;
  decode->add_option("--characteristic", characteristic, "16-bit UUID such as 2A35, or the full 128-bit UUID")
      ->required();
  decode->add_option("--hex", hex, "the value as hex bytes, e.g. \"16 7C 00\"")->required();

  auto* run = app.add_subcommand("run", "receive from BLE health devices through BlueZ and forward to ingest");
  RunFlags rf;
  run->add_option("--ingest-addr", rf.ingest_addr, "ingest service host:port")->required();
  run->add_option("--outbox", rf.outbox_path, "outbox SQLite file (created if missing)")->required();
  run->add_option("--registry-addr", rf.registry_addr,
                  "device registry host:port; forward only devices bound to a patient");
  run->add_option("--adapter", rf.adapter, "use only this adapter, e.g. hci0 (default: all)");
  rf.tls.AddTo(run);
  run->add_option("--max-rows", rf.outbox_options.max_rows, "outbox bound in rows")->check(CLI::PositiveNumber);
  run->add_option("--max-bytes", rf.outbox_options.max_bytes, "outbox bound in payload bytes")
      ->check(CLI::PositiveNumber);
  run->add_option("--batch-size", rf.batch_size, "rows per batch to ingest")->check(CLI::Range(1, 10'000));
  run->add_option("--binding-ttl-s", rf.binding_ttl_s, "how long a registry answer is trusted")
      ->check(CLI::Range(1, 86'400));
  run->add_option("--drain-timeout-s", rf.drain_timeout_s, "on stop, how long to keep delivering (0: not at all)")
      ->check(CLI::Range(0, 3'600));
  run->add_option("--ack-timeout-ms", rf.ack_timeout_ms, "cancel a stream whose ack is this late")
      ->check(CLI::Range(100, 3'600'000));
  run->add_option("--max-backoff-ms", rf.max_backoff_ms, "longest wait between retries")
      ->check(CLI::Range(100, 3'600'000));
  run->add_option("--log-level", rf.log_level, "trace, debug, info, warn or error");
  run->add_option("--ingest-identity", rf.ingest_identity,
                  "name the certificate of ingest (and the registry) must carry (DNS SAN)")
      ->capture_default_str();
  run->add_option("--racp-timeout-ms", rf.racp_timeout_ms, "wait this long for a device's RACP response")
      ->check(CLI::Range(100, 600'000));
  run->add_flag("--no-time-sync", rf.no_time_sync, "never write Current Time to devices");
  run->add_option("--heartbeat-s", rf.heartbeat_s, "send a gateway heartbeat this often (0: never; default 60)")
      ->check(CLI::Range(0, 3'600));

  auto* devices = app.add_subcommand("devices", "list the devices seen, bound or unbound");
  std::string dev_outbox, dev_registry;
  TlsFlags dev_tls;
  devices->add_option("--outbox", dev_outbox, "the outbox file of `run`")->required()->check(CLI::ExistingFile);
  devices->add_option("--registry-addr", dev_registry, "ask the registry now instead of showing the last answer");
  dev_tls.AddTo(devices);

  auto* scan = app.add_subcommand("scan", "discover nearby health devices and list them");
  int64_t scan_seconds = 10;
  bool scan_json = false, scan_all = false;
  std::string scan_adapter, scan_outbox;
  scan->add_option("--seconds", scan_seconds, "how long to discover (default 10)")->check(CLI::Range(1, 600));
  scan->add_flag("--json", scan_json, "one JSON object per device");
  scan->add_flag("--all", scan_all, "list devices without a health service too");
  scan->add_option("--adapter", scan_adapter, "use only this adapter, e.g. hci0");
  scan->add_option("--outbox", scan_outbox, "the outbox file of `run`, to show bindings")->check(CLI::ExistingFile);

  auto* pair = app.add_subcommand("pair", "pair and trust a device (Just Works or passkey entry)");
  std::string pair_address, pair_adapter;
  bool passkey_stdin = false;
  int64_t pair_timeout_s = 20;
  pair->add_option("address", pair_address, "the device, AA:BB:CC:DD:EE:FF")->required();
  pair->add_flag("--passkey-stdin", passkey_stdin, "read the passkey from stdin without a prompt");
  pair->add_option("--adapter", pair_adapter, "use only this adapter, e.g. hci0");
  pair->add_option("--timeout-s", pair_timeout_s, "how long to look for the device (default 20)")
      ->check(CLI::Range(1, 600));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(e.what());
  }

  if (decode->parsed()) return Decode(characteristic, hex);
  if (run->parsed()) return Run(rf);
  if (devices->parsed()) return Devices(dev_outbox, dev_registry, dev_tls);
  if (scan->parsed()) return Scan(scan_adapter, scan_seconds, scan_json, scan_all, scan_outbox);
  if (pair->parsed()) return Pair(pair_address, pair_adapter, passkey_stdin, pair_timeout_s);
  return Fail("no subcommand");
}
