#include "ble_bridge/parsers/blood_pressure.h"

#include "ble_bridge/parsers/byte_reader.h"
#include "ble_bridge/parsers/parse_util.h"

namespace healthtwin::ble {
namespace {

struct Common {
  PressureUnit unit;
  MderFloat first, second, third;
  BloodPressureExtras extras;
};

absl::StatusOr<Common> ParseCommon(std::span<const uint8_t> value) {
  if (value.empty()) return internal::TooShort(0, 7);
  const uint8_t flags = value[0];
  const std::size_t expected = 1 + 6 + (flags & 0x02 ? kDateTimeSize : 0) + (flags & 0x04 ? 2 : 0) +
                               (flags & 0x08 ? 1 : 0) + (flags & 0x10 ? 2 : 0);
  if (absl::Status s = internal::ExpectLength(value.size(), expected, flags); !s.ok()) return s;

  ByteReader r(value);
  r.U8();
  Common c;
  c.unit = flags & 0x01 ? PressureUnit::kKPa : PressureUnit::kMmHg;
  c.first = DecodeSfloat(r.U16());
  c.second = DecodeSfloat(r.U16());
  c.third = DecodeSfloat(r.U16());
  if (flags & 0x02) {
    auto ts = ReadDateTime(r);
    if (!ts.ok()) return ts.status();
    c.extras.timestamp = *ts;
  }
  if (flags & 0x04) c.extras.pulse_rate_bpm = DecodeSfloat(r.U16());
  if (flags & 0x08) c.extras.user_id = r.U8();
  if (flags & 0x10) {
    BloodPressureStatus st;
    st.raw = r.U16();
    st.body_movement_detected = st.raw & 0x0001;
    st.cuff_too_loose = st.raw & 0x0002;
    st.irregular_pulse_detected = st.raw & 0x0004;
    st.pulse_rate_range = static_cast<PulseRateRange>((st.raw >> 3) & 0x3);
    st.improper_measurement_position = st.raw & 0x0020;
    c.extras.status = st;
  }
  return r.Finish(std::move(c));
}

}  // namespace

absl::StatusOr<BloodPressureMeasurement> ParseBloodPressureMeasurement(std::span<const uint8_t> value) {
  auto c = ParseCommon(value);
  if (!c.ok()) return c.status();
  return BloodPressureMeasurement{c->unit, c->first, c->second, c->third, std::move(c->extras)};
}

absl::StatusOr<IntermediateCuffPressure> ParseIntermediateCuffPressure(std::span<const uint8_t> value) {
  auto c = ParseCommon(value);
  if (!c.ok()) return c.status();
  return IntermediateCuffPressure{c->unit, c->first, std::move(c->extras)};
}

}  // namespace healthtwin::ble
