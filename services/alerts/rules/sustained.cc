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
  SustainedScanner scan(p);
  for (const TimedValue& x : s) scan.Feed(x);
  return scan.Finish(now_us);
}

double SustainedScanner::Allowance(const TimedValue* next) const {
  // The samples AllowedGapS reads before the gap, in order, then the gap's own sample.
  const size_t n = std::min(fed_, kCadenceSamples);
  std::array<TimedValue, kCadenceSamples + 1> s{};
  for (size_t k = 0; k < n; ++k) s[k] = ring_[(fed_ - n + k) % kCadenceSamples];
  if (next != nullptr) s[n] = *next;
  return AllowedGapS(std::span<const TimedValue>(s.data(), n + (next != nullptr ? 1 : 0)), n, p_.stale_after_s);
}

void SustainedScanner::EndEpisode(int64_t at_us, bool stale) {
  v_.active = false;
  v_.ended_us = at_us;
  v_.stale = stale;
  state_ = kIdle;
  clearing_ = false;
  count_ = 0;
}

void SustainedScanner::TrackPeak(double x) {
  const auto more_extreme = [&](double a, double b) { return p_.above ? std::max(a, b) : std::min(a, b); };
  const auto less_extreme = [&](double a, double b) { return p_.above ? std::min(a, b) : std::max(a, b); };
  if (count_ >= 3)
    run_peak_ = more_extreme(run_peak_, Median3(prev2_, prev1_, x));
  else if (count_ == 2)
    run_peak_ = less_extreme(prev1_, x);
  else
    run_peak_ = x;
  prev2_ = prev1_;
  prev1_ = x;
}

void SustainedScanner::Feed(const TimedValue& x) {
  const auto beyond = [&](double y) { return p_.above ? y > p_.threshold : y < p_.threshold; };
  const double clear_level = p_.above ? p_.threshold - p_.hysteresis : p_.threshold + p_.hysteresis;
  const auto still = [&](double y) { return p_.above ? y > clear_level : y < clear_level; };
  activated_ = false;
  const auto remember = [&] { ring_[fed_++ % kCadenceSamples] = x; };

  // Every allowance is at least min(stale_after_s, kMinGapS), so a gap within that (a strap's
  // second) needs no cadence median: the same verdict at a fraction of the cost.
  const double gap_s = fed_ > 0 ? static_cast<double>(x.t_us - last().t_us) / 1e6 : 0;
  if (fed_ > 0 && gap_s > std::min(p_.stale_after_s, kMinGapS) && gap_s > Allowance(&x)) {
    if (state_ == kActive) EndEpisode(last().t_us, /*stale=*/true);
    state_ = kIdle;
    count_ = 0;
  }
  if (state_ == kActive) {
    if (still(x.value)) {
      clearing_ = false;
      ++count_;
      TrackPeak(x.value);
      v_.peak = run_peak_;
    } else {
      if (!clearing_) clearing_ = true, clear_start_ = x.t_us;
      if (static_cast<double>(x.t_us - clear_start_) / 1e6 >= p_.clear_duration_s) EndEpisode(clear_start_, false);
    }
    remember();
    return;
  }
  if (!beyond(x.value)) {
    state_ = kIdle;
    count_ = 0;
    remember();
    return;
  }
  if (state_ == kIdle) {
    state_ = kCandidate;
    run_start_ = x.t_us;
    count_ = 0;
  }
  ++count_;
  TrackPeak(x.value);
  if (count_ >= p_.min_samples && static_cast<double>(x.t_us - run_start_) / 1e6 >= p_.min_duration_s) {
    activated_ = true;
    state_ = kActive;
    v_.active = true;
    v_.had_episode = true;
    v_.stale = false;
    v_.started_us = run_start_;
    v_.ended_us = 0;
    v_.peak = run_peak_;
  }
  remember();
}

SustainedVerdict SustainedScanner::Finish(int64_t now_us) const {
  SustainedVerdict v = v_;
  State state = state_;
  int count = count_;
  if (fed_ > 0) {
    v.last_sample_us = last().t_us;
    const double allowance = fed_ >= 2 ? Allowance(nullptr) : p_.stale_after_s;
    if (state == kActive && static_cast<double>(now_us - last().t_us) / 1e6 > allowance) {
      v.active = false;
      v.ended_us = last().t_us;
      v.stale = true;
      state = kIdle;
      count = 0;
    }
  }
  v.samples_beyond = state == kIdle ? 0 : count;
  return v;
}

}  // namespace healthtwin::alerts::rules
