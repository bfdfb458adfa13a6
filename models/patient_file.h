// Patient files: the JSON description of one person used by the offline command lines
// (`healthtwin model ...`, `healthtwin sim whatif`).
//
// A patient file is a JSON object with optional fields age_years, sex ("female"|"male"),
// height_cm, weight_kg, targets {heart_rate_bpm, sbp_mmhg, dbp_mmhg}, conditions [..] and
// salt_sensitive (bool); unknown fields are errors. Conditions use the command-line names
// (hypertension1, hypertension2, hfref, hfpef, hypovolaemia, af) or the long names of
// ParseCondition. Every error is InvalidArgument and names the file and the field.
//
// Lives in its own small library (healthtwin::models_patient_file) so the core models library
// stays free of JSON. Stateless; safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/circulation_params.h"
#include "models/long_horizon.h"
#include "models/patient.h"

namespace healthtwin::models {

// A built patient: engine parameters, the long-horizon layer's parameters and the demographics
// they came from (the standard adult for "standard").
struct PatientModel {
  ModelParams params;
  LongHorizonParams long_horizon;
  Demographics demographics;
};

// Command-line condition names, sorted: af, hfpef, hfref, hypertension1, hypertension2,
// hypovolaemia.
std::vector<std::string> ConditionFlagNames();

// `patient` is "standard" or a file path. `extra_conditions` (command-line --condition values)
// are applied after the file's conditions; `salt_sensitive` ORs with the file's flag. Error
// messages start with "--patient <path>: field ..." or "--condition ...".
absl::StatusOr<PatientModel> BuildPatientModel(const std::string& patient, std::vector<std::string> extra_conditions,
                                               bool salt_sensitive);

}  // namespace healthtwin::models
