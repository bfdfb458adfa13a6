// healthtwin-bridge-uplink: forwards the bridge's durable outbox to ingest over mutual TLS.
// The BLE side appends to the same outbox file; this process only sends and deletes what
// ingest has acknowledged. `healthtwin-bridge run` will host the same Forwarder in-process.
//
// Exit codes: 0 stopped by SIGINT/SIGTERM, or (--drain) everything forwardable delivered;
// 2 bad arguments or an unusable outbox/TLS file.
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "ble_bridge/outbox/outbox.h"
#include "ble_bridge/uplink/binding.h"
#include "ble_bridge/uplink/forwarder.h"
#include "ble_bridge/uplink/grpc_uplink.h"
#include "services/common/logging.h"
#include "services/common/time_util.h"

using namespace healthtwin;

int main(int argc, char** argv) {
  CLI::App app("Forwards the BLE bridge's outbox to ingest", "healthtwin-bridge-uplink");
  std::string outbox_path, address, pki, as = "bridge-001", log_level = "info", ingest_identity = "ingest";
  ble::OutboxOptions outbox_options;
  ble::ForwarderOptions fwd;
  int64_t ack_timeout_ms = 60'000, max_backoff_ms = 30'000, binding_ttl_s = 60;
  bool drain = false, require_binding = false;
  app.add_option("--outbox", outbox_path, "outbox SQLite file (created if missing)")->required();
  app.add_option("--ingest-addr", address, "ingest service host:port")->required();
  app.add_option("--pki", pki, "directory with ca.pem and the bridge certificate")->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--as", as, "bridge identity within --pki");
  app.add_option("--max-rows", outbox_options.max_rows, "outbox bound in rows")->check(CLI::PositiveNumber);
  app.add_option("--max-bytes", outbox_options.max_bytes, "outbox bound in payload bytes")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", fwd.batch_size, "rows per batch")->check(CLI::Range(1, 10'000));
  app.add_option("--ack-timeout-ms", ack_timeout_ms, "cancel a stream whose ack is this late")->check(CLI::Range(100, 3'600'000));
  app.add_option("--max-backoff-ms", max_backoff_ms, "longest wait between retries")->check(CLI::Range(100, 3'600'000));
  app.add_flag("--require-binding", require_binding, "forward only devices the registry binds to a patient");
  app.add_option("--binding-ttl-s", binding_ttl_s, "how long a registry answer is trusted")->check(CLI::Range(1, 86'400));
  app.add_flag("--drain", drain, "exit 0 once everything forwardable is acknowledged");
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error");
  app.add_option("--ingest-identity", ingest_identity, "name ingest's certificate must carry (DNS SAN)")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "healthtwin-bridge-uplink: " << e.what() << "\n";
    return 2;
  }
  if (auto s = common::InitLogging("bridge-uplink", log_level, common::LogFormat::kJson); !s.ok()) {
    std::cerr << "healthtwin-bridge-uplink: --log-level: " << s.message() << "\n";
    return 2;
  }
  fwd.max_backoff = std::chrono::milliseconds(max_backoff_ms);
  fwd.jitter_seed = static_cast<uint64_t>(common::NowUnixMicros());

  // Block the shutdown signals before any thread exists; one thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto outbox = ble::Outbox::Open(outbox_path, outbox_options);
  if (!outbox.ok()) {
    std::cerr << "healthtwin-bridge-uplink: " << outbox.status().message() << "\n";
    return 2;
  }
  const common::TlsFiles tls{pki + "/ca.pem", pki + "/" + as + ".pem", pki + "/" + as + ".key"};
  if (auto material = common::LoadTlsMaterial(tls); !material.ok()) {
    std::cerr << "healthtwin-bridge-uplink: " << material.status().message() << "\n";
    return 2;
  }
  auto addr = [address] { return address; };
  ble::GrpcSampleSink sink(
      addr, tls, {.ack_timeout = std::chrono::milliseconds(ack_timeout_ms), .ingest_identity = ingest_identity});
  ble::GrpcDeviceRegistry registry(addr, tls, std::chrono::milliseconds(5'000), ingest_identity);
  ble::BindingCache bindings(registry, std::chrono::seconds(binding_ttl_s), ble::BindingCache::SteadyNowUs);
  ble::Forwarder forwarder(**outbox, sink, fwd, require_binding ? &bindings : nullptr);

  ble::StopSignal stop;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    stop.Stop();
  });
  bool drained = false;
  if (drain) {
    drained = forwarder.Drain(stop);
  } else {
    forwarder.Run(stop);
  }
  if (!stop.stopped()) pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();

  const auto s = forwarder.Stats();
  nlohmann::json unbound = nlohmann::json::array();
  for (const auto& d : bindings.Unbound()) unbound.push_back({{"device_id", d.device_id}, {"known", d.known_to_registry}});
  std::cout << nlohmann::json{{"acked", s.acked_total},       {"rejected", s.rejected_total},
                              {"quarantined", s.quarantined_total}, {"duplicates", s.duplicate_total},
                              {"held", s.held_total},         {"stream_failures", s.stream_failures_total},
                              {"pending", (*outbox)->Stats().rows}, {"unbound_devices", unbound}}
                   .dump()
            << "\n";
  return drain && !drained ? 1 : 0;
}
