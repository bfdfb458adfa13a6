// A stored cohort result (models/treatment's CohortResultToJson, the simulation_jobs row's
// result_json) as the CohortResults message GetCohortResults returns: per-arm mean changes with
// their SD and 95 % CI, analysed patients and dropouts, and each active arm's placebo-adjusted
// difference with its CI.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "healthtwin/simulation/v1/simulation.pb.h"

namespace healthtwin::simulation {

// Fills `out`'s days, seed, arms and placebo_arm. Results stored before the trial layer have no
// sd_change, analysed, dropouts or placebo_adjusted: those read as 0, every patient, 0 and none.
// DataLoss when the text is not a cohort result.
absl::Status CohortResultFromJson(const std::string& result_json, healthtwin::simulation::v1::CohortResults& out);

}  // namespace healthtwin::simulation
