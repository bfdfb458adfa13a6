// The Bluetooth "Date Time" field (GSS 3.70): year uint16 (1582..9999, 0 = not known),
// month (1..12, 0 = not known), day (1..31, 0 = not known), hours, minutes, seconds. Seven bytes,
// little-endian. It is local time with no zone, as the device shows it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "ble_bridge/parsers/byte_reader.h"

namespace healthtwin::ble {

inline constexpr std::size_t kDateTimeSize = 7;

struct DateTime {
  uint16_t year = 0;
  uint8_t month = 0;
  uint8_t day = 0;
  uint8_t hours = 0;
  uint8_t minutes = 0;
  uint8_t seconds = 0;

  // False when the device says it does not know the year, month or day.
  bool date_known() const { return year != 0 && month != 0 && day != 0; }
  // "2024-03-15T14:30:45" (ISO 8601, no zone), or nullopt when the date is not known.
  std::optional<std::string> ToIso8601() const;

  friend bool operator==(const DateTime&, const DateTime&) = default;
};

// Reads seven bytes (the caller has checked they are there) and validates every field, including
// the day against the month's length when year and month are known.
absl::StatusOr<DateTime> ReadDateTime(ByteReader& reader);
// InvalidArgument when a field is out of range.
absl::Status ValidateDateTime(const DateTime& dt);
void AppendDateTime(const DateTime& dt, std::vector<uint8_t>& out);

// 1 = Monday .. 7 = Sunday, as the Day of Week characteristic counts. Precondition: a valid date.
uint8_t DayOfWeek(int year, int month, int day);

// The device's local Date Time (the field has no zone) as unix microseconds in the gateway's
// zone; nullopt when the date is not known.
std::optional<int64_t> LocalDateTimeToUnixMicros(const DateTime& dt);

}  // namespace healthtwin::ble
