// healthtwin-bridge: the gateway's command line.
//
//   healthtwin-bridge decode --characteristic 2A35 --hex "16 7C 00 ..."
//   healthtwin-bridge run --ingest-addr HOST:PORT --pki DIR [--as bridge-001] --outbox FILE
//                         [--registry-addr HOST:PORT] [--adapter hci0]
//   healthtwin-bridge devices --outbox FILE [--registry-addr HOST:PORT --pki DIR ...]
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
// the next start), print a JSON summary on stdout and exit 0.
//
// `devices` lists every device the bridge has received a measurement from (kept in the outbox
// file) with its binding: asked live from the registry when --registry-addr is given, otherwise
// what the last `run` learned.
//
// Exit codes: 0 success; 1 BlueZ or the outbox failed at run time; 2 bad arguments or unusable
// files, with one line on stderr. `scan` and `pair` are not implemented yet.
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "ble_bridge/bluez/bluez_client.h"
#include "ble_bridge/bluez/sdbus_bluez_bus.h"
#include "ble_bridge/cli/to_samples.h"
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
constexpr int kExitInvalid = 2;
// Outbox state key holding the devices seen: {"AA:..": {"first_seen_us":..,"binding":"bound"|...}}.
constexpr char kDevicesStateKey[] = "bridge.devices";
// A device clock this far from the gateway's is logged as skewed.
constexpr int64_t kSkewWarnUs = 120'000'000;

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

nlohmann::json LoadDevices(ble::Outbox& outbox) {
  auto raw = outbox.GetState(kDevicesStateKey);
  if (!raw.ok() || !raw->has_value()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(**raw, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : nlohmann::json::object();
}

// Remembers which devices sent measurements, and what the registry last said about them, in the
// outbox file so that `devices` can list them while `run` is not running. Thread-safe.
class DeviceBook {
 public:
  explicit DeviceBook(ble::Outbox& outbox) : outbox_(outbox), devices_(LoadDevices(outbox)) {}

  // Called for every measurement; writes only when a device is new.
  void Seen(const std::string& address, int64_t now_us) {
    std::lock_guard lock(mu_);
    if (devices_.contains(address)) return;
    devices_[address] = {{"first_seen_unix_us", now_us}, {"binding", "unchecked"}};
    SaveLocked();
  }
  void Refresh(ble::BindingCache* bindings) {
    std::vector<std::string> ids;
    {
      std::lock_guard lock(mu_);
      for (const auto& [id, _] : devices_.items()) ids.push_back(id);
    }
    std::map<std::string, std::string> status;
    for (const auto& id : ids) status[id] = Binding(bindings, id);
    std::lock_guard lock(mu_);
    bool changed = false;
    for (const auto& [id, s] : status) {
      if (devices_[id].value("binding", "") != s) {
        devices_[id]["binding"] = s;
        changed = true;
      }
    }
    if (changed) SaveLocked();
  }

 private:
  void SaveLocked() {
    if (auto s = outbox_.PutState(kDevicesStateKey, devices_.dump()); !s.ok()) {
      common::Log(spdlog::level::warn, "bridge.device_book_failed", {{"error", std::string(s.message())}});
    }
  }
  ble::Outbox& outbox_;
  std::mutex mu_;
  nlohmann::json devices_;
};

struct RunFlags {
  std::string ingest_addr, registry_addr, outbox_path, adapter, log_level = "info";
  TlsFlags tls;
  ble::OutboxOptions outbox_options;
  int64_t binding_ttl_s = 60, drain_timeout_s = 10, ack_timeout_ms = 60'000, max_backoff_ms = 30'000;
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

  ble::GrpcSampleSink sink([a = f.ingest_addr] { return a; }, *tls,
                           {.ack_timeout = std::chrono::milliseconds(f.ack_timeout_ms)});
  ble::GrpcDeviceRegistry registry([a = f.registry_addr] { return a; }, *tls);
  ble::BindingCache binding_cache(registry, std::chrono::seconds(f.binding_ttl_s), common::NowUnixMicros);
  ble::BindingCache* bindings = f.registry_addr.empty() ? nullptr : &binding_cache;
  ble::ForwarderOptions fwd{.batch_size = f.batch_size,
                            .max_backoff = std::chrono::milliseconds(f.max_backoff_ms),
                            .jitter_seed = static_cast<uint64_t>(common::NowUnixMicros())};
  ble::Forwarder forwarder(**outbox, sink, fwd, bindings);
  DeviceBook book(**outbox);

  std::atomic<uint64_t> appended{0}, append_failures{0};
  std::mutex last_mu;
  std::map<std::string, int64_t> last_received_us;  // per device, to keep time stamps distinct
  std::set<std::string> skew_logged;
  ble::MeasurementSink on_measurement = [&](const ble::ReceivedMeasurement& m) {
    int64_t received_us = m.received_at_unix_us;
    {
      // Two notifications of one device in the same microsecond would share ingest's idempotency
      // key (device, type, measured_at) and one would be dropped as a duplicate.
      std::lock_guard lock(last_mu);
      int64_t& last = last_received_us[m.device_address];
      if (received_us <= last) received_us = last + 1;
      last = received_us;
    }
    auto conv = ble::ToSamples(m.device_address, m.decoded, m.device_time, received_us);
    if (conv.skew_us && std::llabs(*conv.skew_us) > kSkewWarnUs) {
      std::lock_guard lock(last_mu);
      if (skew_logged.insert(m.device_address).second) {
        common::Log(spdlog::level::warn, "bridge.clock_skew",
                    {{"device_id", m.device_address}, {"skew_s", *conv.skew_us / 1'000'000}});
      }
    }
    if (conv.samples.empty()) return;
    book.Seen(m.device_address, received_us);
    auto ids = (*outbox)->Append(conv.samples);
    if (!ids.ok()) {
      ++append_failures;
      common::Log(spdlog::level::err, "bridge.append_failed",
                  {{"device_id", m.device_address}, {"error", std::string(ids.status().message())}});
      return;
    }
    const uint64_t total = appended.fetch_add(conv.samples.size()) + conv.samples.size();
    // Tests follow this line to know a reading is durable before they kill the bridge.
    spdlog::debug("appended_total={} device={}", total, m.device_address);
  };

  auto bus = ble::SdbusBluezBus::Create();
  if (!bus.ok()) {
    std::cerr << "healthtwin-bridge: system bus: " << bus.status().message() << "\n";
    return kExitRuntime;
  }
  ble::BluezClientOptions client_options;
  if (!f.adapter.empty()) client_options.adapters = {f.adapter};
  client_options.backoff_seed = static_cast<uint64_t>(common::NowUnixMicros());
  auto client = ble::BluezClient::Create(**bus, client_options, on_measurement);
  if (!client.ok()) {
    std::cerr << "healthtwin-bridge: " << client.status().message() << "\n";
    return kExitRuntime;
  }

  ble::StopSignal stop;
  std::thread forwarding([&] { forwarder.Run(stop); });
  std::thread bookkeeping([&] {
    do book.Refresh(bindings);
    while (!stop.WaitFor(std::chrono::seconds(2)));
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

  int sig = 0;
  sigwait(&signals, &sig);
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
  book.Refresh(bindings);

  const auto s = forwarder.Stats();
  const auto cs = (*client)->stats();
  std::cout << nlohmann::json{{"appended", appended.load()},
                              {"append_failures", append_failures.load()},
                              {"notifications", cs.notifications},
                              {"rejected_payloads", cs.rejected},
                              {"acked", s.acked_total},
                              {"held", s.held_total},
                              {"drained", drained},
                              {"pending", (*outbox)->Stats().rows}}
                   .dump()
            << "\n";
  return 0;
}

int Devices(const std::string& outbox_path, const std::string& registry_addr, const TlsFlags& tls_flags) {
  auto outbox = ble::Outbox::Open(outbox_path);
  if (!outbox.ok()) return Fail(outbox.status().message());
  nlohmann::json devices = LoadDevices(**outbox);
  std::unique_ptr<ble::GrpcDeviceRegistry> registry;
  std::unique_ptr<ble::BindingCache> bindings;
  if (!registry_addr.empty()) {
    auto tls = tls_flags.Resolve();
    if (!tls.ok()) return Fail(tls.status().message());
    registry = std::make_unique<ble::GrpcDeviceRegistry>([registry_addr] { return registry_addr; }, *tls);
    bindings = std::make_unique<ble::BindingCache>(*registry, std::chrono::seconds(1), common::NowUnixMicros);
  } else if (tls_flags.given()) {
    return Fail("TLS flags only make sense with --registry-addr");
  }
  for (auto& [id, d] : devices.items()) {
    if (bindings) d["binding"] = Binding(bindings.get(), id);
    std::cout << nlohmann::json{{"device_id", id}, {"binding", d.value("binding", "unchecked")},
                                {"first_seen_unix_us", d.value("first_seen_unix_us", int64_t{0})}}
                     .dump()
              << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
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

  auto* devices = app.add_subcommand("devices", "list the devices seen, bound or unbound");
  std::string dev_outbox, dev_registry;
  TlsFlags dev_tls;
  devices->add_option("--outbox", dev_outbox, "the outbox file of `run`")->required()->check(CLI::ExistingFile);
  devices->add_option("--registry-addr", dev_registry, "ask the registry now instead of showing the last answer");
  dev_tls.AddTo(devices);

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
  return Fail("no subcommand");
}
