// The twin's patient model from the registry row, and a cache of observation models.
//
// A twin needs the patient's nominal ModelParams (demographics + conditions) and a
// SteadyStateMap built from them (about 0.7 s at -O2, 6 s in a Debug build). Patients of one
// archetype share a map: the key rounds age to 5 years and height to 5 cm, and uses the sex and
// the sorted condition set. The rounding error is small against the twin parameters' own
// spread (they are factors relative to this nominal patient, fitted to the patient's data).
// Defaults when the registry lacks a value: age 55 years, height 170 cm; sex other than
// female is modelled as male. The nominal weight is 75 kg (blood volume by Nadler); the twin
// learns the patient's weight reference from the data.
//
// ModelCache is thread-safe; Get builds a missing map under the cache's lock (one build at a
// time, so concurrent first requests for one archetype never build twice). The cache grows
// with the number of archetypes (2 sexes x ages x heights x condition sets: hundreds at most).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/statusor.h"
#include "models/calibration/observation_model.h"
#include "models/calibration/twin.h"

namespace healthtwin::twin {

// The registry's patients row (services/common/db/migrations/0002).
struct PatientRecord {
  int sex = 0;                     // registry.v1.Sex: 1 female, 2 male, 0/3 unspecified/other
  std::optional<int> age_years;    // from birth_year
  std::optional<double> height_cm;
  std::vector<int> conditions;     // registry.v1.Condition values
  bool registered = true;          // false: not in the registry (defaults used)
};

// Reads the registry's patients row inside `tx`; registered = false when there is none. The
// twin service and the simulation service's what-if both build the nominal patient from it.
PatientRecord LoadPatientRecord(pqxx::work& tx, const std::string& patient_id);

// registry.v1.Condition -> models::Condition; nullopt for unspecified or unknown values.
std::optional<models::Condition> ToModelCondition(int registry_condition);

// The nominal patient a twin is calibrated against: rounded demographics (the archetype key)
// and the registry's conditions. The what-if engine (services/simulation) builds the same
// nominal model when it draws from a twin's posterior, so the parameters mean the same thing.
struct NominalPatient {
  models::Demographics demographics;
  std::vector<models::Condition> conditions;  // sorted, unique
  std::string key;                            // e.g. "male/55y/170cm/hfref"
};
NominalPatient NominalFor(const PatientRecord& patient);
// PatientFromDemographics + each condition in turn (about 1 s in a Debug build: it settles the
// engine). FAILED_PRECONDITION naming the archetype when the model cannot be built.
absl::StatusOr<models::ModelParams> NominalParams(const NominalPatient& nominal);

struct TwinSetup {
  models::ModelParams nominal;  // the patient's nominal model (the map is built from it)
  std::shared_ptr<const models::calibration::ObservationModel> model;
  models::calibration::TwinPrior prior;
  std::string archetype;  // the cache key, e.g. "male/55y/170cm/hfref"
};

class ModelCache {
 public:
  // FailedPrecondition when the patient's model cannot be built (e.g. an impossible
  // demographic); the message names the patient's values.
  absl::StatusOr<TwinSetup> Get(const PatientRecord& patient);
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  struct Cached {
    models::ModelParams nominal;
    std::shared_ptr<const models::calibration::ObservationModel> model;
  };
  std::map<std::string, Cached> models_;
};

}  // namespace healthtwin::twin
