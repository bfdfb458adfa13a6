// Sends a feed's due outbox messages, one at a time, in order per patient, and records each
// attempt.
//
// One attempt is one transaction: claim the oldest due message whose patient has no older
// pending message (FOR UPDATE SKIP LOCKED: a replica skips a message another one is sending,
// and that patient's later messages wait behind it), send it while holding the row lock,
// record the outcome (delivery_policy.h), commit. So:
//  - two replicas never send the same message at the same time;
//  - a patient's message n+1 is not sent before n is delivered or dead (a message in backoff
//    holds its patient's later ones back; other patients go on);
//  - a crash (kill -9) between the send and the commit leaves the row pending with its old
//    attempts: it is sent again with the same message id (at least once; the receiver
//    deduplicates on MSH-10 / Bundle id).
// A dead letter writes a technical_events row of kind 'feed_dead_letter' in the same
// transaction (migration 0014).
//
// Thread-safe if `jitter` is; a transport is used by one caller at a time.
#pragma once

#include <functional>

#include "absl/status/statusor.h"
#include "services/common/pg.h"
#include "services/feeds/delivery_policy.h"
#include "services/feeds/feed.h"
#include "services/feeds/transport.h"

namespace healthtwin::feeds {

struct DeliverOptions {
  BackoffPolicy backoff;
  // Attempts per feed per round, so one busy feed does not starve the others.
  int max_attempts_per_round = 200;
};

class Deliverer {
 public:
  // `jitter` returns a uniform value in [0, 1).
  Deliverer(common::PgPool& pool, std::function<double()> jitter, DeliverOptions options = {});

  // Sends `feed`'s due messages until none is due, the round's limit is reached, or `stop()`
  // turns true (checked between messages: a send in flight is finished and recorded). A paused
  // feed sends nothing. Returns the number of attempts made.
  absl::StatusOr<int> RunOnce(const Feed& feed, Transport& transport, const std::function<bool()>& stop);

 private:
  // One attempt; false when nothing was due.
  absl::StatusOr<bool> AttemptOne(const Feed& feed, Transport& transport);

  common::PgPool& pool_;
  const std::function<double()> jitter_;
  const DeliverOptions options_;
};

}  // namespace healthtwin::feeds
