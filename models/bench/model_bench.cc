// healthtwin-model-bench: speed of the beat-resolved engine (Google Benchmark).
// Not run by ctest; run it by hand on a quiet machine:
//   build/<dir>/models/healthtwin-model-bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include "models/cardiovascular_engine.h"
#include "models/patient.h"

namespace healthtwin::models {
namespace {

// Simulated seconds per wall second: 60 simulated seconds per iteration.
void BM_EngineRealTimeFactor(benchmark::State& state) {
  absl::StatusOr<CardiovascularEngine> e = CardiovascularEngine::Create(StandardAdult());
  e->AdvanceSeconds(10.0);
  for (auto _ : state) {
    e->AdvanceSeconds(60.0);
    benchmark::DoNotOptimize(e->TakeBeats());
  }
  state.counters["sim_s_per_wall_s"] =
      benchmark::Counter(60.0 * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EngineRealTimeFactor)->Unit(benchmark::kMillisecond);

// One calibration-sized evaluation: a fresh engine settled for 60 s and averaged over 8 s, as
// FitToTargets does per iteration.
void BM_SteadyStateEvaluation(benchmark::State& state) {
  const ModelParams p = StandardAdult();
  for (auto _ : state) {
    absl::StatusOr<CardiovascularEngine> e = CardiovascularEngine::Create(p);
    benchmark::DoNotOptimize(SettleAndAverage(*e, 60.0, 8.0));
  }
}
BENCHMARK(BM_SteadyStateEvaluation)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace healthtwin::models

BENCHMARK_MAIN();
