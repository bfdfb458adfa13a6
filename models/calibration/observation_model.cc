#include "models/calibration/observation_model.h"

#include <cmath>

namespace healthtwin::models::calibration {

absl::StatusOr<std::shared_ptr<const ObservationModel>> ObservationModel::Create(const ModelParams& nominal) {
  absl::StatusOr<SteadyStateMap> map = SteadyStateMap::Build(nominal);
  if (!map.ok()) return map.status();
  return FromMap(std::make_shared<const SteadyStateMap>(*std::move(map)));
}

std::shared_ptr<const ObservationModel> ObservationModel::FromMap(std::shared_ptr<const SteadyStateMap> map) {
  return std::shared_ptr<const ObservationModel>(new ObservationModel(std::move(map)));
}

ModelledVitals ObservationModel::At(const ParamVector& t) const {
  const double bv0 = map_->nominal_blood_volume_ml();
  const double bv = bv0 * std::exp(t[1]);
  EffectorModifiers m;
  m.systemic_resistance_factor = std::exp(t[0]);
  m.heart_rate_factor = std::exp(t[3]);
  m.contractility_factor = std::exp(t[4]);
  const Haemodynamics h = map_->At(bv, map_->nominal_set_point_mmhg() + t[2], m);
  return {h.heart_rate_bpm, h.sbp_mmhg, h.dbp_mmhg, bv - bv0, h.extrapolated};
}

double ObservationModel::Value(Vital vital, const ParamVector& theta, double weight_ref_kg) const {
  const ModelledVitals v = At(theta);
  switch (vital) {
    case Vital::kHeartRate: return v.heart_rate_bpm;
    case Vital::kSystolic: return v.sbp_mmhg;
    case Vital::kDiastolic: return v.dbp_mmhg;
    case Vital::kWeight: return weight_ref_kg + kWeightKgPerMlBlood * v.blood_volume_change_ml;
    default: return 0.0;
  }
}

}  // namespace healthtwin::models::calibration
