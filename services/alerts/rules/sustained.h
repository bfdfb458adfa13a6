// Sustained conditions judged in data time, whatever the sampling rate: the core every
// threshold rule (and NEWS2) shares. Pure.
//
// Cadence. The gap allowed between two neighbouring samples is derived from the device's own
// cadence: max(30 s, 2.5 x the median of the up to 10 preceding intervals), capped by the
// rule's staleness limit; with no preceding interval (the second sample of a series) the
// allowance is the staleness limit. A 1 Hz strap may thus miss 30 s, a one-a-minute watch
// 2.5 min, a 5-min oximeter 12.5 min, a cuff used three times a day its staleness limit. A
// longer gap ends a run (and an active condition, at its last sample before the gap).
//
// Raising. A run is consecutive samples beyond the threshold with no over-long gap. It fires
// once it holds at least `min_samples` samples and spans at least `min_duration_s`; the
// condition began at the run's first sample. A single implausible spike (a strap with poor
// contact reading 220/min once) is a run of one sample and never fires when min_samples >= 2.
//
// Clearing (hysteresis). An active condition continues while samples stay beyond the clear
// level (threshold -/+ hysteresis); it ends once samples have stayed on the normal side of
// the clear level for clear_duration_s of data time, at the first of them.
//
// Staleness. At `now`, an active condition whose newest sample is older than the allowance
// the last intervals give is no longer known: the verdict is inactive and `stale`, ended at
// the last sample.
//
// Peak. The robust extreme: the most extreme median of three neighbouring samples of the
// episode (the less extreme of two for a two-sample run), so one spike inside a genuine
// episode does not become its headline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace healthtwin::alerts::rules {

struct TimedValue {
  int64_t t_us;
  double value;
};

struct SustainedParams {
  bool above = true;  // condition is value > threshold; else value < threshold
  double threshold = 0;
  double hysteresis = 0;
  int min_samples = 1;
  double min_duration_s = 0;
  double clear_duration_s = 0;
  double stale_after_s = 0;

  bool operator==(const SustainedParams&) const = default;
};

struct SustainedVerdict {
  bool active = false;
  bool stale = false;        // the last episode ended because data stopped
  bool had_episode = false;  // an episode (active or ended) exists in the series
  int64_t started_us = 0;    // of the current or last episode
  int64_t ended_us = 0;      // of the last episode, when ended
  int64_t last_sample_us = 0;
  double peak = 0;
  int samples_beyond = 0;  // current candidate or episode
};

// The allowance for the gap before index i of `series` (i >= 1), per the cadence rule above.
double AllowedGapS(std::span<const TimedValue> series, size_t i, double stale_after_s);

// `series` sorted by time, all from one device and at or before `now_us`.
SustainedVerdict EvaluateSustained(std::span<const TimedValue> series, const SustainedParams& p, int64_t now_us);

// EvaluateSustained as a stream: Feed the series' samples in order, then Finish at `now`.
// After feeding a series' first samples, Finish gives the verdict EvaluateSustained gives for
// those samples (it is that function's own loop). Keeps only the last samples the cadence
// reads, so a scanner can run on across windows that drop older samples (SustainedTracker).
class SustainedScanner {
 public:
  explicit SustainedScanner(const SustainedParams& p) : p_(p) {}

  void Feed(const TimedValue& x);
  // The verdict at now_us (at or after the last sample fed); the scanner is unchanged.
  SustainedVerdict Finish(int64_t now_us) const;

  // No run is open. Two scanners of one series, started at different samples, that are both
  // idle after the same sample, each having fed more than kCadenceSamples by then, stay equal
  // from then on but for what their verdicts say of episodes before that sample.
  bool idle() const { return state_ == kIdle; }
  // Whether the last Feed started an episode (every field of the verdict restarts there).
  bool activated() const { return activated_; }
  size_t fed() const { return fed_; }
  const TimedValue& last() const { return ring_[(fed_ - 1) % kCadenceSamples]; }
  const SustainedParams& params() const { return p_; }
  // Takes `other`'s verdict of earlier episodes (see idle()).
  void AdoptVerdict(const SustainedScanner& other) { v_ = other.v_; }

  // The preceding samples the cadence of a gap reads (AllowedGapS: ten intervals).
  static constexpr size_t kCadenceSamples = 11;

 private:
  void EndEpisode(int64_t at_us, bool stale);
  void TrackPeak(double x);
  // AllowedGapS for a gap before `next` (or at the end when null) after the samples fed.
  double Allowance(const TimedValue* next) const;

  SustainedParams p_;
  SustainedVerdict v_;
  enum State { kIdle, kCandidate, kActive } state_ = kIdle;
  int64_t run_start_ = 0, clear_start_ = 0;
  bool clearing_ = false;
  bool activated_ = false;
  int count_ = 0;
  double prev1_ = 0, prev2_ = 0;  // the run's last two values, for the median of three
  double run_peak_ = 0;
  size_t fed_ = 0;
  TimedValue ring_[kCadenceSamples] = {};  // the last samples fed, sample k at k % kCadenceSamples
};

}  // namespace healthtwin::alerts::rules
