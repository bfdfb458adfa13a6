#include "services/alerts/hr_rule.h"

#include <algorithm>
#include <optional>

namespace healthtwin::alerts {

std::vector<HrEpisode> FindSustainedHighHeartRate(const std::vector<HrPoint>& points, const HrRuleConfig& cfg) {
  std::vector<HrEpisode> out;
  std::optional<HrEpisode> run;
  const auto max_gap_us = static_cast<int64_t>(cfg.max_gap_s * 1e6);
  auto close = [&] {
    if (run && run->duration_s() >= cfg.min_duration_s) out.push_back(*run);
    run.reset();
  };
  for (const auto& p : points) {
    if (p.heart_rate_bpm <= cfg.threshold_bpm) {
      close();
      continue;
    }
    if (run && p.measured_at_us - run->end_us > max_gap_us) close();
    if (!run) {
      run = HrEpisode{p.measured_at_us, p.measured_at_us, p.heart_rate_bpm};
    } else {
      run->end_us = p.measured_at_us;
      run->peak_bpm = std::max(run->peak_bpm, p.heart_rate_bpm);
    }
  }
  close();
  return out;
}

}  // namespace healthtwin::alerts
