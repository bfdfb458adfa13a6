#include "models/treatment/parallel.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace healthtwin::models::treatment {

int ResolveThreads(int threads) {
  if (threads <= 0) return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return std::clamp(threads, 1, 256);
}

absl::Status ParallelFor(int n, int threads, const std::function<absl::Status(int)>& work,
                         const std::function<bool(int done)>& on_done) {
  using Clock = std::chrono::steady_clock;
  threads = std::clamp(ResolveThreads(threads), 1, std::max(1, n));
  std::atomic<int> next{0};
  std::atomic<int> done{0};
  std::atomic<int> finished_workers{0};
  std::atomic<bool> stop{false};
  std::mutex error_mu;
  int error_index = n;
  absl::Status error;

  auto run_one = [&]() -> bool {
    if (stop.load(std::memory_order_relaxed)) return false;
    const int i = next.fetch_add(1, std::memory_order_relaxed);
    if (i >= n) return false;
    absl::Status s = work(i);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(error_mu);
      if (i < error_index) {
        error_index = i;
        error = std::move(s);
      }
      stop.store(true);
    }
    done.fetch_add(1, std::memory_order_relaxed);
    return true;
  };
  std::vector<std::thread> workers;
  workers.reserve(static_cast<std::size_t>(threads - 1));
  for (int t = 1; t < threads; ++t) {
    workers.emplace_back([&] {
      while (run_one()) {
      }
      finished_workers.fetch_add(1);
    });
  }
  bool cancelled = false;
  Clock::time_point last = Clock::now();
  auto report = [&](bool force) {
    if (!on_done || cancelled) return;
    const Clock::time_point now = Clock::now();
    if (!force && now - last < std::chrono::milliseconds(50)) return;
    last = now;
    if (!on_done(done.load())) {
      cancelled = true;
      stop.store(true);
    }
  };
  while (run_one()) report(false);
  while (finished_workers.load() < threads - 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    report(false);
  }
  for (std::thread& w : workers) w.join();
  if (!error.ok()) return error;
  if (cancelled) return absl::CancelledError("cancelled by the progress callback");
  report(true);
  if (cancelled) return absl::CancelledError("cancelled by the progress callback");
  return absl::OkStatus();
}

}  // namespace healthtwin::models::treatment
