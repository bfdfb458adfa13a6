// healthtwin-twin-bench: speed of twin calibration. Not run by ctest; on a quiet machine:
//   build/<release dir>/models/calibration/healthtwin-twin-bench
// Targets (MISSION.md, issue 7): one patient from 30 days <= 1 s; one sequential update <= 1 ms;
// 10,000 twins at one sample a minute each (167 updates/s) on 2 cores.
#include <chrono>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "models/calibration/observation_model.h"
#include "models/calibration/prior.h"
#include "models/calibration/synthetic.h"
#include "models/calibration/twin.h"
#include "models/patient.h"

namespace healthtwin::models::calibration {
namespace {

struct Setup {
  std::shared_ptr<const ObservationModel> model;
  PopulationPrior prior = PriorFor({});
  SyntheticPatient patient;  // 30 days, HR every minute
};

const Setup& Shared() {
  static const Setup shared = [] {
    Setup s;
    s.model = *ObservationModel::Create(StandardAdult());
    s.patient = *SimulatePatient(StandardAdult(), *s.model, s.prior, 42, {});
    return s;
  }();
  return shared;
}

// Same-process baseline: one evaluation of the steady-state map (the observation model).
void BM_BaselineMapEvaluation(benchmark::State& state) {
  const Setup& s = Shared();
  ParamVector theta = {0.01, -0.02, 1.0, 0.03, -0.05};
  for (auto _ : state) {
    theta[0] += 1e-12;
    benchmark::DoNotOptimize(s.model->At(theta));
  }
}
BENCHMARK(BM_BaselineMapEvaluation);

// Batch MAP over 30 days: ~32,000 minute HR samples, ~70 cuff readings, daily weight, SpO2, temp.
void BM_Calibrate30Days(benchmark::State& state) {
  const Setup& s = Shared();
  for (auto _ : state) {
    absl::StatusOr<Twin> twin = Twin::Create(s.model, {s.prior, 75.0, 3.0});
    benchmark::DoNotOptimize(twin->Calibrate(s.patient.samples));
  }
  state.counters["samples"] = static_cast<double>(s.patient.samples.size());
}
BENCHMARK(BM_Calibrate30Days)->Unit(benchmark::kMillisecond);

// One UKF update (10-dimensional state, 21 sigma points) after a calibration, minute HR.
void BM_SequentialUpdate(benchmark::State& state) {
  const Setup& s = Shared();
  absl::StatusOr<Twin> twin = Twin::Create(s.model, {s.prior, 75.0, 3.0});
  (void)twin->Calibrate(s.patient.samples);
  std::int64_t t = twin->Snapshot().state_time_unix_s;
  double hr = 70.0;
  for (auto _ : state) {
    t += 60;
    hr = hr > 80.0 ? 62.0 : hr + 1.0;
    benchmark::DoNotOptimize(twin->Update({t, Vital::kHeartRate, hr, false}));
  }
}
BENCHMARK(BM_SequentialUpdate)->Unit(benchmark::kMicrosecond);

// One minute of data for 10,000 twins (one sample each) on 2 threads: the capacity needed is
// 10,000 updates per 60 s = 167 /s. Reports updates/s and the headroom over 167 /s.
void BM_TenThousandTwinsOneMinute(benchmark::State& state) {
  const Setup& s = Shared();
  constexpr int kTwins = 10000;
  absl::StatusOr<Twin> proto = Twin::Create(s.model, {s.prior, 75.0, 3.0});
  (void)proto->Calibrate(s.patient.samples);
  std::vector<Twin> twins(kTwins, *proto);
  std::int64_t t = proto->Snapshot().state_time_unix_s;
  const Vital cycle[] = {Vital::kHeartRate, Vital::kHeartRate, Vital::kHeartRate, Vital::kSystolic,
                         Vital::kDiastolic, Vital::kWeight};
  const double value[] = {68.0, 71.0, 74.0, 122.0, 79.0, 75.2};
  int minute = 0;
  double wall_s = 0.0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    t += 60;
    const int k = minute++ % 6;
    auto work = [&](int from, int to) {
      for (int i = from; i < to; ++i) benchmark::DoNotOptimize(twins[i].Update({t, cycle[k], value[k], false}));
    };
    std::thread a(work, 0, kTwins / 2);
    std::thread b(work, kTwins / 2, kTwins);
    a.join();
    b.join();
    wall_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  const double updates_per_s = static_cast<double>(state.iterations()) * kTwins / wall_s;
  state.counters["updates_per_s"] = updates_per_s;
  state.counters["times_the_167_per_s_needed"] = updates_per_s / (kTwins / 60.0);
}
BENCHMARK(BM_TenThousandTwinsOneMinute)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace healthtwin::models::calibration

BENCHMARK_MAIN();
