// Validation rows for the trial layer (trial.h) in models/VALIDATION.md, "Virtual trial": a
// simulated placebo-controlled parallel trial of about 200 per arm against the spread and
// placebo response that published trials of that size report. healthtwin-model-validate writes
// them after the pharmacology rows; ValidationGoldenTest compares them with the committed file.
#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "models/treatment/cohort.h"
#include "models/validation.h"

namespace healthtwin::models::treatment {

// The trial that the rows run: 400 men randomized 1:1 to placebo or amlodipine 10 mg for 56
// days (visits every 14 days), SBP 150 ± 2, DBP 92 ± 4 mmHg, the trial layer's defaults, seed 2015.
CohortSpec TrialValidationSpec();

absl::StatusOr<std::vector<ValidationRow>> RunTrialValidation();

}  // namespace healthtwin::models::treatment
