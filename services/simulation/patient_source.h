// What the what-if engine needs to know about one patient, read from PostgreSQL: registry
// demographics and conditions, the patient's recent resting vitals (medians over a window,
// flagged samples excluded) and the newest snapshot of a *calibrated* twin, if there is one (a
// twin that has only seen sequential updates from its population prior is not yet this
// patient's: its posterior is left alone and the what-if fits the measured vitals instead).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/pg.h"
#include "services/twin/patient_model.h"

namespace healthtwin::simulation {

struct TwinParameterEstimate {
  std::string name;
  double value = 0.0;
};

struct WhatIfPatient {
  std::string patient_id;
  twin::PatientRecord registry;           // the row the twin service builds its nominal from
  std::optional<double> weight_kg;        // newest weight in the window
  std::optional<double> sbp_mmhg;         // medians over the window
  std::optional<double> dbp_mmhg;
  std::optional<double> heart_rate_bpm;
  int vitals_in_window = 0;
  // The newest calibrated twin snapshot (version 0: none yet).
  std::uint64_t twin_version = 0;
  std::vector<TwinParameterEstimate> twin_parameters;
  std::vector<double> twin_covariance;    // row-major over twin_parameters
};

class PatientSource {
 public:
  explicit PatientSource(common::PgPool& pool, std::chrono::hours window = std::chrono::hours(24 * 14))
      : pool_(pool), window_(window) {}

  // NOT_FOUND when the patient is not registered.
  absl::StatusOr<WhatIfPatient> Load(const std::string& patient_id);

 private:
  common::PgPool& pool_;
  std::chrono::hours window_;
};

}  // namespace healthtwin::simulation
