#include "services/common/vital_type.h"

#include <array>

namespace healthtwin::common {
namespace {

struct Info {
  VitalType type;
  std::string_view name;
  std::string_view unit;
};

constexpr std::array<Info, kMaxVitalType + 1> kInfo = {{
    {VitalType::kUnspecified, "unspecified", ""},
    {VitalType::kHeartRate, "heart_rate", "/min"},
    {VitalType::kSystolicBp, "systolic_bp", "mm[Hg]"},
    {VitalType::kDiastolicBp, "diastolic_bp", "mm[Hg]"},
    {VitalType::kMeanArterialBp, "mean_arterial_bp", "mm[Hg]"},
    {VitalType::kSpo2, "spo2", "%"},
    {VitalType::kBodyTemperature, "body_temperature", "Cel"},
    {VitalType::kBodyWeight, "body_weight", "kg"},
    {VitalType::kGlucose, "glucose", "mg/dL"},
    {VitalType::kRespiratoryRate, "respiratory_rate", "/min"},
    {VitalType::kPulseRate, "pulse_rate", "/min"},
}};

}  // namespace

std::string_view CanonicalUnit(VitalType type) { return kInfo.at(static_cast<int>(type)).unit; }
std::string_view VitalTypeName(VitalType type) { return kInfo.at(static_cast<int>(type)).name; }

std::optional<VitalType> VitalTypeFromName(std::string_view name) {
  for (const auto& info : kInfo) {
    if (info.name == name && info.type != VitalType::kUnspecified) return info.type;
  }
  return std::nullopt;
}

}  // namespace healthtwin::common
