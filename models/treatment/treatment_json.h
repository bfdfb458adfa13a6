// JSON for treatment simulation: the cohort spec and the what-if options file in, results out.
// A separate library (healthtwin::treatment_io) so the simulation core stays free of JSON; the
// command line and the SimulationService both use it. Formats: docs/simulation-specs.md.
//
// Parsing is strict: unknown fields, wrong types and missing required fields are
// InvalidArgument errors that name the field ("arms[1].treatments[0].dose_mg: must be a number").
// The parsed spec is also validated (ValidateCohortSpec / ValidateWhatIfSpec), so a returned spec
// is ready to run. Stateless; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "absl/status/statusor.h"
#include "models/treatment/cohort.h"
#include "models/treatment/whatif.h"

namespace healthtwin::models::treatment {

// Cohort spec: {"seed", "patients", "days", "population": {...}, "arms": [...], optional
// "target", "allocation"}.
absl::StatusOr<CohortSpec> ParseCohortSpec(std::string_view json_text);
nlohmann::json CohortSpecToJson(const CohortSpec& spec);  // parses back to the same spec

// What-if options file: {"options": [...], optional "target", "flag_fraction", "posterior"}.
// days, ensemble size and seed come from the caller (command-line flags or the request), and are
// taken from `defaults`, which is validated together with the file.
absl::StatusOr<WhatIfSpec> ParseWhatIfOptions(std::string_view json_text, const WhatIfSpec& defaults);

// Results. Cohort: {"arms": [...], "patients", "days", "seed", "archetypes_built"}; what-if:
// {"twin_version", "ensemble_source", "days", "ensemble_size", "options": [...]} in rank order.
nlohmann::json CohortResultToJson(const CohortSpec& spec, const CohortResult& result);
nlohmann::json WhatIfResultToJson(const WhatIfResult& result);

}  // namespace healthtwin::models::treatment
