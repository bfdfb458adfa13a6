// The admins' technical alerts of hospital feeds (migration 0015; issue 12: "a dead letter
// raises a technical alert to admins"; "AE three times: retried, then a technical alert").
//
// The feed service writes technical_events that name a feed and a message but no patient
// ('feed_dead_letter', 'feed_retrying'). They concern the feed's operators, not a care team,
// so they do not enter the patient alarm lifecycle: they are counted into feed_alerts, one open
// alert per feed and kind (deduplicated), which `healthtwin admin feed status` shows.
//
// Not thread-safe by itself: it runs inside the caller's transaction, and the rows it takes are
// locked FOR UPDATE SKIP LOCKED, so two evaluator replicas never count one event twice.
#pragma once

#include <pqxx/pqxx>

namespace healthtwin::alerts {

// Counts every pending feed technical event (up to 500 per call) into the open feed alert of
// its feed and kind, opening one (priority medium) when there is none, and marks the events
// alerted. Then resolves each open 'feed_retrying' alert whose feed no longer has a pending
// message that raised a 'feed_retrying' event (all of them were delivered or dead-lettered).
// 'feed_dead_letter' alerts stay open: a dead message needs an operator (replay it).
// Returns the number of events taken.
int RaiseFeedAlerts(pqxx::work& tx);

}  // namespace healthtwin::alerts
