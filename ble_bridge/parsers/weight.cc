#include "ble_bridge/parsers/weight.h"

#include "ble_bridge/parsers/byte_reader.h"
#include "ble_bridge/parsers/parse_util.h"

namespace healthtwin::ble {

absl::StatusOr<WeightMeasurement> ParseWeightMeasurement(std::span<const uint8_t> value) {
  if (value.empty()) return internal::TooShort(0, 3);
  const uint8_t flags = value[0];
  const std::size_t expected =
      1 + 2 + (flags & 0x02 ? kDateTimeSize : 0) + (flags & 0x04 ? 1 : 0) + (flags & 0x08 ? 4 : 0);
  if (absl::Status s = internal::ExpectLength(value.size(), expected, flags); !s.ok()) return s;

  ByteReader r(value);
  r.U8();
  WeightMeasurement m;
  m.imperial = flags & 0x01;
  m.weight_raw = r.U16();
  if (flags & 0x02) {
    auto ts = ReadDateTime(r);
    if (!ts.ok()) return ts.status();
    m.timestamp = *ts;
  }
  if (flags & 0x04) m.user_id = r.U8();
  if (flags & 0x08) {
    m.bmi_raw = r.U16();
    m.height_raw = r.U16();
  }
  return r.Finish(std::move(m));
}

}  // namespace healthtwin::ble
