// The time the bridge stamps on what it receives (heart rate carries no time stamp of its own, so
// the receive time IS the measurement time), made immune to steps of the system clock.
//
// The wall clock is read once, at the first call, as the anchor; every later time stamp is that
// anchor plus the elapsed CLOCK_BOOTTIME (monotonic, and it keeps counting through a suspend).
// Each call also reads the system clock: while the two agree within `jump_threshold` the stamps
// follow the system clock (so NTP's slewing and sub-threshold corrections are followed), but a
// step larger than that (someone ran `date -s`, a broken NTP source, an RTC read late) is NOT
// followed: it is logged as `bridge.clock_jump` at error level with its size, counted, and the
// stamps go on from the monotonic clock. A step back later (the clock being put right) is a
// second jump that brings the offset back to about zero, and the stamps follow the system clock
// again. Why not follow: a stamp 3 h in the future is rejected by ingest (lost), and a stamp
// 3 h back files a live heart rate hours early; elapsed time is the one thing the gateway still
// knows for sure. See docs/adr/0004-gateway-clock-steps-are-not-followed.md.
//
// Stamps never go backwards: a sub-threshold step back holds them until the clock catches up.
//
// Thread-safe. The sources are injectable so that tests can step the wall clock.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

namespace healthtwin::ble {

struct GatewayClockOptions {
  std::function<int64_t()> wall_unix_us;  // default: CLOCK_REALTIME
  std::function<int64_t()> monotonic_us;  // default: CLOCK_BOOTTIME
  // Larger than any slewing can drift between two reads, smaller than any step worth flagging.
  int64_t jump_threshold_us = 5'000'000;
};

struct GatewayClockStats {
  uint64_t jumps_total = 0;
  // The system clock minus the stamps: the sum of the steps not followed. 0 when they agree.
  int64_t system_offset_us = 0;
};

class GatewayClock {
 public:
  explicit GatewayClock(GatewayClockOptions options = {});

  int64_t NowUnixMicros();
  GatewayClockStats Stats() const;

 private:
  GatewayClockOptions options_;
  mutable std::mutex mu_;
  bool anchored_ = false;
  int64_t anchor_wall_us_ = 0;  // a stamp, and the monotonic time it was taken at
  int64_t anchor_monotonic_us_ = 0;
  int64_t last_stamp_us_ = 0;
  GatewayClockStats stats_;
};

}  // namespace healthtwin::ble
