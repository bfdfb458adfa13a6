// Runs queued cohort jobs: claims one at a time from the JobStore, runs the engine on it,
// records progress (which renews the lease) at most every `progress_interval`, stops when a
// cancel is requested, and stores the results or the error.
//
// One worker thread per runner: a cohort engine already uses every core it is given, so
// several jobs at once would only interleave. Start() may be called once; Stop() (or the
// destructor) interrupts the engine through its progress callback and joins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"
#include "services/simulation/job_store.h"

namespace healthtwin::simulation {

// The engine's view of progress: return false to stop (cancellation or shutdown).
using ProgressFn = std::function<bool(double fraction, std::string_view stage)>;

struct CohortOutcome {
  std::string result_json;
  std::string per_patient_csv;
};

// Runs one validated spec. CANCELLED when `progress` returned false.
using CohortEngine = std::function<absl::StatusOr<CohortOutcome>(const std::string& spec_json, const ProgressFn& progress)>;

struct JobRunnerOptions {
  std::string worker;  // unique per replica, e.g. host:pid
  double lease_s = 60.0;
  int max_attempts = 3;
  std::chrono::milliseconds poll_interval{1000};
  std::chrono::milliseconds progress_interval{500};
};

class JobRunner {
 public:
  JobRunner(JobStore& store, CohortEngine engine, JobRunnerOptions options);
  ~JobRunner();
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  void Start();
  void Stop();
  // Looks for work now instead of at the next poll (called after a local submit).
  void Wake();

 private:
  void Loop();
  void RunOne(const ClaimedJob& job);

  JobStore& store_;
  const CohortEngine engine_;
  const JobRunnerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace healthtwin::simulation
