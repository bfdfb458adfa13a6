// Progress reporting, cancellation and a small parallel loop shared by what-if and cohorts.
#pragma once

#include <functional>
#include <string_view>

#include "absl/status/status.h"

namespace healthtwin::models::treatment {

// Called with the fraction done (0..1, non-decreasing) and a short stage name ("building maps",
// "simulating"). Returning false cancels the run, which then returns absl::CancelledError.
// Always called on the thread that started the run, never concurrently with itself.
using ProgressFn = std::function<bool(double fraction, std::string_view stage)>;

// 0 -> std::thread::hardware_concurrency() (at least 1); otherwise `threads` clamped to 1..256.
int ResolveThreads(int threads);

// Runs work(i) for every i in [0, n) on `threads` threads, the calling thread included. Results
// must go to per-index slots so they do not depend on the thread count. on_done(done) is called
// on the calling thread at most every 50 ms and once at the end; if it returns false the loop
// stops claiming new items and returns CancelledError. The first failure of work (the lowest
// failing index among those run) stops the loop and is returned.
absl::Status ParallelFor(int n, int threads, const std::function<absl::Status(int)>& work,
                         const std::function<bool(int done)>& on_done);

}  // namespace healthtwin::models::treatment
