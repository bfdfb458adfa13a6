// The simulation service's limits, in one place, with why each value. The configurable ones
// are flags of healthtwin-simulation (main.cc) and documented in README.md.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"

namespace healthtwin::simulation {

// Defaults for what-if fields left at zero (documented in simulation.proto).
inline constexpr uint32_t kDefaultWhatIfDays = 30;
inline constexpr uint32_t kDefaultWhatIfEnsemble = 50;

struct SimulationLimits {
  // options x ensemble members x days of one what-if. A member-day costs ~4.4 us (models/README,
  // benchmark: 250 thirty-day runs at 0.132 ms each), so 1,000,000 is ~4.4 s of one core on top
  // of the 0.6 s map build: enough for 20 options x 50 members x 365 days (365,000), while the
  // per-field maxima alone (20 x 1,000 x 365 = 7.3 M) would hold a compute thread ~30 s.
  int64_t max_whatif_member_days = 1'000'000;
  // Cohort jobs one requester (certificate CN) may have queued or running at once; beyond it
  // SubmitCohort answers RESOURCE_EXHAUSTED. Two lets a researcher queue the next job while one
  // runs, without one person's batch starving the shared workers.
  int max_active_jobs_per_requester = 2;
};

// What-ifs waiting for a compute thread, per thread: each takes ~1-5 s, so 4 waiting per
// thread is under ~20 s of queueing; beyond that RunWhatIf answers "server busy" at once.
inline constexpr std::size_t kWhatIfQueuePerThread = 4;

// INVALID_ARGUMENT naming the fields when options x ensemble x days (0 = the defaults above)
// exceeds `max_member_days`.
absl::Status CheckWhatIfSize(int options, uint32_t ensemble_size, uint32_t days, int64_t max_member_days);

}  // namespace healthtwin::simulation
