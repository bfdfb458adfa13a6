// The candidate parameters of twin calibration, in the coordinates of models/twin_posterior.h.
//
// Every candidate is a log factor on an effector or on a circulation parameter of the
// patient's nominal model, or (set point) an offset in mmHg, so 0 is always "the nominal
// patient". Which candidates are estimated is decided by the identifiability analysis
// (identifiability.h; result in models/README.md, "Identifiability and calibration").
#pragma once

#include <array>
#include <string_view>

#include "models/twin_posterior.h"

namespace healthtwin::models::calibration {

enum class Param {
  kLogResistance,
  kLogContractility,
  kLogHeartRate,
  kLogBloodVolume,
  kSetPointOffset,
  kLogArterialCompliance,
};
inline constexpr int kNumCandidateParams = 6;

inline constexpr std::array<Param, kNumCandidateParams> kAllCandidateParams = {
    Param::kLogResistance, Param::kLogContractility, Param::kLogHeartRate,
    Param::kLogBloodVolume, Param::kSetPointOffset, Param::kLogArterialCompliance};

// The kParam* name of twin_posterior.h.
constexpr std::string_view ParamName(Param p) {
  switch (p) {
    case Param::kLogResistance: return kParamLogResistance;
    case Param::kLogContractility: return kParamLogContractility;
    case Param::kLogHeartRate: return kParamLogHeartRate;
    case Param::kLogBloodVolume: return kParamLogBloodVolume;
    case Param::kSetPointOffset: return kParamSetPointOffset;
    case Param::kLogArterialCompliance: return kParamLogArterialCompliance;
  }
  return "";
}

// Wearable observables. SpO2 and temperature are carried (residuals, drift) but no candidate
// parameter moves them in the model, so they carry no information on the parameters.
enum class Vital { kHeartRate, kSystolic, kDiastolic, kWeight, kSpo2, kTemperature };
inline constexpr int kNumVitals = 6;
inline constexpr std::array<Vital, kNumVitals> kAllVitals = {Vital::kHeartRate, Vital::kSystolic,
                                                             Vital::kDiastolic, Vital::kWeight,
                                                             Vital::kSpo2,      Vital::kTemperature};

// CSV / JSON names: heart_rate, systolic, diastolic, weight, spo2, temperature.
constexpr std::string_view VitalName(Vital v) {
  switch (v) {
    case Vital::kHeartRate: return "heart_rate";
    case Vital::kSystolic: return "systolic";
    case Vital::kDiastolic: return "diastolic";
    case Vital::kWeight: return "weight";
    case Vital::kSpo2: return "spo2";
    case Vital::kTemperature: return "temperature";
  }
  return "";
}
// Units: bpm, mmHg, mmHg, kg, % (0-100), degrees C.
constexpr std::string_view VitalUnit(Vital v) {
  switch (v) {
    case Vital::kHeartRate: return "bpm";
    case Vital::kSystolic:
    case Vital::kDiastolic: return "mmHg";
    case Vital::kWeight: return "kg";
    case Vital::kSpo2: return "%";
    case Vital::kTemperature: return "degC";
  }
  return "";
}

}  // namespace healthtwin::models::calibration
