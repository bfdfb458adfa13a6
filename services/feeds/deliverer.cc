#include "services/feeds/deliverer.h"

#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/feeds/feed_technical_events.h"

namespace healthtwin::feeds {
namespace {

const char* StateName(RowUpdate::State s) {
  switch (s) {
    case RowUpdate::State::kPending:
      return "pending";
    case RowUpdate::State::kDelivered:
      return "delivered";
    case RowUpdate::State::kDead:
      return "dead";
  }
  return "pending";
}

// Text columns are capped by nothing in the schema; a misbehaving receiver's ack is cut so one
// row cannot grow without bound.
std::string Cap(std::string s) {
  constexpr size_t kMaxBytes = 16 * 1024;
  if (s.size() > kMaxBytes) s.resize(kMaxBytes);
  return s;
}

}  // namespace

Deliverer::Deliverer(common::PgPool& pool, std::function<double()> jitter, DeliverOptions options)
    : pool_(pool), jitter_(std::move(jitter)), options_(options) {}

absl::StatusOr<int> Deliverer::RunOnce(const Feed& feed, Transport& transport, const std::function<bool()>& stop) {
  if (feed.paused) return 0;
  int attempts = 0;
  while (attempts < options_.max_attempts_per_round && !(stop && stop())) {
    auto sent = AttemptOne(feed, transport);
    if (!sent.ok()) return sent.status();
    if (!*sent) break;
    ++attempts;
  }
  return attempts;
}

absl::StatusOr<bool> Deliverer::AttemptOne(const Feed& feed, Transport& transport) {
  bool attempted = false;
  auto status = pool_.WithTransaction("deliver a feed message", [&](pqxx::work& tx) {
    attempted = false;
    // The head of each patient's queue that is due; a head another replica is sending is
    // locked and skipped, and its patient's later rows are not heads.
    auto rows = tx.exec_params(
        "SELECT o.id, o.message_id, encode(o.payload, 'base64'), o.attempts, o.patient_id FROM feed_outbox o"
        " WHERE o.feed_id = $1 AND o.state = 'pending' AND o.next_attempt_at <= now()"
        " AND NOT EXISTS (SELECT 1 FROM feed_outbox p WHERE p.feed_id = o.feed_id AND p.patient_id = o.patient_id"
        "                 AND p.state = 'pending' AND p.id < o.id)"
        " ORDER BY o.id LIMIT 1 FOR UPDATE OF o SKIP LOCKED",
        feed.feed_id);
    if (rows.empty()) return;
    const int64_t id = rows[0][0].as<int64_t>();
    const std::string message_id = rows[0][1].as<std::string>();
    std::string payload;
    // PostgreSQL's base64 output wraps lines; absl's decoder skips the newlines.
    if (!absl::Base64Unescape(rows[0][2].as<std::string>(), &payload)) {
      throw std::runtime_error("feed_outbox payload is not valid base64");  // cannot happen: encode() wrote it
    }
    const int attempts_before = rows[0][3].as<int>();
    attempted = true;

    const SendResult result = transport.Send(payload, message_id);
    const RowUpdate update = Decide(result, attempts_before, options_.backoff, jitter_());
    tx.exec_params(
        "UPDATE feed_outbox SET state = $2, attempts = $3,"
        " next_attempt_at = now() + $4::bigint * interval '1 millisecond',"
        " last_error = NULLIF($5, ''), ack = NULLIF($6, ''),"
        " delivered_at = CASE WHEN $2::text = 'delivered' THEN now() END WHERE id = $1",
        id, StateName(update.state), update.attempts, static_cast<int64_t>(update.retry_in.count()),
        Cap(update.last_error), Cap(update.ack));
    RecordRetryingEpisode(tx, feed, message_id, update);
    if (update.raise_technical_event) {
      tx.exec_params(
          "INSERT INTO technical_events (kind, bridge_id, device_id, patient_id, sample_count, feed_id, message_id)"
          " VALUES ('feed_dead_letter', '', '', NULL, 1, $1, $2)",
          feed.feed_id, message_id);
      // The patient is PHI: the feed and the message id identify the row.
      common::LogWarn("feeds.dead_letter",
                      {{"feed", feed.config.name}, {"message_id", message_id}, {"error", update.last_error}});
    } else if (update.state == RowUpdate::State::kPending) {
      common::LogInfo("feeds.retry", {{"feed", feed.config.name},
                                      {"message_id", message_id},
                                      {"attempts", update.attempts},
                                      {"retry_in_ms", static_cast<int64_t>(update.retry_in.count())},
                                      {"error", update.last_error}});
    }
  });
  if (!status.ok()) return status;
  return attempted;
}

}  // namespace healthtwin::feeds
