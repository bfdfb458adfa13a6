#include "models/patient_file.h"

#include <fstream>
#include <map>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace healthtwin::models {
namespace {

using nlohmann::json;

// Command-line names of the conditions.
const std::map<std::string, Condition>& ConditionFlags() {
  static const std::map<std::string, Condition> m = {
      {"hypertension1", Condition::kHypertensionStage1}, {"hypertension2", Condition::kHypertensionStage2},
      {"hfref", Condition::kHfref},                      {"hfpef", Condition::kHfpef},
      {"hypovolaemia", Condition::kHypovolaemia},        {"af", Condition::kAtrialFibrillation}};
  return m;
}

absl::StatusOr<Condition> ConditionFromFlagOrName(const std::string& name) {
  if (auto it = ConditionFlags().find(name); it != ConditionFlags().end()) return it->second;
  return ParseCondition(name);  // the long names work too
}

absl::StatusOr<double> Number(const json& obj, const char* field, const std::string& where) {
  const json& v = obj.at(field);
  if (!v.is_number()) return absl::InvalidArgumentError(absl::StrCat(where, field, " must be a number"));
  return v.get<double>();
}

// Reads a patient file; every error names the file and the field.
absl::StatusOr<PatientModel> LoadPatientFile(const std::string& path, std::vector<std::string>& conditions,
                                             bool& salt_sensitive) {
  std::ifstream f(path);
  if (!f) return absl::InvalidArgumentError(absl::StrCat("--patient: cannot read '", path, "'"));
  json j = json::parse(f, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return absl::InvalidArgumentError(absl::StrCat("--patient ", path, ": not valid JSON"));
  if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat("--patient ", path, ": expected a JSON object"));
  const std::string where = absl::StrCat("--patient ", path, ": field ");
  static const std::set<std::string> kKnown = {"age_years", "sex",        "height_cm",     "weight_kg",
                                               "targets",   "conditions", "salt_sensitive"};
  for (const auto& [key, value] : j.items()) {
    if (!kKnown.contains(key)) {
      return absl::InvalidArgumentError(absl::StrCat(where, key, " is unknown (expected one of age_years, sex, "
                                                     "height_cm, weight_kg, targets, conditions, salt_sensitive)"));
    }
  }
  Demographics d;
  for (auto [field, into] : {std::pair{"age_years", &d.age_years}, {"height_cm", &d.height_cm},
                             {"weight_kg", &d.weight_kg}}) {
    if (!j.contains(field)) continue;
    absl::StatusOr<double> v = Number(j, field, where);
    if (!v.ok()) return v.status();
    *into = *v;
  }
  if (j.contains("sex")) {
    const json& s = j["sex"];
    if (!s.is_string() || (s != "female" && s != "male")) {
      return absl::InvalidArgumentError(absl::StrCat(where, "sex must be \"female\" or \"male\""));
    }
    d.sex = s == "female" ? Sex::kFemale : Sex::kMale;
  }
  RestingTargets t;
  if (j.contains("targets")) {
    const json& tj = j["targets"];
    if (!tj.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, "targets must be an object"));
    for (const auto& [key, value] : tj.items()) {
      std::optional<double>* into = key == "heart_rate_bpm" ? &t.heart_rate_bpm
                                    : key == "sbp_mmhg"     ? &t.sbp_mmhg
                                    : key == "dbp_mmhg"     ? &t.dbp_mmhg
                                                            : nullptr;
      if (into == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "targets.", key, " is unknown (expected heart_rate_bpm, sbp_mmhg, dbp_mmhg)"));
      }
      if (!value.is_number()) return absl::InvalidArgumentError(absl::StrCat(where, "targets.", key, " must be a number"));
      *into = value.get<double>();
    }
  }
  if (j.contains("conditions")) {
    const json& cj = j["conditions"];
    if (!cj.is_array()) return absl::InvalidArgumentError(absl::StrCat(where, "conditions must be an array of names"));
    std::vector<std::string> from_file;
    for (const json& c : cj) {
      if (!c.is_string()) return absl::InvalidArgumentError(absl::StrCat(where, "conditions must hold strings"));
      from_file.push_back(c.get<std::string>());
    }
    conditions.insert(conditions.begin(), from_file.begin(), from_file.end());
  }
  if (j.contains("salt_sensitive")) {
    if (!j["salt_sensitive"].is_boolean()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "salt_sensitive must be true or false"));
    }
    salt_sensitive = salt_sensitive || j["salt_sensitive"].get<bool>();
  }
  absl::StatusOr<ModelParams> p = PatientFromDemographics(d, t);
  if (!p.ok()) return absl::InvalidArgumentError(absl::StrCat(where, p.status().message()));
  return PatientModel{*p, LongHorizonParamsFor(d), d};
}

}  // namespace

std::vector<std::string> ConditionFlagNames() {
  std::vector<std::string> names;
  for (const auto& [name, c] : ConditionFlags()) names.push_back(name);
  return names;
}

absl::StatusOr<PatientModel> BuildPatientModel(const std::string& patient, std::vector<std::string> conditions,
                                               bool salt_sensitive) {
  PatientModel p{StandardAdult(), LongHorizonParams{}, Demographics{}};
  if (patient != "standard") {
    absl::StatusOr<PatientModel> loaded = LoadPatientFile(patient, conditions, salt_sensitive);
    if (!loaded.ok()) return loaded.status();
    p = *loaded;
  }
  for (const std::string& name : conditions) {
    absl::StatusOr<Condition> c = ConditionFromFlagOrName(name);
    if (!c.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--condition: unknown '", name,
                                                     "' (expected hypertension1, hypertension2, hfref, hfpef, "
                                                     "hypovolaemia, af)"));
    }
    if (absl::Status s = ApplyCondition(*c, p.params); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--condition ", name, ": ", s.message()));
    }
  }
  if (salt_sensitive) p.long_horizon = SaltSensitive(p.long_horizon);
  return p;
}

}  // namespace healthtwin::models
