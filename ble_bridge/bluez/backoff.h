// Exponential backoff with a cap and seeded jitter, for reconnect attempts. Not thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace healthtwin::ble {

struct BackoffPolicy {
  std::chrono::milliseconds initial{250};
  std::chrono::milliseconds max{30'000};
  double multiplier = 2.0;
  // Each delay is scaled by a factor drawn uniformly from [1 - jitter, 1], so several devices that
  // dropped together do not retry in lockstep.
  double jitter = 0.2;
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy, uint64_t seed = 1) : policy_(policy), rng_(seed) {}

  // The delay before the next attempt; grows from `initial` to `max`.
  std::chrono::milliseconds Next() {
    double base = std::min(static_cast<double>(policy_.max.count()), current_ms_ ? current_ms_ * policy_.multiplier
                                                                                 : policy_.initial.count());
    current_ms_ = base;
    std::uniform_real_distribution<double> factor(1.0 - policy_.jitter, 1.0);
    return std::chrono::milliseconds(static_cast<int64_t>(base * factor(rng_)));
  }
  void Reset() { current_ms_ = 0; }

 private:
  BackoffPolicy policy_;
  std::mt19937_64 rng_;
  double current_ms_ = 0;
};

}  // namespace healthtwin::ble
