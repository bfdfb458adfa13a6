// The stable `healthtwin-bridge decode` JSON contract (MISSION.md, "ble_bridge"): one object per
// decoded value, with the keys MISSION.md lists for each characteristic and a few more for the
// fields it does not name (documented in README.md).
//
// Rules: a key is absent when its flag says the field is absent; a special value (an IEEE 11073
// NaN, NRes, +INF, -INF or reserved value, an unknown date, an unknown user, an unsuccessful
// weighing, an exercise-duration overrun) is null, and "special" maps that key to the reason, e.g.
// {"systolic": null, ..., "special": {"systolic": "NaN", "systolic_mmhg": "NaN"}}. A converted
// value (systolic_mmhg from kPa, temperature_c from Fahrenheit, weight_kg from pounds) is rounded
// to 3 decimals; a value in the device's own unit is the exact decimal it sent.
#pragma once

#include <nlohmann/json.hpp>

#include "ble_bridge/parsers/decoder.h"

namespace healthtwin::ble {

nlohmann::json ToJson(const Decoded& decoded);

}  // namespace healthtwin::ble
