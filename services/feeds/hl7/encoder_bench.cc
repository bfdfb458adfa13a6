// Encoder and deframer cost (not a test): is the HL7 side of a 20,000 samples/s vitals feed
// (issue 12, item 6) cheap enough? Run: build/dev/services/feeds/hl7/feeds_hl7_bench
#include <benchmark/benchmark.h>

#include "services/feeds/hl7/encoder.h"
#include "services/feeds/hl7/mllp.h"

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

void BM_EncodeOruR40(benchmark::State& state) {
  AlertEventView e;
  e.alert_id = "0b6f3c1e-alert";
  e.event_seq = 7;
  e.event_at_us = kT0;
  e.patient_id = "patient-0001";
  e.rule_id = "hr_high";
  e.text = "Heart rate above 120 /min for 6 min (peak 142 /min)";
  e.trigger = TriggerObservation{"heart_rate", 142, "/min", kT0};
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

}  // namespace
}  // namespace healthtwin::feeds::hl7

BENCHMARK_MAIN();
