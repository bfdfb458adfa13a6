// EvaluateSustained over a sliding window, at a cost in proportion to the new samples rather
// than to the window (issue 11, round 3). An evaluator judges one device's series at instant
// after instant, each over [now - lookback, now]; rescanning the window at every instant cost
// window x instants.
//
// How. A reference scan runs on over the series from where the tracker started, one Feed per
// new sample, and remembers after which samples it had a run open. A scan from the window's
// own start is the same as the reference once both are idle after the same sample at least
// SustainedScanner::kCadenceSamples into the window (sustained.h: an idle scan holds nothing
// of what came before but its verdict, and the cadence then reads the same samples). So the
// window's verdict is the reference's, with the window scan's verdict of episodes before that
// sample unless the reference started an episode after it. On usual data (values normal most of
// the time) the window scan meets the reference after a dozen samples; it never does while a
// run that began before the window is open (an episode longer than the lookback), and then
// the window is scanned whole, as before.
//
// Contract. The series a tracker sees must only grow at the end between calls: a sample added
// at or before the last `now` judged (a late row), or a sample changed or removed other than
// by the window's start moving forward, needs Reset() first (PatientTrackers does it). Dropping
// samples before the window is fine. An instant earlier than the last one judged is scanned
// whole and leaves the tracker as it was. Verdicts equal EvaluateSustained's on the same span
// (sustained_tracker_test.cc compares them at every instant of random series).
//
// Thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "services/alerts/rules/sustained.h"

namespace healthtwin::alerts::rules {

class SustainedTracker {
 public:
  // EvaluateSustained(window, p, now_us): `window` is the device's series in [now - lookback,
  // now], sorted by time.
  SustainedVerdict Evaluate(std::span<const TimedValue> window, const SustainedParams& p, int64_t now_us);
  void Reset();

  // The last instant the reference scan reached; INT64_MIN when none.
  int64_t judged_through_us() const { return judged_through_us_; }
  // Counters for tests and the round log: instants judged from the reference, and scanned whole.
  int64_t met() const { return met_; }
  int64_t scanned_whole() const { return scanned_whole_; }

 private:
  bool ReferenceIdleAfter(int64_t sample) const;

  std::optional<SustainedScanner> ref_;
  int64_t judged_through_us_ = INT64_MIN;
  // Runs the reference had open: [first, last] sample numbers (the reference's Feed count, from
  // 0), ascending; only those the window may still reach are kept.
  std::vector<std::pair<int64_t, int64_t>> busy_;
  int64_t last_activation_ = -1;  // sample number of the reference's newest episode start
  int64_t met_ = 0, scanned_whole_ = 0;
};

}  // namespace healthtwin::alerts::rules
