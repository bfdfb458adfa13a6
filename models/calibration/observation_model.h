// The observation model of twin calibration: what a patient with twin parameters theta shows
// on wearables, from the patient's own SteadyStateMap.
//
// theta (kTwinParams order) = log resistance factor, log blood-volume factor, set-point offset
// (mmHg), log heart-rate factor, log contractility factor, relative to the patient's nominal
// model. The first three are the identifiable set of the analysis in identifiability.h; the
// last two are consider parameters held near their population prior (models/README.md,
// "Identifiability and calibration"). Arterial compliance is not a twin parameter (it barely
// moves the wearable observables: importance 0.22 against 0.57-1.90 for the others).
//
//   HR, SBP, DBP = SteadyStateMap(BV0 * e^v, Pn0 + s, {HR e^h, Emax e^c, R e^r})
//   weight_kg    = w_ref + (14/3) * BV0 * (e^v - 1) / 1000
// Weight follows blood volume as in the long-horizon layer: plasma is 3/14 of the
// extracellular fluid and red-cell mass is constant, so a blood-volume change dBV comes with
// an isotonic extracellular (and body-water, 1 kg/L) change of 14/3 dBV. w_ref, the weight at
// the nominal blood volume, is a nuisance state: weight informs changes of v, not its level.
//
// The map is built once per patient (about 0.7 s at -O2) or shared by patients of one archetype.
// Ownership and threads: immutable after Create; share it (shared_ptr) across twins and threads.
#pragma once

#include <array>
#include <memory>

#include "absl/status/statusor.h"
#include "models/calibration/parameters.h"
#include "models/circulation_params.h"
#include "models/steady_state_map.h"

namespace healthtwin::models::calibration {

inline constexpr int kNumTwinParams = 5;
inline constexpr int kNumIdentifiableParams = 3;
inline constexpr std::array<Param, kNumTwinParams> kTwinParams = {
    Param::kLogResistance, Param::kLogBloodVolume, Param::kSetPointOffset, Param::kLogHeartRate,
    Param::kLogContractility};
using ParamVector = std::array<double, kNumTwinParams>;

// Kilograms of body weight per millilitre of blood-volume change (see above).
inline constexpr double kWeightKgPerMlBlood = 14.0 / 3.0 / 1000.0;

struct ModelledVitals {
  double heart_rate_bpm = 0.0;
  double sbp_mmhg = 0.0;
  double dbp_mmhg = 0.0;
  double blood_volume_change_ml = 0.0;
  bool extrapolated = false;  // the map left its grid
};

class ObservationModel {
 public:
  // Builds the patient's SteadyStateMap.
  static absl::StatusOr<std::shared_ptr<const ObservationModel>> Create(const ModelParams& nominal);
  // Reuses a map built for the same nominal model (archetypes, tests, benchmarks).
  static std::shared_ptr<const ObservationModel> FromMap(std::shared_ptr<const SteadyStateMap> map);

  ModelledVitals At(const ParamVector& theta) const;
  // The modelled value of a map-driven vital (HR, SBP, DBP) or the weight with `weight_ref_kg`.
  // Precondition: vital is not SpO2 or temperature.
  double Value(Vital vital, const ParamVector& theta, double weight_ref_kg) const;

  const SteadyStateMap& map() const { return *map_; }

 private:
  explicit ObservationModel(std::shared_ptr<const SteadyStateMap> map) : map_(std::move(map)) {}
  std::shared_ptr<const SteadyStateMap> map_;
};

// True when `vital` is modelled by the twin parameters (HR, SBP, DBP, weight).
constexpr bool IsModelled(Vital v) { return v != Vital::kSpo2 && v != Vital::kTemperature; }

}  // namespace healthtwin::models::calibration
