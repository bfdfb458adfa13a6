#include "services/alerts/feed_alerts.h"

#include <cstdint>
#include <string>

#include "services/alerts/observation.h"
#include "services/common/logging.h"

namespace healthtwin::alerts {
namespace {

// Medium: no patient is in danger from the failure itself, but a hospital is not receiving
// alerts it relies on, which needs a person soon rather than at once (issue 12's brief:
// "priority medium"; IEC 60601-1-8 keeps such technical alarm conditions apart from the
// physiological ones, which is why they are not routed to a care team).
constexpr Priority kFeedAlertPriority = Priority::kMedium;

std::string Summary(const std::string& kind) {
  if (kind == "feed_dead_letter") {
    return "The receiver rejected a message permanently (HL7 AR/CR or HTTP 4xx); it was dead-lettered and will "
           "not be resent unless replayed (healthtwin admin feed replay)";
  }
  return "Messages are not being acknowledged: one failed 3 times in a row (HL7 AE/CE, no ACK or no connection); "
         "retrying without limit";
}

}  // namespace

int RaiseFeedAlerts(pqxx::work& tx) {
  auto events = tx.exec(
      "SELECT id, feed_id, kind, coalesce(message_id, ''), created_at FROM technical_events"
      " WHERE alerted_at IS NULL AND feed_id IS NOT NULL ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED");
  for (const auto& row : events) {
    const auto id = row[0].as<int64_t>();
    const auto feed_id = row[1].as<int64_t>();
    const auto kind = row[2].as<std::string>();
    const auto message_id = row[3].as<std::string>();
    auto opened = tx.exec_params(
        "INSERT INTO feed_alerts (feed_id, kind, priority, summary, last_event_at, event_count, last_message_id)"
        " VALUES ($1, $2, $3, $4, $5::timestamptz, 1, $6)"
        " ON CONFLICT (feed_id, kind) WHERE resolved_at IS NULL DO UPDATE SET"
        "  last_event_at = greatest(feed_alerts.last_event_at, EXCLUDED.last_event_at),"
        "  event_count = feed_alerts.event_count + 1, last_message_id = EXCLUDED.last_message_id"
        " RETURNING event_count",
        feed_id, kind, static_cast<int>(kFeedAlertPriority), Summary(kind), row[4].c_str(), message_id);
    tx.exec_params("UPDATE technical_events SET alerted_at = now() WHERE id = $1", id);
    if (opened[0][0].as<int>() == 1) {
      common::LogWarn("alerts.feed_alert_raised", {{"feed_id", feed_id}, {"kind", kind}, {"message_id", message_id}});
    }
  }
  auto resolved = tx.exec(
      "UPDATE feed_alerts a SET resolved_at = now() WHERE a.kind = 'feed_retrying' AND a.resolved_at IS NULL"
      " AND NOT EXISTS (SELECT 1 FROM feed_outbox o JOIN technical_events t"
      "   ON t.feed_id = o.feed_id AND t.message_id = o.message_id AND t.kind = 'feed_retrying'"
      "   WHERE o.feed_id = a.feed_id AND o.state = 'pending')"
      " RETURNING a.feed_id");
  for (const auto& row : resolved) {
    common::LogInfo("alerts.feed_alert_resolved", {{"feed_id", row[0].as<int64_t>()}, {"kind", "feed_retrying"}});
  }
  return static_cast<int>(events.size());
}

}  // namespace healthtwin::alerts
