#include "ble_bridge/parsers/temperature.h"

#include <array>

#include "ble_bridge/parsers/byte_reader.h"
#include "ble_bridge/parsers/parse_util.h"

namespace healthtwin::ble {

std::string TemperatureTypeName(uint8_t type) {
  static constexpr std::array<const char*, 10> kNames = {
      nullptr, "armpit", "body", "ear", "finger", "gastrointestinal_tract", "mouth", "rectum", "toe", "tympanum"};
  if (type < kNames.size() && kNames[type] != nullptr) return kNames[type];
  return absl::StrCat("reserved_", type);
}

absl::StatusOr<TemperatureMeasurement> ParseTemperatureMeasurement(std::span<const uint8_t> value) {
  if (value.empty()) return internal::TooShort(0, 5);
  const uint8_t flags = value[0];
  const std::size_t expected = 1 + 4 + (flags & 0x02 ? kDateTimeSize : 0) + (flags & 0x04 ? 1 : 0);
  if (absl::Status s = internal::ExpectLength(value.size(), expected, flags); !s.ok()) return s;

  ByteReader r(value);
  r.U8();
  TemperatureMeasurement m;
  m.unit = flags & 0x01 ? TemperatureUnit::kFahrenheit : TemperatureUnit::kCelsius;
  m.temperature = DecodeFloat(r.U32());
  if (flags & 0x02) {
    auto ts = ReadDateTime(r);
    if (!ts.ok()) return ts.status();
    m.timestamp = *ts;
  }
  if (flags & 0x04) m.temperature_type = r.U8();
  return r.Finish(std::move(m));
}

}  // namespace healthtwin::ble
