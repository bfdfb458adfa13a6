// Test helpers: the standard adult's observation model, built once per test process.
#pragma once

#include <memory>

#include "models/calibration/observation_model.h"
#include "models/patient.h"

namespace healthtwin::models::calibration::testing {

inline std::shared_ptr<const ObservationModel> StandardModel() {
  static const std::shared_ptr<const ObservationModel> model = [] {
    absl::StatusOr<std::shared_ptr<const ObservationModel>> m = ObservationModel::Create(StandardAdult());
    return m.ok() ? *m : nullptr;
  }();
  return model;
}

}  // namespace healthtwin::models::calibration::testing
