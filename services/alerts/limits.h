// The alerts service's limits, in one place, with why each value.
#pragma once

#include <cstddef>

namespace healthtwin::alerts {

// Events waiting for one subscriber. A subscriber that falls this far behind the live stream
// is ended with RESOURCE_EXHAUSTED ("resubscribe with since") rather than buffered for ever:
// 1,000 events are minutes of alerts for a whole ward, and about 1 MiB of memory.
inline constexpr std::size_t kMaxQueuedEvents = 1000;

// Patient ids one subscription may name. clinician_api expands "all my patients" into this
// list, and a care team is tens to a few hundred patients; 1,000 ids (64 KiB) leaves room while
// keeping the per-event filter and the replay's per-patient queries bounded.
inline constexpr int kMaxSubscriptionPatients = 1000;

// Replay (`since`) reads this many events per database round trip, and asks for the next
// page only once the subscriber's queue has drained to kReplayLowWater, so a replay of any
// length holds at most kReplayLowWater + kReplayPageEvents (< kMaxQueuedEvents) events and
// goes at the subscriber's pace instead of ending it as too slow.
inline constexpr std::size_t kReplayPageEvents = 200;
inline constexpr std::size_t kReplayLowWater = kMaxQueuedEvents / 2;
static_assert(kReplayLowWater + kReplayPageEvents < kMaxQueuedEvents);

}  // namespace healthtwin::alerts
