// healthtwin-model-bench: speed of the beat-resolved engine and the long-horizon layer.
// Not run by ctest; run it by hand on a quiet machine:
//   build/<dir>/models/healthtwin-model-bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include "models/cardiovascular_engine.h"
#include "models/long_horizon.h"
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

// 90 days of the long-horizon layer for one patient (hourly RK4 steps, daily summaries), with a
// salt step on day 30. The steady-state map is built once per patient, outside the loop; its
// cost is BM_SteadyStateMapBuild.
void BM_LongHorizon90Days(benchmark::State& state) {
  const ModelParams p = StandardAdult();
  const auto map = std::make_shared<const SteadyStateMap>(*SteadyStateMap::Build(p));
  for (auto _ : state) {
    absl::StatusOr<LongHorizonModel> m = LongHorizonModel::Create(map, p, SaltSensitive({}));
    benchmark::DoNotOptimize(m->AdvanceDays(30));
    m->SetIntake({250.0, 2.1});
    benchmark::DoNotOptimize(m->AdvanceDays(60));
  }
}
BENCHMARK(BM_LongHorizon90Days)->Unit(benchmark::kMillisecond);

// Building one patient's steady-state map: 39 engine steady states.
void BM_SteadyStateMapBuild(benchmark::State& state) {
  const ModelParams p = StandardAdult();
  for (auto _ : state) benchmark::DoNotOptimize(SteadyStateMap::Build(p));
}
BENCHMARK(BM_SteadyStateMapBuild)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
}  // namespace healthtwin::models

BENCHMARK_MAIN();
