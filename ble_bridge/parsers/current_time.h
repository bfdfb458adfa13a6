// Current Time (0x2A2B, Current Time Service, GSS 3.62): the bridge reads it to measure a device's
// clock skew and writes it to set the device's clock.
//
//   Exact Time 256 = Day Date Time (Date Time 7 | day of week u8) | fractions256 u8 | adjust reason u8
//
// Day of week: 0 unknown, 1 Monday .. 7 Sunday. Adjust reason bits: 0 manual time update,
// 1 external reference time update, 2 change of time zone, 3 change of DST; 4-7 reserved.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "ble_bridge/parsers/date_time.h"

namespace healthtwin::ble {

inline constexpr std::size_t kCurrentTimeSize = 10;

inline constexpr uint8_t kAdjustManual = 0x01;
inline constexpr uint8_t kAdjustExternalReference = 0x02;
inline constexpr uint8_t kAdjustTimeZoneChange = 0x04;
inline constexpr uint8_t kAdjustDstChange = 0x08;

struct CurrentTime {
  DateTime date_time;
  uint8_t day_of_week = 0;   // 0 unknown, 1 Monday .. 7 Sunday
  uint8_t fractions256 = 0;  // 1/256 s
  uint8_t adjust_reason = 0;

  friend bool operator==(const CurrentTime&, const CurrentTime&) = default;
};

// Reserved adjust-reason bits are ignored on receipt. The day of week is not cross-checked with
// the date: the field is informative and devices get it wrong without the time being wrong.
absl::StatusOr<CurrentTime> ParseCurrentTime(std::span<const uint8_t> value);

// Ten bytes to write. InvalidArgument for an invalid date-time, day of week above 7 or reserved
// adjust-reason bits: the bridge never sends what it would itself reject.
absl::StatusOr<std::vector<uint8_t>> EncodeCurrentTime(const CurrentTime& time);

// A CurrentTime for a known local civil time, with the day of week computed from the date.
absl::StatusOr<CurrentTime> MakeCurrentTime(const DateTime& local, uint8_t fractions256, uint8_t adjust_reason);

}  // namespace healthtwin::ble
