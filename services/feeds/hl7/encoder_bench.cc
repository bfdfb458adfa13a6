// Encoder and deframer cost (not a test): is the HL7 side of a 20,000 samples/s vitals feed
// (issue 12, item 6) cheap enough? Run: build/dev/services/feeds/hl7/feeds_hl7_bench
// With HL7_PEER_PORT set to a running tests/peers/hl7_mllp_peer.py on 127.0.0.1, it also
// times one ORU^R40 from Send() to its AA (p50/p99 in microseconds).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "services/feeds/hl7/encoder.h"
#include "services/feeds/hl7/mllp.h"
#include "services/feeds/hl7/mllp_client.h"

namespace healthtwin::feeds::hl7 {
namespace {

constexpr int64_t kT0 = 1'780'000'000'000'000;

MessageContext Context() {
  MessageContext c;
  c.control_id = "feed-1-123456";
  c.created_at_us = kT0;
  return c;
}

void BM_EncodeOruR01(benchmark::State& state) {
  std::vector<VitalSampleView> samples;
  for (int i = 0; i < state.range(0); ++i) {
    samples.push_back({"patient-0001", "strap-1", common::VitalType::kHeartRate, 60.0 + i % 40, "/min", kT0 + i});
  }
  for (auto _ : state) benchmark::DoNotOptimize(EncodeOruR01(samples, Context()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeOruR01)->Arg(1)->Arg(100)->Arg(1000);

AlertEventView Alert() {
  AlertEventView e;
  e.alert_id = "0b6f3c1e-alert";
  e.event_seq = 7;
  e.event_at_us = kT0;
  e.patient_id = "patient-0001";
  e.rule_id = "hr_high";
  e.text = "Heart rate above 120 /min for 6 min (peak 142 /min)";
  e.trigger = TriggerObservation{"heart_rate", 142, "/min", kT0};
  return e;
}

void BM_EncodeOruR40(benchmark::State& state) {
  const AlertEventView e = Alert();
  for (auto _ : state) benchmark::DoNotOptimize(EncodeOruR40(e, Context()));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeOruR40);

void BM_DeframeAck(benchmark::State& state) {
  const std::string frame = MllpFrame(
      "MSH|^~\\&|ENGINE|GENERAL|HEALTHTWIN|HOME|20261206||ACK^R01^ACK|1|P|2.6\r"
      "MSA|AA|feed-1-123456\r");
  for (auto _ : state) {
    MllpDeframer d;
    d.Feed(frame);
    benchmark::DoNotOptimize(d.Next());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DeframeAck);

void BM_SendOruR40UntilAck(benchmark::State& state) {
  const char* port = std::getenv("HL7_PEER_PORT");
  if (port == nullptr) {
    state.SkipWithError("set HL7_PEER_PORT to a running hl7_mllp_peer.py");
    return;
  }
  MllpClientOptions o;
  o.host = "127.0.0.1";
  o.port = static_cast<uint16_t>(std::atoi(port));
  auto client = MllpClient::Create(o);
  if (!client.ok()) {
    state.SkipWithError(std::string(client.status().message()).c_str());
    return;
  }
  const AlertEventView e = Alert();
  std::vector<double> latencies_us;
  int64_t n = 0;
  for (auto _ : state) {
    MessageContext c = Context();
    c.control_id = "bench-" + std::to_string(++n);
    const auto start = std::chrono::steady_clock::now();
    auto msg = EncodeOruR40(e, c);
    auto ack = (*client)->Send(*msg, c.control_id);
    latencies_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    if (!ack.ok() || ack->outcome != AckOutcome::kDelivered) {
      state.SkipWithError("not delivered");
      return;
    }
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  state.counters["p50_us"] = latencies_us[latencies_us.size() / 2];
  state.counters["p99_us"] = latencies_us[latencies_us.size() * 99 / 100];
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SendOruR40UntilAck)->UseRealTime();

}  // namespace
}  // namespace healthtwin::feeds::hl7

BENCHMARK_MAIN();
