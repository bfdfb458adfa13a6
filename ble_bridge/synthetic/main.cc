// healthtwin-synth: a synthetic vitals source standing in for the BLE bridge in the demo
// and end-to-end tests. It streams heart rate (1 Hz) and blood pressure (every 5 min) for N
// simulated patients to ingest over mutual TLS, exactly as a bridge does: every sample
// stays in an in-memory outbox until ingest's watermark covers it, and is resent after a
// reconnect. (The real bridge's outbox is durable on disk; this one is not.)
//
// Patient 2 ("pat-0002") is tachycardic (about 135 /min) so that the demo's heart-rate
// rule fires. --backfill-s sends that much recent history at once so the rule does not
// wait a real minute.
#include <atomic>
#include <csignal>
#include <deque>
#include <iostream>
#include <random>
#include <thread>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/common/grpc_util.h"
#include "services/common/time_util.h"

namespace {

using namespace healthtwin;
namespace v1 = healthtwin::vitals::v1;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop = true; }

struct SimPatient {
  std::string patient_id;
  std::string device_id;
  double mean_hr_bpm;
  double sbp_mmhg;
  double dbp_mmhg;
};

class Source {
 public:
  Source(std::vector<SimPatient> patients, uint64_t seed) : patients_(std::move(patients)), rng_(seed) {}

  // Appends one second of data at `t_us` to `out`.
  void Tick(int64_t t_us, std::deque<v1::Sample>& out) {
    const int64_t now = common::NowUnixMicros();
    for (const auto& p : patients_) {
      std::normal_distribution<double> hr(p.mean_hr_bpm, 3.0);
      Add(out, p.device_id, v1::VITAL_TYPE_HEART_RATE, std::round(hr(rng_)), "/min", t_us, now);
      if ((t_us / 1'000'000) % 300 == 0) {
        std::normal_distribution<double> noise(0, 4.0);
        Add(out, p.device_id, v1::VITAL_TYPE_SYSTOLIC_BP, std::round(p.sbp_mmhg + noise(rng_)), "mm[Hg]", t_us, now);
        Add(out, p.device_id, v1::VITAL_TYPE_DIASTOLIC_BP, std::round(p.dbp_mmhg + noise(rng_)), "mm[Hg]", t_us, now);
      }
    }
  }

 private:
  void Add(std::deque<v1::Sample>& out, const std::string& device, v1::VitalType type, double value,
           const char* unit, int64_t t_us, int64_t now_us) {
    v1::Sample s;
    s.set_sender_seq(++seq_);
    s.set_device_id(device);
    s.set_type(type);
    s.set_value(value);
    s.set_ucum_unit(unit);
    *s.mutable_measured_at() = common::FromUnixMicros(t_us);
    *s.mutable_received_at() = common::FromUnixMicros(std::max(t_us, now_us));
    out.push_back(std::move(s));
  }

  std::vector<SimPatient> patients_;
  std::mt19937_64 rng_;
  uint64_t seq_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Synthetic vitals source for the demo and tests", "healthtwin-synth");
  std::string address, pki, as = "bridge-001", ingest_identity = "ingest";
  int patients = 3, backfill_s = 120, duration_s = 0;
  uint64_t seed = 42;
  app.add_option("--ingest-addr", address, "ingest service host:port")->required();
  app.add_option("--pki", pki, "directory with ca.pem and the bridge certificate")->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--as", as, "bridge identity within --pki");
  app.add_option("--ingest-identity", ingest_identity, "name ingest's certificate must carry (DNS SAN)")
      ->capture_default_str();
  app.add_option("--patients", patients, "number of patients, pat-0001 ...")->check(CLI::Range(1, 10000));
  app.add_option("--backfill-s", backfill_s, "seconds of recent history to send at start")->check(CLI::Range(0, 86400));
  app.add_option("--duration-s", duration_s, "stop after this many seconds of live data (0: until signalled)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", seed, "random seed");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "healthtwin-synth: " << e.what() << "\n";
    return 2;
  }
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);

  auto channel = common::MakePeerChannel(address, {pki + "/ca.pem", pki + "/" + as + ".pem", pki + "/" + as + ".key"},
                                         ingest_identity);
  if (!channel.ok()) {
    std::cerr << "healthtwin-synth: " << channel.status().message() << "\n";
    return 2;
  }
  auto stub = v1::IngestService::NewStub(*channel);

  std::vector<SimPatient> sim;
  for (int i = 1; i <= patients; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "pat-%04d", i);
    const bool tachy = i == 2;
    sim.push_back({id, std::string("synth-") + id + "-hr", tachy ? 135.0 : 62.0 + 6.0 * (i % 4), 118.0 + 4 * (i % 5),
                   76.0 + 2 * (i % 3)});
  }
  Source source(sim, seed);
  std::deque<v1::Sample> outbox;
  int64_t next_t_us = (common::NowUnixMicros() / 1'000'000 - backfill_s) * 1'000'000;
  const int64_t stop_t_us = duration_s > 0 ? (common::NowUnixMicros() / 1'000'000 + duration_s) * 1'000'000 : 0;
  uint64_t acked = 0, rejected = 0;
  int backoff_ms = 200;

  auto log = [](nlohmann::json j) { std::cerr << j.dump() << std::endl; };
  while (!g_stop) {
    grpc::ClientContext ctx;
    auto stream = stub->StreamSamples(&ctx);
    bool healthy = true;
    // Each round: generate what is due, send everything unacknowledged, wait for the ack.
    while (healthy && !g_stop) {
      const int64_t now = common::NowUnixMicros();
      while (next_t_us <= now && (stop_t_us == 0 || next_t_us < stop_t_us)) {
        source.Tick(next_t_us, outbox);
        next_t_us += 1'000'000;
      }
      if (stop_t_us != 0 && next_t_us >= stop_t_us && outbox.empty()) {
        g_stop = true;
        break;
      }
      if (outbox.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      v1::SampleBatch batch;
      for (std::size_t i = 0; i < outbox.size() && i < 1000; ++i) *batch.add_samples() = outbox[i];
      v1::Ack ack;
      if (!stream->Write(batch) || !stream->Read(&ack)) {
        healthy = false;
        break;
      }
      while (!outbox.empty() && outbox.front().sender_seq() <= ack.durable_through_seq()) {
        outbox.pop_front();
        ++acked;
      }
      for (const auto& r : ack.rejections()) {
        ++rejected;
        log({{"event", "synth.rejected"}, {"sender_seq", r.sender_seq()}, {"detail", r.detail()}});
      }
      backoff_ms = 200;
    }
    if (g_stop) {
      stream->WritesDone();
      stream->Finish();
      break;
    }
    ctx.TryCancel();
    auto status = stream->Finish();
    if (common::IsTlsHandshakeFailure(status)) {
      std::cerr << "healthtwin-synth: TLS handshake with " << address
                << " refused: the server and this certificate do not share a CA\n";
      return 2;
    }
    log({{"event", "synth.stream_failed"}, {"code", static_cast<int>(status.error_code())},
         {"error", status.error_message()}, {"unacked", outbox.size()}, {"retry_in_ms", backoff_ms}});
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min(backoff_ms * 2, 5000);
  }
  std::cout << nlohmann::json{{"acked", acked}, {"rejected", rejected}, {"unacked", outbox.size()}}.dump() << "\n";
  return outbox.empty() ? 0 : 1;
}
