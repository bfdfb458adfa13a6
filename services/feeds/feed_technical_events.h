// The technical events the feed service writes for the admins (migrations 0014, 0015), in the
// caller's delivery transaction, so an event exists exactly when its outbox update commits.
// They name the feed and the message, never the patient (PHI stays out of the admins' view).
#pragma once

#include <pqxx/pqxx>
#include <string>

#include "services/feeds/delivery_policy.h"
#include "services/feeds/feed.h"

namespace healthtwin::feeds {

// 'feed_retrying' when `update` is a message's kRetryingAfterFailures-th failure in a row
// (RowUpdate::raise_retrying_event); nothing otherwise.
void RecordRetryingEpisode(pqxx::work& tx, const Feed& feed, const std::string& message_id, const RowUpdate& update);

}  // namespace healthtwin::feeds
