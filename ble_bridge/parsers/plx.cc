#include "ble_bridge/parsers/plx.h"

#include "ble_bridge/parsers/byte_reader.h"
#include "ble_bridge/parsers/parse_util.h"

namespace healthtwin::ble {

absl::StatusOr<PlxSpotCheckMeasurement> ParsePlxSpotCheckMeasurement(std::span<const uint8_t> value) {
  if (value.empty()) return internal::TooShort(0, 5);
  const uint8_t flags = value[0];
  const std::size_t expected = 1 + 4 + (flags & 0x01 ? kDateTimeSize : 0) + (flags & 0x02 ? 2 : 0) +
                               (flags & 0x04 ? 3 : 0) + (flags & 0x08 ? 2 : 0);
  if (absl::Status s = internal::ExpectLength(value.size(), expected, flags); !s.ok()) return s;

  ByteReader r(value);
  r.U8();
  PlxSpotCheckMeasurement m;
  m.spo2_percent = DecodeSfloat(r.U16());
  m.pulse_rate_bpm = DecodeSfloat(r.U16());
  if (flags & 0x01) {
    auto ts = ReadDateTime(r);
    if (!ts.ok()) return ts.status();
    m.timestamp = *ts;
  }
  if (flags & 0x02) m.measurement_status = r.U16();
  if (flags & 0x04) m.device_and_sensor_status = r.U24();
  if (flags & 0x08) m.pulse_amplitude_index_percent = DecodeSfloat(r.U16());
  m.device_clock_not_set = flags & 0x10;
  return r.Finish(std::move(m));
}

absl::StatusOr<PlxContinuousMeasurement> ParsePlxContinuousMeasurement(std::span<const uint8_t> value) {
  if (value.empty()) return internal::TooShort(0, 5);
  const uint8_t flags = value[0];
  const std::size_t expected = 1 + 4 + (flags & 0x01 ? 4 : 0) + (flags & 0x02 ? 4 : 0) + (flags & 0x04 ? 2 : 0) +
                               (flags & 0x08 ? 3 : 0) + (flags & 0x10 ? 2 : 0);
  if (absl::Status s = internal::ExpectLength(value.size(), expected, flags); !s.ok()) return s;

  ByteReader r(value);
  r.U8();
  PlxContinuousMeasurement m;
  m.spo2_percent = DecodeSfloat(r.U16());
  m.pulse_rate_bpm = DecodeSfloat(r.U16());
  if (flags & 0x01) {
    m.spo2_fast_percent = DecodeSfloat(r.U16());
    m.pulse_rate_fast_bpm = DecodeSfloat(r.U16());
  }
  if (flags & 0x02) {
    m.spo2_slow_percent = DecodeSfloat(r.U16());
    m.pulse_rate_slow_bpm = DecodeSfloat(r.U16());
  }
  if (flags & 0x04) m.measurement_status = r.U16();
  if (flags & 0x08) m.device_and_sensor_status = r.U24();
  if (flags & 0x10) m.pulse_amplitude_index_percent = DecodeSfloat(r.U16());
  return r.Finish(std::move(m));
}

}  // namespace healthtwin::ble
