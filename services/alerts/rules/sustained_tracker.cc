#include "services/alerts/rules/sustained_tracker.h"

#include <algorithm>

namespace healthtwin::alerts::rules {

void SustainedTracker::Reset() {
  ref_.reset();
  judged_through_us_ = INT64_MIN;
  busy_.clear();
  last_activation_ = -1;
}

bool SustainedTracker::ReferenceIdleAfter(int64_t sample) const {
  // The first run ending at or after `sample`: busy there if it began by then.
  auto it = std::lower_bound(busy_.begin(), busy_.end(), sample,
                             [](const std::pair<int64_t, int64_t>& run, int64_t k) { return run.second < k; });
  return it == busy_.end() || it->first > sample;
}

SustainedVerdict SustainedTracker::Evaluate(std::span<const TimedValue> window, const SustainedParams& p,
                                            int64_t now_us) {
  if (ref_.has_value() && !(ref_->params() == p)) Reset();
  if (window.empty() || now_us < judged_through_us_) {
    ++scanned_whole_;
    return EvaluateSustained(window, p, now_us);
  }
  // The window's samples the reference has fed: its last `seen` samples, by the contract.
  size_t seen = 0;
  if (ref_.has_value()) {
    seen = static_cast<size_t>(std::upper_bound(window.begin(), window.end(), judged_through_us_,
                                                [](int64_t t, const TimedValue& v) { return t < v.t_us; }) -
                               window.begin());
    const bool consistent =
        seen <= ref_->fed() &&
        (seen == 0 || (window[seen - 1].t_us == ref_->last().t_us && window[seen - 1].value == ref_->last().value));
    if (!consistent) Reset(), seen = 0;  // the caller broke the contract: start again, still exact
  }
  if (!ref_.has_value()) ref_.emplace(p);
  for (size_t i = seen; i < window.size(); ++i) {
    ref_->Feed(window[i]);
    const auto k = static_cast<int64_t>(ref_->fed()) - 1;
    if (!ref_->idle()) {
      if (!busy_.empty() && busy_.back().second == k - 1)
        busy_.back().second = k;
      else
        busy_.emplace_back(k, k);
    }
    if (ref_->activated()) last_activation_ = k;
  }
  judged_through_us_ = now_us;
  // Sample number of window[0]; runs the window can no longer reach are dropped.
  const int64_t base = static_cast<int64_t>(ref_->fed()) - static_cast<int64_t>(window.size());
  auto reachable = std::find_if(busy_.begin(), busy_.end(), [&](const auto& run) { return run.second >= base; });
  busy_.erase(busy_.begin(), reachable);

  SustainedScanner scan(p);
  for (size_t i = 0; i < window.size(); ++i) {
    scan.Feed(window[i]);
    const int64_t k = base + static_cast<int64_t>(i);
    if (i >= SustainedScanner::kCadenceSamples && scan.idle() && ReferenceIdleAfter(k)) {
      SustainedScanner met = *ref_;
      if (last_activation_ <= k) met.AdoptVerdict(scan);
      ++met_;
      return met.Finish(now_us);
    }
  }
  ++scanned_whole_;
  return scan.Finish(now_us);
}

}  // namespace healthtwin::alerts::rules
