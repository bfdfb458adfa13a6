// The twin service's request limits, in one place, with why each value.
#pragma once

#include <cstddef>
#include <cstdint>

namespace healthtwin::twin {

// GetTwinHistory: snapshots per page. A snapshot with its state is a few KiB, so 1,000 stays
// well under gRPC's 4 MiB message limit; 100 by default.
inline constexpr uint32_t kDefaultHistoryPageSize = 100;
inline constexpr uint32_t kMaxHistoryPageSize = 1000;

// Predict: at most 30 days ahead (the long-horizon model's validated range, models/README),
// and at most 20,000 points (6 vitals x 30 days hourly is 4,326), ~1 MiB of response.
inline constexpr uint32_t kMaxHorizonH = 720;
inline constexpr std::size_t kMaxPredictedPoints = 20000;

// Recalibrate: the default largest data window (--max-recalibration-window-days). A batch fit
// reads and fits every sample of the window inside one transaction on a service thread;
// 90 days is three times the scheduled 30-day window (enough to recalibrate after a long gap)
// and keeps a fit of a densely measured patient (~10^5 rows) to seconds.
inline constexpr int kDefaultMaxRecalibrationWindowDays = 90;

// WatchTwins: patient ids one watch may name (each is checked and looked up at the start);
// as for alert subscriptions, a care team is far smaller.
inline constexpr int kMaxWatchPatients = 1000;

}  // namespace healthtwin::twin
