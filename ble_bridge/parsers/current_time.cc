#include "ble_bridge/parsers/current_time.h"

#include "ble_bridge/parsers/byte_reader.h"
#include "ble_bridge/parsers/parse_util.h"

namespace healthtwin::ble {

absl::StatusOr<CurrentTime> ParseCurrentTime(std::span<const uint8_t> value) {
  if (value.size() != kCurrentTimeSize) {
    return absl::InvalidArgumentError(absl::StrCat("length is ", value.size(), " bytes, need exactly 10"));
  }
  ByteReader r(value);
  CurrentTime t;
  auto dt = ReadDateTime(r);
  if (!dt.ok()) return dt.status();
  t.date_time = *dt;
  t.day_of_week = r.U8();
  if (t.day_of_week > 7) return absl::InvalidArgumentError(absl::StrCat("day of week ", t.day_of_week, " is above 7"));
  t.fractions256 = r.U8();
  t.adjust_reason = r.U8();
  return r.Finish(std::move(t));
}

absl::StatusOr<std::vector<uint8_t>> EncodeCurrentTime(const CurrentTime& time) {
  if (absl::Status s = ValidateDateTime(time.date_time); !s.ok()) return s;
  if (time.day_of_week > 7) {
    return absl::InvalidArgumentError(absl::StrCat("day of week ", time.day_of_week, " is above 7"));
  }
  if (time.adjust_reason & 0xF0) {
    return absl::InvalidArgumentError(
        absl::StrCat("adjust reason ", internal::Hex8(time.adjust_reason), " sets reserved bits"));
  }
  std::vector<uint8_t> out;
  out.reserve(kCurrentTimeSize);
  AppendDateTime(time.date_time, out);
  out.push_back(time.day_of_week);
  out.push_back(time.fractions256);
  out.push_back(time.adjust_reason);
  return out;
}

absl::StatusOr<CurrentTime> MakeCurrentTime(const DateTime& local, uint8_t fractions256, uint8_t adjust_reason) {
  if (absl::Status s = ValidateDateTime(local); !s.ok()) return s;
  if (!local.date_known()) return absl::InvalidArgumentError("cannot set a device clock to an unknown date");
  CurrentTime t{local, DayOfWeek(local.year, local.month, local.day), fractions256, adjust_reason};
  if (adjust_reason & 0xF0) {
    return absl::InvalidArgumentError(
        absl::StrCat("adjust reason ", internal::Hex8(adjust_reason), " sets reserved bits"));
  }
  return t;
}

}  // namespace healthtwin::ble
