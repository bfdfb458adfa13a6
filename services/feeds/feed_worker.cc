#include "services/feeds/feed_worker.h"

#include <utility>

#include "absl/strings/str_split.h"
#include "services/common/logging.h"
#include "services/common/pg_listener.h"

namespace healthtwin::feeds {

absl::StatusOr<std::vector<Feed>> LoadFeeds(common::PgPool& pool) {
  std::vector<Feed> feeds;
  auto status = pool.WithTransaction("load feeds", [&](pqxx::work& tx) {
    feeds.clear();
    auto rows = tx.exec(
        "SELECT feed_id, name, kind, target, tls, coalesce(tls_ca_pem, ''), tls_client_cert, send_alerts, send_vitals,"
        " array_to_string(patients, ','), coalesce(care_team_of, ''), min_priority, sending_application,"
        " sending_facility, receiving_application, receiving_facility, state = 'paused',"
        " (extract(epoch FROM updated_at) * 1000000)::bigint FROM feeds ORDER BY feed_id");
    for (const auto& r : rows) {
      Feed f;
      f.feed_id = r[0].as<int64_t>();
      registry::FeedConfig& c = f.config;
      c.name = r[1].as<std::string>();
      // The schema's CHECK admits only the two names.
      c.kind = registry::ParseFeedKind(r[2].as<std::string>()).value_or(registry::FeedKind::kHl7v2Mllp);
      c.target = r[3].as<std::string>();
      c.tls = r[4].as<bool>();
      c.tls_ca_pem = r[5].as<std::string>();
      c.tls_client_cert = r[6].as<bool>();
      c.send_alerts = r[7].as<bool>();
      c.send_vitals = r[8].as<bool>();
      c.patient_ids = absl::StrSplit(r[9].as<std::string>(), ',', absl::SkipEmpty());
      c.care_team_of = r[10].as<std::string>();
      c.min_priority = r[11].as<int>();
      c.sending_application = r[12].as<std::string>();
      c.sending_facility = r[13].as<std::string>();
      c.receiving_application = r[14].as<std::string>();
      c.receiving_facility = r[15].as<std::string>();
      f.paused = r[16].as<bool>();
      f.updated_at_us = r[17].as<int64_t>();
      feeds.push_back(std::move(f));
    }
  });
  if (!status.ok()) return status;
  return feeds;
}

FeedWorker::FeedWorker(common::PgPool& pool, std::string conninfo, EncoderLookup encoders, TransportFactory transports,
                       std::function<double()> jitter, WorkerOptions options)
    : pool_(pool),
      conninfo_(std::move(conninfo)),
      options_(options),
      transports_(std::move(transports)),
      enqueuer_(pool, std::move(encoders), options.enqueue),
      deliverer_(pool, std::move(jitter), options.deliver) {}

FeedWorker::~FeedWorker() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void FeedWorker::Start() {
  thread_ = std::thread([this] { Loop(); });
}

bool FeedWorker::StopBy(std::chrono::steady_clock::time_point deadline) {
  stop_ = true;
  while (!stopped_ && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!stopped_) {
    thread_.detach();
    return false;
  }
  if (thread_.joinable()) thread_.join();
  return true;
}

void FeedWorker::WarnOnce(const std::string& key, const absl::Status& status) {
  if (!warned_.insert(key).second) return;
  common::LogWarn("feeds.feed_skipped", {{"feed", key}, {"error", status.message()}});
}

Transport* FeedWorker::TransportOf(const Feed& feed) {
  auto it = transports_by_feed_.find(feed.feed_id);
  if (it != transports_by_feed_.end() && it->second.updated_at_us == feed.updated_at_us) {
    return it->second.transport.get();
  }
  if (!transports_) return nullptr;
  auto made = transports_(feed);
  if (!made.ok()) {
    WarnOnce(feed.config.name + "/transport", made.status());
    return nullptr;
  }
  auto& slot = transports_by_feed_[feed.feed_id];
  slot.updated_at_us = feed.updated_at_us;
  slot.transport = std::move(made).value();
  return slot.transport.get();
}

absl::StatusOr<int> FeedWorker::RunOnce() {
  auto feeds = LoadFeeds(pool_);
  if (!feeds.ok()) return feeds.status();
  int activity = 0;
  absl::Status first_error;
  const auto stop = [this] { return stop_.load(); };
  for (const Feed& feed : *feeds) {
    if (stop()) break;
    // Enqueue until the sources are drained (a burst is written before it is sent) or the budget
    // is spent (sources arriving faster than that must not stall delivery).
    const auto enqueue_until = std::chrono::steady_clock::now() + options_.enqueue_budget;
    for (;;) {
      auto enqueued = enqueuer_.RunOnce(feed);
      if (!enqueued.ok()) {
        if (absl::IsFailedPrecondition(enqueued.status())) {
          WarnOnce(feed.config.name + "/encoder", enqueued.status());
        } else if (first_error.ok()) {
          first_error = enqueued.status();
        }
        break;
      }
      activity += enqueued->messages;
      if (!enqueued->more || stop() || std::chrono::steady_clock::now() >= enqueue_until) break;
    }
    if (feed.paused) continue;
    Transport* transport = TransportOf(feed);
    if (transport == nullptr) continue;
    auto attempts = deliverer_.RunOnce(feed, *transport, stop);
    if (!attempts.ok()) {
      if (first_error.ok()) first_error = attempts.status();
      continue;
    }
    activity += *attempts;
  }
  if (!first_error.ok() && activity == 0) return first_error;
  return activity;
}

void FeedWorker::Loop() {
  common::PgListener listener(conninfo_,
                              std::vector<std::string>{"feeds_changed", "alerts_new", "vitals_new", "feed_outbox_new"});
  while (!stop_) {
    auto activity = RunOnce();
    if (!activity.ok()) {
      common::LogWarn("feeds.round_failed", {{"error", activity.status().message()}});
    } else if (*activity > 0) {
      continue;  // more may be waiting
    }
    if (stop_) break;
    listener.Wait(options_.idle_poll);
  }
  stopped_ = true;
}

}  // namespace healthtwin::feeds
