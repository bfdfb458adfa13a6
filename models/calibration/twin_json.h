// JSON form of TwinSnapshot (for the service's jsonb column or files) and of FitQuality.
// Field names are the struct's; per-vital arrays are indexed by Vital.
// SnapshotFromJson: InvalidArgument naming the field; Twin::Restore validates the contents.
#pragma once

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "models/calibration/twin.h"

namespace healthtwin::models::calibration {

nlohmann::json SnapshotToJson(const TwinSnapshot& snapshot);
absl::StatusOr<TwinSnapshot> SnapshotFromJson(const nlohmann::json& j);

}  // namespace healthtwin::models::calibration
