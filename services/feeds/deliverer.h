// Sends a feed's due outbox messages in order per patient, at least once, and records each
// attempt. Batched: one transaction claims a batch, sends it, and records every outcome in one
// statement, so the per-commit cost (about 2 ms with fsync on: one commit per message bounded
// delivery at about 500 messages/s) is paid once per batch.
//
// One batch is one transaction:
//  1. claim the heads: the oldest due message of each patient that has no older pending message,
//     up to `max_messages_per_batch` of them, FOR UPDATE SKIP LOCKED (a replica skips a head
//     another one holds, and that patient's later rows are not heads while it is pending);
//  2. extend each head into a run: that patient's next pending rows in id order, up to
//     `max_run_per_patient` in all, cut at the first row not yet due (FOR UPDATE; nobody else
//     claims them, since only the holder of a patient's head sends that patient's messages);
//  3. send the batch sequentially on the feed's one connection, run after run. Within a run,
//     message n+1 is sent only after n's ACK said delivered or dead; a retry ends that
//     patient's run (its later rows stay as they were). A retry with no answer at all (no
//     connection, no ACK in time) ends the whole batch: the receiver is unreachable, so the
//     rest would only wait out timeouts while holding the claim. So does `max_batch_duration`
//     or `stop()`;
//  4. record the outcomes of what was sent in one UPDATE (from a JSON recordset, a bound
//     parameter), a dead letter's technical_events row with it, an audit record per answered
//     attempt (disclosure_audit.h), and commit; then sign an audit checkpoint if one is due.
//
// Hence, as before batching:
//  - two replicas never send the same message at the same time (the row locks), and a patient's
//    messages never go out of order or overlap (only the holder of the head sends them);
//  - a message is marked delivered only after its ACK, at the commit that follows it;
//  - a crash (kill -9) or a failed commit between the sends and the commit leaves every message
//    of that batch pending with its old attempts: each is sent again under the same message id
//    (at least once; the receiver deduplicates on MSH-10 / Bundle id). Batches committed before
//    are not resent. A batch is at most `max_messages_per_batch` messages, so that is the most
//    one crash resends.
// Why not pipelining: MLLP allows it only with ACKs read in order, and a receiver that answers
// AE or closes mid-pipeline makes the later sends' fate unclear; sequential sends on one kept
// connection already cost about one round trip per message, well below the commit they replace.
//
// Thread-safe if `jitter` is; a transport is used by one caller at a time.
#pragma once

#include <chrono>
#include <functional>

#include "absl/status/statusor.h"
#include "services/common/access.h"
#include "services/common/pg.h"
#include "services/feeds/delivery_policy.h"
#include "services/feeds/feed.h"
#include "services/feeds/transport.h"

namespace healthtwin::feeds {

struct DeliverOptions {
  BackoffPolicy backoff;
  // Attempts per feed per round, so one busy feed does not starve the others (and the round
  // goes back to enqueueing new alerts).
  int max_attempts_per_round = 200;
  // Messages claimed by one transaction; what one crash can resend. 1: one commit per message.
  int max_messages_per_batch = 32;
  // Consecutive messages of one patient in a batch (1: heads only).
  int max_run_per_patient = 8;
  // Sending stops (and the batch is recorded) once a batch has taken this long ...
  std::chrono::milliseconds max_batch_duration{200};
  // ... and no new batch starts once a round has taken this long, so the loop goes back to
  // enqueueing (a new alert waits at most about one round, not a whole backlog's delivery).
  std::chrono::milliseconds round_budget{250};
  // Who the deliveries are audited as (disclosure_audit.h): the service's own certificate in
  // main.cc; tests and tools keep this default.
  common::PeerIdentity agent{.common_name = "feeds", .role = common::Role::kService, .role_name = "service"};
  // Signs audit checkpoints after a batch that wrote audit records, when due
  // (services/common/audit_checkpointing.h); nullptr: none. Must outlive the Deliverer.
  common::Access* checkpoints = nullptr;
};

class Deliverer {
 public:
  // `jitter` returns a uniform value in [0, 1).
  Deliverer(common::PgPool& pool, std::function<double()> jitter, DeliverOptions options = {});

  // Sends `feed`'s due messages until none is due, the round's limit is reached, or `stop()`
  // turns true (checked between messages: the sends already made are recorded). A paused feed
  // sends nothing. Returns the number of attempts made.
  absl::StatusOr<int> RunOnce(const Feed& feed, Transport& transport, const std::function<bool()>& stop);

 private:
  // One batch of at most `limit` messages; returns the attempts made (0: nothing was due).
  absl::StatusOr<int> RunBatch(const Feed& feed, Transport& transport, int limit, const std::function<bool()>& stop);

  common::PgPool& pool_;
  const std::function<double()> jitter_;
  const DeliverOptions options_;
};

}  // namespace healthtwin::feeds
