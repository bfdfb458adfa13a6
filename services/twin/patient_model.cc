#include "services/twin/patient_model.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "models/calibration/prior.h"
#include "models/patient.h"
#include "services/common/pg.h"

namespace healthtwin::twin {
namespace {

namespace mc = healthtwin::models::calibration;
namespace models = healthtwin::models;

constexpr double kDefaultAgeYears = 55.0;
constexpr double kDefaultHeightCm = 170.0;
constexpr double kNominalWeightKg = 75.0;

}  // namespace

PatientRecord LoadPatientRecord(pqxx::work& tx, const std::string& patient_id) {
  PatientRecord rec;
  auto p = tx.exec_params(
      "SELECT sex, birth_year, height_cm, array_to_string(conditions, ','), extract(year FROM now())::int"
      " FROM patients WHERE patient_id = $1",
      patient_id);
  if (p.empty()) {
    rec.registered = false;
    return rec;
  }
  rec.sex = p[0][0].as<int>();
  if (!p[0][1].is_null()) rec.age_years = p[0][4].as<int>() - p[0][1].as<int>();
  if (!p[0][2].is_null()) rec.height_cm = p[0][2].as<double>();
  for (double c : common::ParseNumberList(p[0][3].as<std::string>())) rec.conditions.push_back(static_cast<int>(c));
  return rec;
}

std::optional<models::Condition> ToModelCondition(int c) {
  switch (c) {
    case 1: return models::Condition::kHypertensionStage1;
    case 2: return models::Condition::kHypertensionStage2;
    case 3: return models::Condition::kHfref;
    case 4: return models::Condition::kHfpef;
    case 5: return models::Condition::kAtrialFibrillation;
    default: return std::nullopt;
  }
}

NominalPatient NominalFor(const PatientRecord& patient) {
  NominalPatient n;
  models::Demographics& d = n.demographics;
  d.sex = patient.sex == 1 ? models::Sex::kFemale : models::Sex::kMale;
  d.age_years = std::clamp(5.0 * std::round(patient.age_years.value_or(kDefaultAgeYears) / 5.0), 20.0, 95.0);
  d.height_cm = std::clamp(5.0 * std::round(patient.height_cm.value_or(kDefaultHeightCm) / 5.0), 140.0, 210.0);
  d.weight_kg = kNominalWeightKg;
  for (int c : patient.conditions) {
    if (auto mcnd = ToModelCondition(c);
        mcnd && std::find(n.conditions.begin(), n.conditions.end(), *mcnd) == n.conditions.end()) {
      n.conditions.push_back(*mcnd);
    }
  }
  std::sort(n.conditions.begin(), n.conditions.end());
  n.key = absl::StrCat(d.sex == models::Sex::kFemale ? "female" : "male", "/", d.age_years, "y/", d.height_cm, "cm");
  for (models::Condition c : n.conditions) absl::StrAppend(&n.key, "/", std::string(models::ConditionName(c)));
  return n;
}

absl::StatusOr<models::ModelParams> NominalParams(const NominalPatient& n) {
  absl::StatusOr<models::ModelParams> params = models::PatientFromDemographics(n.demographics);
  if (!params.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("patient model ", n.key, ": ", params.status().message()));
  }
  for (models::Condition c : n.conditions) {
    if (absl::Status s = models::ApplyCondition(c, *params); !s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("patient model ", n.key, ": ", s.message()));
    }
  }
  return params;
}

absl::StatusOr<TwinSetup> ModelCache::Get(const PatientRecord& patient) {
  const NominalPatient nominal = NominalFor(patient);
  const models::Demographics& d = nominal.demographics;
  const std::vector<models::Condition>& conditions = nominal.conditions;
  const std::string& key = nominal.key;

  TwinSetup setup;
  setup.archetype = key;
  setup.prior.population = mc::PriorFor({d.age_years, d.sex, conditions});
  setup.prior.reference_weight_kg = std::nullopt;  // learnt from the data

  std::lock_guard lock(mu_);
  if (auto it = models_.find(key); it != models_.end()) {
    setup.nominal = it->second.nominal;
    setup.model = it->second.model;
    return setup;
  }
  absl::StatusOr<models::ModelParams> params = NominalParams(nominal);
  if (!params.ok()) return params.status();
  absl::StatusOr<std::shared_ptr<const mc::ObservationModel>> model = mc::ObservationModel::Create(*params);
  if (!model.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("patient model ", key, ": ", model.status().message()));
  }
  models_.emplace(key, Cached{*params, *model});
  setup.nominal = *params;
  setup.model = *model;
  return setup;
}

std::size_t ModelCache::size() const {
  std::lock_guard lock(mu_);
  return models_.size();
}

}  // namespace healthtwin::twin
