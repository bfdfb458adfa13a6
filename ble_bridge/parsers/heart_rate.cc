#include "ble_bridge/parsers/heart_rate.h"

#include "ble_bridge/parsers/byte_reader.h"
#include "ble_bridge/parsers/parse_util.h"

namespace healthtwin::ble {

absl::StatusOr<HeartRateMeasurement> ParseHeartRateMeasurement(std::span<const uint8_t> value) {
  if (value.size() < 2) return internal::TooShort(value.size(), 2);
  const uint8_t flags = value[0];
  const bool hr_u16 = flags & 0x01;
  const bool contact_supported = flags & 0x04;
  const bool energy_present = flags & 0x08;
  const bool rr_present = flags & 0x10;

  const std::size_t fixed = 1 + (hr_u16 ? 2 : 1) + (energy_present ? 2 : 0);
  if (value.size() < fixed) return internal::ExpectLength(value.size(), fixed, flags);
  const std::size_t rest = value.size() - fixed;
  if (!rr_present && rest != 0) return internal::ExpectLength(value.size(), fixed, flags);
  if (rr_present && rest == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("flags ", internal::Hex8(flags), " announce RR-intervals but none follow"));
  }
  if (rest % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat("RR-interval field has an odd length of ", rest, " bytes"));
  }

  ByteReader r(value);
  r.U8();
  HeartRateMeasurement m;
  m.heart_rate_bpm = hr_u16 ? r.U16() : r.U8();
  if (contact_supported) m.sensor_contact = (flags & 0x02) != 0;
  if (energy_present) m.energy_expended_kj = r.U16();
  if (rr_present) {
    m.rr_intervals_1024ths.emplace();
    while (r.remaining() > 0) m.rr_intervals_1024ths->push_back(r.U16());
  }
  return r.Finish(std::move(m));
}

}  // namespace healthtwin::ble
