// The sustained-tachycardia rule: heart rate above a threshold for at least a minimum
// duration of data. Pure; the caller supplies the points.
//
// A run is a sequence of consecutive points all above the threshold, with no gap between
// neighbours longer than max_gap_s (a strap taken off ends a run). A run qualifies when its
// last point is at least min_duration_s after its first. The run's first point is the
// episode's identity, so re-evaluating the same data finds the same episode.
#pragma once

#include <cstdint>
#include <vector>

namespace healthtwin::alerts {

struct HrPoint {
  int64_t measured_at_us;
  double heart_rate_bpm;
};

struct HrRuleConfig {
  double threshold_bpm = 120;
  double min_duration_s = 60;
  double max_gap_s = 30;
};

struct HrEpisode {
  int64_t start_us;
  int64_t end_us;
  double peak_bpm;
  double duration_s() const { return static_cast<double>(end_us - start_us) / 1e6; }
};

// `points` must be sorted by time. Returns every qualifying run, oldest first.
std::vector<HrEpisode> FindSustainedHighHeartRate(const std::vector<HrPoint>& points, const HrRuleConfig& cfg);

}  // namespace healthtwin::alerts
