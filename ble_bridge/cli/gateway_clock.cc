#include "ble_bridge/cli/gateway_clock.h"

#include <time.h>

#include <algorithm>
#include <cstdlib>

#include "services/common/logging.h"

namespace healthtwin::ble {
namespace {

int64_t ClockMicros(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1'000;
}

}  // namespace

GatewayClock::GatewayClock(GatewayClockOptions options) : options_(std::move(options)) {
  if (!options_.wall_unix_us) options_.wall_unix_us = [] { return ClockMicros(CLOCK_REALTIME); };
  if (!options_.monotonic_us) options_.monotonic_us = [] { return ClockMicros(CLOCK_BOOTTIME); };
}

int64_t GatewayClock::NowUnixMicros() {
  std::lock_guard lock(mu_);
  const int64_t monotonic = options_.monotonic_us();
  const int64_t wall = options_.wall_unix_us();
  if (!anchored_) {
    anchored_ = true;
    anchor_wall_us_ = wall;
    anchor_monotonic_us_ = monotonic;
    last_stamp_us_ = wall;
    return wall;
  }
  const int64_t elapsed_stamp = anchor_wall_us_ + (monotonic - anchor_monotonic_us_);
  const int64_t followed = wall - stats_.system_offset_us;  // the system clock, known steps removed
  const int64_t step = followed - elapsed_stamp;
  int64_t stamp = followed;
  if (std::llabs(step) > options_.jump_threshold_us) {
    stats_.system_offset_us += step;
    ++stats_.jumps_total;
    stamp = elapsed_stamp;
    common::LogError("bridge.clock_jump",
                     {{"jump_s", static_cast<double>(step) / 1e6},
                      {"system_offset_s", static_cast<double>(stats_.system_offset_us) / 1e6},
                      {"jumps_total", stats_.jumps_total},
                      {"detail", "system clock stepped; receive times go on from the monotonic clock"}});
  }
  anchor_wall_us_ = stamp;
  anchor_monotonic_us_ = monotonic;
  last_stamp_us_ = std::max(last_stamp_us_, stamp);
  return last_stamp_us_;
}

GatewayClockStats GatewayClock::Stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace healthtwin::ble
