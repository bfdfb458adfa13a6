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

// The true between-patient spread of the response: the same population, every arm (placebo and
// lisinopril 20 mg), 84 days, 200 patients, the trial layer off, so each change is the simulated
// response itself. `adherence` false is the default (trial.h: the drug effects already include
// trials' adherence); true adds Vrijens 2008's phase IV adherence, a second validation row.
CohortSpec TrueResponseValidationSpec(bool adherence = false);

// True between-patient SD of the SBP response to an ACE inhibitor: 2.6 mmHg at 3 months, from the
// individual data of 28,281 patients in 7 placebo-controlled trials (Bell et al., Hypertension
// 2010;56:533); accepted half to twice that (our choice: the paper gives one estimate).
inline constexpr double kBellTrueResponseSdMmhg = 2.6;
inline constexpr double kBellTrueResponseSdLow = 1.3, kBellTrueResponseSdHigh = 5.2;
// Variance ratio of the SBP change, drug arm over placebo arm: Bell 2010's apparent SD of change
// (15.2 mmHg) over the within-person SD (14.9), 1.04; accepted its 95 % sampling range for two
// arms of 200, 1.04 × exp(±1.96 × sqrt(2/199 + 2/199)).
inline constexpr double kVarianceRatio = 1.04;
inline constexpr double kVarianceRatioLow = 0.79, kVarianceRatioHigh = 1.37;

// Trials of this size: SD of the office SBP change 11.8 mmHg (placebo, n = 116, 6-8 weeks, -5.3
// ± 1.1 SE) and DBP 6.5 (± 0.6 SE) in Mancia et al., Am J Hypertens 1995;8:311; 14.4 / 6.7 at 3
// months in the Syst-China placebo arm (n = 728; Blood Press Monit 1997;2:15). The source of every
// SD-of-change row (here and in trial_reproduction.h).
inline constexpr char kSdChangeSource[] =
    "placebo arms: SBP/DBP change SD 11.8/6.5 (Mancia, Am J Hypertens 1995;8:311, n 116) and 14.4/6.7 mmHg "
    "(Syst-China, Blood Press Monit 1997;2:15, n 728)";
// The source of every placebo-arm change row (here and in trial_reproduction.h).
inline constexpr char kPlaceboChangeSource[] =
    "placebo SBP -5.92 [-6.71, -5.14] (Patel, Hypertension 2015;65:401, 52 trials); ours adds regression to the "
    "mean from screening SBP >= 140 at the screening and baseline visits";

absl::StatusOr<std::vector<ValidationRow>> RunTrialValidation();

}  // namespace healthtwin::models::treatment
