// FhirEncoder cost (not a test): is the FHIR side of a 20,000 samples/s vitals feed (issue 12,
// item 6) cheap enough? One vitals batch (a mix of every profiled type, BP as pairs) and one
// alert event to the serialized Backport notification Bundle.
// Run: nice -n 19 build/dev/services/feeds/feeds_fhir_bench
#include <benchmark/benchmark.h>

#include <vector>

#include "services/feeds/fhir_feed.h"

namespace healthtwin::feeds {
namespace {

constexpr int64_t kT0 = 1'780'000'000'000'000;

Feed FhirFeed() {
  Feed f;
  f.feed_id = 1;
  f.config.kind = registry::FeedKind::kFhirRestHook;
  return f;
}

void BM_EncodeVitalsBundle(benchmark::State& state) {
  // (type, unit) cycling through HR, SBP, DBP (same time: one panel), SpO2, temperature, RR.
  const std::vector<std::pair<int, const char*>> kinds = {{1, "/min"}, {2, "mm[Hg]"}, {3, "mm[Hg]"},
                                                          {5, "%"},    {6, "Cel"},    {9, "/min"}};
  std::vector<VitalRow> rows;
  for (int i = 0; i < state.range(0); ++i) {
    const auto& [type, unit] = kinds[i % kinds.size()];
    rows.push_back({i + 1, "patient-0001", "AA:BB:CC:DD:EE:FF", type, 60.0 + i % 40, unit,
                    kT0 + (i / static_cast<int>(kinds.size())) * 1'000'000});
  }
  const FhirEncoder encoder("https://ht.example/fhir/r4");
  const Feed feed = FhirFeed();
  for (auto _ : state) {
    EventNumbers numbers;
    benchmark::DoNotOptimize(encoder.EncodeVitals(feed, rows, "ht-1-v1-100", numbers));
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_EncodeVitalsBundle)->Arg(1)->Arg(100)->Arg(1000);

void BM_EncodeAlertEventBundle(benchmark::State& state) {
  AlertEventRow row;
  row.event_seq = 7;
  row.alert_id = "0cc175b9-c0f1-b6a8-31c3-99e269772661";
  row.kind = 1;
  row.event_at_us = kT0;
  row.patient_id = "patient-0001";
  row.rule_id = "hr_high";
  row.priority = 3;
  row.summary = "HR above 130 /min for 60 s";
  row.peak_value = 141;
  row.ucum_unit = "/min";
  row.covers = "heart_rate";
  const FhirEncoder encoder("https://ht.example/fhir/r4");
  const Feed feed = FhirFeed();
  for (auto _ : state) {
    EventNumbers numbers;
    benchmark::DoNotOptimize(encoder.EncodeAlertEvent(feed, row, "ht-1-a7", numbers));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeAlertEventBundle);

}  // namespace
}  // namespace healthtwin::feeds

BENCHMARK_MAIN();
