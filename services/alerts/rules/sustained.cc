#include "services/alerts/rules/sustained.h"

#include <algorithm>
#include <array>

namespace healthtwin::alerts::rules {
namespace {

constexpr double kMinGapS = 30;           // a strap's BLE reconnect; shorter gaps never end a run
constexpr double kCadenceMultiple = 2.5;  // two missed samples and a late one
constexpr size_t kCadenceIntervals = 10;

double Median3(double a, double b, double c) { return std::max(std::min(a, b), std::min(std::max(a, b), c)); }

}  // namespace

double AllowedGapS(std::span<const TimedValue> s, size_t i, double stale_after_s) {
  // Intervals ending before i (the gap being judged is not its own evidence).
  const size_t first = i >= kCadenceIntervals + 1 ? i - kCadenceIntervals : 1;
  if (i < 2) return stale_after_s;
  std::array<double, kCadenceIntervals> iv{};
  size_t n = 0;
  for (size_t k = first; k < i; ++k) iv[n++] = static_cast<double>(s[k].t_us - s[k - 1].t_us) / 1e6;
  std::nth_element(iv.begin(), iv.begin() + n / 2, iv.begin() + n);
  const double median = iv[n / 2];
  return std::min(stale_after_s, std::max(kMinGapS, kCadenceMultiple * median));
}

SustainedVerdict EvaluateSustained(std::span<const TimedValue> s, const SustainedParams& p, int64_t now_us) {
  SustainedVerdict v;
  const auto beyond = [&](double x) { return p.above ? x > p.threshold : x < p.threshold; };
  const double clear_level = p.above ? p.threshold - p.hysteresis : p.threshold + p.hysteresis;
  const auto still = [&](double x) { return p.above ? x > clear_level : x < clear_level; };
  const auto more_extreme = [&](double a, double b) { return p.above ? std::max(a, b) : std::min(a, b); };
  const auto less_extreme = [&](double a, double b) { return p.above ? std::min(a, b) : std::max(a, b); };

  enum { kIdle, kCandidate, kActive } state = kIdle;
  int64_t run_start = 0, clear_start = 0;
  bool clearing = false;
  int count = 0;
  double prev1 = 0, prev2 = 0;  // the run's last two values, for the median of three
  double run_peak = 0;

  auto end_episode = [&](int64_t at_us, bool stale) {
    v.active = false;
    v.ended_us = at_us;
    v.stale = stale;
    state = kIdle;
    clearing = false;
    count = 0;
  };
  auto track_peak = [&](double x) {
    if (count >= 3)
      run_peak = more_extreme(run_peak, Median3(prev2, prev1, x));
    else if (count == 2)
      run_peak = less_extreme(prev1, x);
    else
      run_peak = x;
    prev2 = prev1;
    prev1 = x;
  };

  for (size_t i = 0; i < s.size(); ++i) {
    const TimedValue& x = s[i];
    // Every allowance is at least min(stale_after_s, kMinGapS), so a gap within that (a strap's
    // second) needs no cadence median: the same verdict at a fraction of the cost.
    const double gap_s = i > 0 ? static_cast<double>(x.t_us - s[i - 1].t_us) / 1e6 : 0;
    if (i > 0 && gap_s > std::min(p.stale_after_s, kMinGapS) && gap_s > AllowedGapS(s, i, p.stale_after_s)) {
      if (state == kActive) end_episode(s[i - 1].t_us, /*stale=*/true);
      state = kIdle;
      count = 0;
    }
    if (state == kActive) {
      if (still(x.value)) {
        clearing = false;
        ++count;
        track_peak(x.value);
        v.peak = run_peak;
      } else {
        if (!clearing) clearing = true, clear_start = x.t_us;
        if (static_cast<double>(x.t_us - clear_start) / 1e6 >= p.clear_duration_s) end_episode(clear_start, false);
      }
      continue;
    }
    if (!beyond(x.value)) {
      state = kIdle;
      count = 0;
      continue;
    }
    if (state == kIdle) {
      state = kCandidate;
      run_start = x.t_us;
      count = 0;
    }
    ++count;
    track_peak(x.value);
    if (count >= p.min_samples && static_cast<double>(x.t_us - run_start) / 1e6 >= p.min_duration_s) {
      state = kActive;
      v.active = true;
      v.had_episode = true;
      v.stale = false;
      v.started_us = run_start;
      v.ended_us = 0;
      v.peak = run_peak;
    }
  }
  if (!s.empty()) {
    v.last_sample_us = s.back().t_us;
    const double allowance = s.size() >= 2 ? AllowedGapS(s, s.size(), p.stale_after_s) : p.stale_after_s;
    if (state == kActive && static_cast<double>(now_us - s.back().t_us) / 1e6 > allowance)
      end_episode(s.back().t_us, true);
  }
  v.samples_beyond = state == kIdle ? 0 : count;
  return v;
}

}  // namespace healthtwin::alerts::rules
