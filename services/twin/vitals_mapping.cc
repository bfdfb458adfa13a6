#include "services/twin/vitals_mapping.h"

namespace healthtwin::twin {

using models::calibration::Vital;

std::optional<Vital> VitalOfType(int vital_type) {
  switch (vital_type) {
    case 1: return Vital::kHeartRate;
    case 2: return Vital::kSystolic;
    case 3: return Vital::kDiastolic;
    case 5: return Vital::kSpo2;
    case 6: return Vital::kTemperature;
    case 7: return Vital::kWeight;
    default: return std::nullopt;
  }
}

int TypeOfVital(Vital vital) {
  switch (vital) {
    case Vital::kHeartRate: return 1;
    case Vital::kSystolic: return 2;
    case Vital::kDiastolic: return 3;
    case Vital::kSpo2: return 5;
    case Vital::kTemperature: return 6;
    case Vital::kWeight: return 7;
  }
  return 0;
}

std::optional<models::calibration::Sample> ToSample(int vital_type, double value, std::int64_t measured_at_unix_s,
                                                    int flags) {
  const std::optional<Vital> v = VitalOfType(vital_type);
  if (!v) return std::nullopt;
  return models::calibration::Sample{measured_at_unix_s, *v, value, (flags & kUnlikelyValueFlagMask) != 0};
}

}  // namespace healthtwin::twin
