// Writes a feed's messages to its durable outbox (feed_outbox) before anything is sent.
//
// One round per feed is ONE transaction: lock the feed's cursor row (feed_cursors, FOR UPDATE,
// so replicas take turns per feed), read alert_events and vitals after the cursor, keep what the
// feed's filters pass (min_priority, patients, care_team_of, read in SQL from the feeds row),
// encode each message, insert it (ON CONFLICT (feed_id, message_id) DO NOTHING) and advance the
// cursor. A crash before the commit writes nothing and moves nothing; the next round re-reads.
//
// The cursor moves only as far as common::GapTracker allows (a lower sequence value can commit
// after a higher one), and only rows up to the new cursor are enqueued, so a row committed late
// is still enqueued, once. A new feed's cursor starts at the current end of both sources (the
// highest event_seq and ingest_seq visible when the service first sees the feed): a feed sends
// what happens after it is added; history is not back-filled.
//
// Paused feeds are enqueued too (only delivery stops), so resuming sends everything that
// happened while paused, in order.
//
// Not thread-safe: one per delivery worker (it keeps each feed's gap trackers).
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "absl/status/statusor.h"
#include "services/common/gap_tracker.h"
#include "services/common/pg.h"
#include "services/feeds/feed.h"
#include "services/feeds/message_encoder.h"

namespace healthtwin::feeds {

struct EnqueueOptions {
  int max_alert_events_per_round = 1000;
  int max_vitals_per_round = 5000;
  // Samples per ORU^R01 / Bundle: a round's samples of one patient are split into messages of
  // at most this many (a round covers what arrived since the last one; see FeedWorker).
  int max_samples_per_message = 100;
};

struct EnqueueResult {
  int messages = 0;   // outbox rows written (a conflict with another replica's row counts 0)
  bool more = false;  // a read hit its limit: more rows are waiting
};

class Enqueuer {
 public:
  Enqueuer(common::PgPool& pool, EncoderLookup encoders, EnqueueOptions options = {});

  // One round for `feed`. FAILED_PRECONDITION when this build has no encoder for its kind
  // (nothing is read and the cursor stays).
  absl::StatusOr<EnqueueResult> RunOnce(const Feed& feed);

 private:
  struct Trackers {
    common::GapTracker alerts;
    common::GapTracker vitals;
  };
  Trackers& TrackersOf(const Feed& feed);

  common::PgPool& pool_;
  const EncoderLookup encoders_;
  const EnqueueOptions options_;
  std::map<int64_t, std::unique_ptr<Trackers>> trackers_;
};

}  // namespace healthtwin::feeds
