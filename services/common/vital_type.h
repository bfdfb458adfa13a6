// The kinds of vital sign healthtwin stores, with their canonical UCUM units.
// Numerically identical to healthtwin.vitals.v1.VitalType so mapping is a cast, but kept
// separate so domain code does not depend on generated protobuf code.
#pragma once

#include <optional>
#include <string_view>

namespace healthtwin::common {

enum class VitalType : int {
  kUnspecified = 0,
  kHeartRate = 1,
  kSystolicBp = 2,
  kDiastolicBp = 3,
  kMeanArterialBp = 4,
  kSpo2 = 5,
  kBodyTemperature = 6,
  kBodyWeight = 7,
  kGlucose = 8,
  kRespiratoryRate = 9,
  kPulseRate = 10,
};
inline constexpr int kMaxVitalType = 10;

// Canonical UCUM unit in which values of this type are stored, e.g. "/min", "mm[Hg]".
std::string_view CanonicalUnit(VitalType type);
// Short stable name used in CLIs and logs, e.g. "heart_rate".
std::string_view VitalTypeName(VitalType type);
std::optional<VitalType> VitalTypeFromName(std::string_view name);
inline bool IsKnownVitalType(int v) { return v >= 1 && v <= kMaxVitalType; }

}  // namespace healthtwin::common
