// The contract between twin calibration (models/calibration) and treatment simulation
// (models/treatment): a Gaussian belief over a few identifiable parameters of one patient.
//
// Parameters are expressed in the coordinates the fast layers understand, so drawing an
// ensemble member never needs a new SteadyStateMap: multiplicative factors on the effectors,
// a blood-volume factor and a baroreflex set-point offset relative to the patient's nominal
// model. Which parameters appear is decided by the identifiability analysis (models/README.md,
// "Identifiability"); every name below is one of the kParam* constants.
//
// Plain value type, no Eigen in the interface; covariance is row-major n x n.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace healthtwin::models {

// Log of the factor on systemic resistance (R_sp, R_ep), i.e. 0 = the nominal patient.
inline constexpr std::string_view kParamLogResistance = "log_resistance";
// Log of the factor on both ventricles' Emax.
inline constexpr std::string_view kParamLogContractility = "log_contractility";
// Log of the factor on the heart rate.
inline constexpr std::string_view kParamLogHeartRate = "log_heart_rate";
// Log of the factor on total blood volume (stressed volume follows).
inline constexpr std::string_view kParamLogBloodVolume = "log_blood_volume";
// Offset of the baroreflex set point from the nominal one, mmHg.
inline constexpr std::string_view kParamSetPointOffset = "set_point_offset_mmhg";
// Log of the factor on arterial compliance (only if the map supports it; see calibration).
inline constexpr std::string_view kParamLogArterialCompliance = "log_arterial_compliance";

struct TwinPosterior {
  std::vector<std::string> names;   // parameter names, kParam*
  std::vector<double> mean;         // same order as names
  std::vector<double> covariance;   // row-major, names.size()^2, symmetric positive semi-definite
  std::uint64_t version = 0;        // the twin snapshot version it came from; 0 = a prior
  std::string source;               // "prior:<doc section>" or "calibration:<method>"

  std::size_t size() const { return names.size(); }
  double Cov(std::size_t i, std::size_t j) const { return covariance[i * names.size() + j]; }
};

}  // namespace healthtwin::models
