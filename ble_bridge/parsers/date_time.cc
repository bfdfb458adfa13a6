#include "ble_bridge/parsers/date_time.h"

#include <cstdio>
#include <ctime>

#include "absl/strings/str_cat.h"

namespace healthtwin::ble {
namespace {

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

}  // namespace

std::optional<std::string> DateTime::ToIso8601() const {
  if (!date_known()) return std::nullopt;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04u-%02u-%02uT%02u:%02u:%02u", unsigned{year}, unsigned{month}, unsigned{day},
                unsigned{hours}, unsigned{minutes}, unsigned{seconds});
  return std::string(buf);
}

absl::Status ValidateDateTime(const DateTime& dt) {
  if (dt.year != 0 && (dt.year < 1582 || dt.year > 9999)) {
    return absl::InvalidArgumentError(absl::StrCat("date-time year ", dt.year, " is outside 1582..9999 (0 = unknown)"));
  }
  if (dt.month > 12) return absl::InvalidArgumentError(absl::StrCat("date-time month ", dt.month, " is above 12"));
  if (dt.day > 31) return absl::InvalidArgumentError(absl::StrCat("date-time day ", dt.day, " is above 31"));
  if (dt.year != 0 && dt.month != 0 && dt.day > DaysInMonth(dt.year, dt.month)) {
    return absl::InvalidArgumentError(
        absl::StrCat("date-time day ", dt.day, " does not exist in ", dt.year, "-", dt.month));
  }
  if (dt.hours > 23) return absl::InvalidArgumentError(absl::StrCat("date-time hours ", dt.hours, " is above 23"));
  if (dt.minutes > 59)
    return absl::InvalidArgumentError(absl::StrCat("date-time minutes ", dt.minutes, " is above 59"));
  if (dt.seconds > 59)
    return absl::InvalidArgumentError(absl::StrCat("date-time seconds ", dt.seconds, " is above 59"));
  return absl::OkStatus();
}

absl::StatusOr<DateTime> ReadDateTime(ByteReader& reader) {
  DateTime dt;
  dt.year = reader.U16();
  dt.month = reader.U8();
  dt.day = reader.U8();
  dt.hours = reader.U8();
  dt.minutes = reader.U8();
  dt.seconds = reader.U8();
  if (absl::Status s = ValidateDateTime(dt); !s.ok()) return s;
  return dt;
}

void AppendDateTime(const DateTime& dt, std::vector<uint8_t>& out) {
  out.push_back(static_cast<uint8_t>(dt.year & 0xFF));
  out.push_back(static_cast<uint8_t>(dt.year >> 8));
  out.push_back(dt.month);
  out.push_back(dt.day);
  out.push_back(dt.hours);
  out.push_back(dt.minutes);
  out.push_back(dt.seconds);
}

uint8_t DayOfWeek(int year, int month, int day) {
  // Days since 1970-01-01 (a Thursday), from Howard Hinnant's days_from_civil.
  year -= month <= 2;
  const int era = (year >= 0 ? year : year - 399) / 400;
  const int yoe = year - era * 400;
  const int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const long days = static_cast<long>(era) * 146097 + doe - 719468;
  const long monday_based = ((days % 7) + 7 + 3) % 7;  // 1970-01-01 is index 3 (Thursday) from Monday
  return static_cast<uint8_t>(monday_based + 1);
}

std::optional<int64_t> LocalDateTimeToUnixMicros(const DateTime& dt) {
  if (!dt.date_known()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = dt.year - 1900;
  tm.tm_mon = dt.month - 1;
  tm.tm_mday = dt.day;
  tm.tm_hour = dt.hours;
  tm.tm_min = dt.minutes;
  tm.tm_sec = dt.seconds;
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<int64_t>(t) * 1'000'000;
}

}  // namespace healthtwin::ble
