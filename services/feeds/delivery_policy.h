// What one send attempt does to its outbox row: the pure decision of the delivery loop.
//
// - Delivered: state 'delivered', the receiver's ack recorded.
// - Retry: stays 'pending', next attempt after a capped exponential backoff with jitter, without
//   limit (issue 12: a feed never silently drops a message; HAPI FHIR's rest-hook gives up after
//   about a minute, hapifhir/hapi-fhir #6002, which is what we must not do).
// - Permanent rejection: state 'dead' and a technical event for the admins.
// - The kRetryingAfterFailures-th failed attempt in a row of one message: still a retry, plus
//   one 'feed_retrying' technical event for the admins (migration 0015), once per message.
#pragma once

#include <chrono>
#include <string>

#include "services/feeds/transport.h"

namespace healthtwin::feeds {

struct BackoffPolicy {
  // 1 s doubling to a 5 min cap (issue 12's brief, "e.g. 1 s doubling to 5 min cap"): the first
  // retry comes quickly for a blip, and a receiver down for hours is tried every few minutes.
  std::chrono::milliseconds first = std::chrono::seconds(1);
  std::chrono::milliseconds cap = std::chrono::minutes(5);
};

// The delay before attempt `attempts_made + 1`, given `attempts_made` >= 1 failed attempts:
// d = min(cap, first * 2^(attempts_made - 1)), then "equal jitter" d/2 + u * d/2 with u in
// [0, 1) (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015), so replicas and feeds
// that failed together do not retry in lockstep, and the delay never drops below half the step.
std::chrono::milliseconds RetryDelay(const BackoffPolicy& policy, int attempts_made, double u);

// A message not delivered this many times in a row (AE/CE, no ACK, no connection) raises one
// 'feed_retrying' technical event, on exactly that attempt (once per message, not per retry).
// Devices commonly resend on AE up to 3 times and then give up (IHE PCD practice, see
// ../shared/notes/hospital-feeds.md; issue 12: "AE three times: retried, then a technical
// alert"). We keep retrying without limit, so the third failure is where a person is told.
inline constexpr int kRetryingAfterFailures = 3;

struct RowUpdate {
  enum class State { kPending, kDelivered, kDead };
  State state = State::kPending;
  int attempts = 0;                       // after this attempt
  std::chrono::milliseconds retry_in{0};  // pending only
  std::string last_error;                 // empty: NULL
  std::string ack;                        // empty: NULL
  bool raise_technical_event = false;     // dead only
  bool raise_retrying_event = false;      // pending only: the kRetryingAfterFailures-th failure
};

// `attempts_before`: the row's attempts before this send; `u` in [0, 1) for the jitter.
RowUpdate Decide(const SendResult& result, int attempts_before, const BackoffPolicy& policy, double u);

}  // namespace healthtwin::feeds
