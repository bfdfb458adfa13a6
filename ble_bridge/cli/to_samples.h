// From a decoded GATT value to the scalar samples the outbox stores: which vital types a
// characteristic yields, in their canonical UCUM units (ingest stores canonical units, so the
// bridge converts kPa, degrees Fahrenheit, pounds and mol/L here, once), and which time stamp
// each sample carries.
//
// Time: `measured_at_unix_us` is the device's own time stamp when the value carries one, read
// as local time in the gateway's zone (the Date Time field has no zone), and the gateway's
// receive time otherwise. A device time stamp in the future of the receive time cannot be
// true; the sample then takes the receive time and `skew_us` reports the difference, so the
// caller can log the skew. `received_at_unix_us` is always the gateway clock.
//
// Special values (NaN, NRes, +-INF) and unsuccessful measurements yield no sample: a cuff's
// error frame never becomes a number. Characteristics that carry no vital sign (battery,
// RACP, Current Time, device information, glucose context) yield nothing. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ble_bridge/outbox/outbox.h"
#include "ble_bridge/parsers/date_time.h"
#include "ble_bridge/parsers/decoder.h"

namespace healthtwin::ble {

struct SampleConversion {
  std::vector<Measurement> samples;
  // device time minus receive time, when the value carries a usable device time stamp.
  std::optional<int64_t> skew_us;
};

SampleConversion ToSamples(const std::string& device_id, const Decoded& decoded,
                           const std::optional<DateTime>& device_time, int64_t received_at_unix_us);

}  // namespace healthtwin::ble
