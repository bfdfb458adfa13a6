// The feeds tables of migration 0013 for the registry: add, list, pause, resume, replay and the
// outbox status. A libpqxx adapter over common::PgPool; plain C++ types in and out, so the
// gRPC edge (registry_feeds.cc) only maps. Thread-safe (the pool is).
//
// Errors: ALREADY_EXISTS for a taken name, NOT_FOUND for an unknown feed (both naming
// "feed.name" / "name"), otherwise what the pool reports (UNAVAILABLE, INTERNAL, ...).
// Configurations are not validated here: call ValidateFeedConfig first.
//
// Every change (add, pause, resume, replay) also sends NOTIFY feeds_changed with the feed's name
// in its transaction, so the feed service can react at once instead of on its next poll.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/pg.h"
#include "services/registry/feed_config.h"

namespace healthtwin::registry {

struct StoredFeed {
  FeedConfig config;
  bool paused = false;
  std::string created_by;
  int64_t created_at_unix_us = 0;
  int64_t updated_at_unix_us = 0;
};

// An open technical alert of a feed (migration 0015, raised by the alerts service).
struct FeedAlertStatus {
  std::string kind;  // "feed_dead_letter", "feed_retrying"
  int priority = 0;  // healthtwin.alerts.v1.Priority
  std::string summary;
  int64_t raised_at_unix_us = 0;
  int event_count = 0;
  std::string last_message_id;
};

struct FeedOutboxStatus {
  std::string name;
  bool paused = false;
  uint64_t pending_count = 0;
  double oldest_pending_age_s = 0;  // 0 when nothing is pending
  std::string last_acked_message_id;
  int64_t last_acked_at_unix_us = 0;  // 0 when nothing was acknowledged yet
  uint64_t retries = 0;               // sum over pending messages of attempts - 1
  uint64_t dead_count = 0;
  uint64_t delivered_count = 0;
  std::vector<FeedAlertStatus> open_alerts;  // oldest first
};

class FeedStore {
 public:
  explicit FeedStore(common::PgPool& pool) : pool_(pool) {}

  absl::StatusOr<StoredFeed> Add(const FeedConfig& feed, std::string_view actor);
  // Ordered by name.
  absl::StatusOr<std::vector<StoredFeed>> List();
  // One feed by name, or every feed (ordered by name) when `name` is empty.
  absl::StatusOr<std::vector<FeedOutboxStatus>> Status(std::string_view name);
  // Idempotent: pausing a paused feed succeeds and changes nothing but updated_*.
  absl::StatusOr<StoredFeed> SetPaused(std::string_view name, bool paused, std::string_view actor);
  // Puts every delivered or dead outbox row of the feed whose source happened at or after
  // `since_unix_us` back to pending, keeping its message id and payload (migration 0013 has the semantics), records
  // the request in feed_replays and returns how many rows it re-enqueued.
  absl::StatusOr<uint64_t> Replay(std::string_view name, int64_t since_unix_us, std::string_view actor);

 private:
  common::PgPool& pool_;
};

}  // namespace healthtwin::registry
