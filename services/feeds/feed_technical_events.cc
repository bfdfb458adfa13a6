#include "services/feeds/feed_technical_events.h"

#include "services/common/logging.h"

namespace healthtwin::feeds {

void RecordRetryingEpisode(pqxx::work& tx, const Feed& feed, const std::string& message_id, const RowUpdate& update) {
  if (!update.raise_retrying_event) return;
  tx.exec_params(
      "INSERT INTO technical_events (kind, bridge_id, device_id, patient_id, sample_count, feed_id, message_id)"
      " VALUES ('feed_retrying', '', '', NULL, $1, $2, $3)",
      update.attempts, feed.feed_id, message_id);
  common::LogWarn("feeds.retrying", {{"feed", feed.config.name},
                                     {"message_id", message_id},
                                     {"attempts", update.attempts},
                                     {"error", update.last_error}});
}

}  // namespace healthtwin::feeds
