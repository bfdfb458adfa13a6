// From a stored vitals row to a twin sample, and between the twin's vitals and VitalType.
//
// Mapped: heart rate (1), systolic (2), diastolic (3), SpO2 (5), temperature (6), weight (7);
// other types (MAP, glucose, respiration, pulse rate) are not twin observables. Ingest's
// "unlikely value" flag (bit 1 << SAMPLE_FLAG_UNLIKELY_VALUE) becomes Sample::flagged;
// clock-skewed samples keep a valid value and are used. Stateless.
#pragma once

#include <cstdint>
#include <optional>

#include "models/calibration/twin.h"

namespace healthtwin::twin {

inline constexpr int kUnlikelyValueFlagMask = 1 << 1;

std::optional<models::calibration::Vital> VitalOfType(int vital_type);
int TypeOfVital(models::calibration::Vital vital);

// nullopt for a type the twin does not observe.
std::optional<models::calibration::Sample> ToSample(int vital_type, double value, std::int64_t measured_at_unix_s,
                                                    int flags);

}  // namespace healthtwin::twin
