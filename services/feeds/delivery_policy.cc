#include "services/feeds/delivery_policy.h"

#include <algorithm>
#include <cstdint>

namespace healthtwin::feeds {

std::chrono::milliseconds RetryDelay(const BackoffPolicy& policy, int attempts_made, double u) {
  const int64_t cap_ms = policy.cap.count();
  int64_t step_ms = policy.first.count();
  for (int i = 1; i < attempts_made && step_ms < cap_ms; ++i) step_ms *= 2;  // no overflow: stops at the cap
  step_ms = std::min(step_ms, cap_ms);
  u = std::clamp(u, 0.0, 1.0);
  const int64_t half = step_ms / 2;
  return std::chrono::milliseconds(half + static_cast<int64_t>(u * static_cast<double>(step_ms - half)));
}

RowUpdate Decide(const SendResult& result, int attempts_before, const BackoffPolicy& policy, double u) {
  RowUpdate update;
  update.attempts = attempts_before + 1;
  update.ack = result.ack;
  switch (result.outcome) {
    case SendResult::Outcome::kDelivered:
      update.state = RowUpdate::State::kDelivered;
      return update;
    case SendResult::Outcome::kPermanent:
      update.state = RowUpdate::State::kDead;
      update.last_error = result.error.empty() ? "rejected by the receiver" : result.error;
      update.raise_technical_event = true;
      return update;
    case SendResult::Outcome::kRetry:
      break;
  }
  update.state = RowUpdate::State::kPending;
  update.last_error = result.error.empty() ? "not acknowledged" : result.error;
  update.retry_in = RetryDelay(policy, update.attempts, u);
  // The row's attempts are all failures while it is pending: a delivered or dead row is not
  // sent again unless replayed, and a replay resets attempts to 0 (a new episode).
  update.raise_retrying_event = update.attempts == kRetryingAfterFailures;
  return update;
}

}  // namespace healthtwin::feeds
