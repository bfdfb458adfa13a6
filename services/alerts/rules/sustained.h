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

}  // namespace healthtwin::alerts::rules
