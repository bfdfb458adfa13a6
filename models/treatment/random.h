// Seeded random numbers for the treatment simulations: our own SplitMix64 generator and
// Box-Muller normals, so the same seed gives the same draws with any standard library (the
// <random> distributions are implementation-defined).
//
// Streams are derived from (seed, index, ...) with StreamSeed, so a virtual patient's draws do
// not depend on which thread simulates it or in which order. Plain value; one per thread.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <numbers>

namespace healthtwin::models::treatment {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t NextU64() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1): 53 random bits, never exactly 0.
  double Uniform() { return (static_cast<double>(NextU64() >> 11) + 0.5) * 0x1.0p-53; }
  double Normal() {
    const double u1 = Uniform(), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  // A standard normal truncated to [-limit, limit] by redrawing (0 after 16 misses).
  double TruncatedNormal(double limit) {
    for (int i = 0; i < 16; ++i) {
      const double z = Normal();
      if (std::abs(z) <= limit) return z;
    }
    return 0.0;
  }

 private:
  std::uint64_t state_;
};

// A seed for the stream identified by `seed` and `keys` (e.g. patient index, arm index).
inline std::uint64_t StreamSeed(std::uint64_t seed, std::initializer_list<std::uint64_t> keys) {
  Rng r(seed ^ 0x6a09e667f3bcc909ULL);
  std::uint64_t h = r.NextU64();
  for (std::uint64_t k : keys) {
    Rng step(h ^ (k * 0x9e3779b97f4a7c15ULL + 0x3c6ef372fe94f82bULL));
    h = step.NextU64();
  }
  return h;
}

}  // namespace healthtwin::models::treatment
