// The feed service's loop: every round, read the feeds (the registry's rows), enqueue each
// feed's new messages (Enqueuer) and deliver its due ones (Deliverer, enabled feeds only); then
// wait for a NOTIFY on feeds_changed (the registry: a feed added, paused, resumed, replayed),
// alerts_new, vitals_new or feed_outbox_new, or for `idle_poll` (backoff expiries, lost
// notifications). A feed's transport is made on first use and rebuilt when its row changes.
//
// Stateless across restarts: everything is in PostgreSQL, so replicas can run side by side
// (see Enqueuer and Deliverer for why they neither duplicate nor skip).
//
// Each round's enqueueing per feed is bounded by WorkerOptions::enqueue_budget, and its delivery
// by DeliverOptions, so a burst on one side never stalls the other.
//
// Start/StopBy from one owner thread; RunOnce is for tests and must not run beside Start.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/pg.h"
#include "services/feeds/deliverer.h"
#include "services/feeds/enqueuer.h"
#include "services/feeds/feed.h"
#include "services/feeds/message_encoder.h"
#include "services/feeds/transport.h"

namespace healthtwin::feeds {

struct WorkerOptions {
  EnqueueOptions enqueue;
  DeliverOptions deliver;
  std::chrono::milliseconds idle_poll{500};
  // A round enqueues a feed's sources until they are drained or this much time has passed, then
  // delivers: sources arriving faster than one enqueue round would otherwise starve delivery.
  std::chrono::milliseconds enqueue_budget{250};
};

absl::StatusOr<std::vector<Feed>> LoadFeeds(common::PgPool& pool);

class FeedWorker {
 public:
  FeedWorker(common::PgPool& pool, std::string conninfo, EncoderLookup encoders, TransportFactory transports,
             std::function<double()> jitter, WorkerOptions options = {});
  ~FeedWorker();

  void Start();
  // Asks the loop to stop after the send in flight is recorded; false if it has not stopped
  // by `deadline` (the thread is then detached: its open transaction rolls back when the
  // process exits, and the message stays pending).
  bool StopBy(std::chrono::steady_clock::time_point deadline);

  // One round over every feed. Returns enqueued messages plus attempts made (0: idle).
  absl::StatusOr<int> RunOnce();

 private:
  void Loop();
  Transport* TransportOf(const Feed& feed);
  void WarnOnce(const std::string& key, const absl::Status& status);

  common::PgPool& pool_;
  const std::string conninfo_;
  const WorkerOptions options_;
  const TransportFactory transports_;
  Enqueuer enqueuer_;
  Deliverer deliverer_;
  struct CachedTransport {
    int64_t updated_at_us = 0;
    std::unique_ptr<Transport> transport;
  };
  std::map<int64_t, CachedTransport> transports_by_feed_;
  std::set<std::string> warned_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace healthtwin::feeds
