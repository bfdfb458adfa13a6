// What-if: one patient's twin, N treatment options, D days, with uncertainty bands.
//
// Every option is simulated for every ensemble member with SimulateCourse (course.h: trough and
// peak definitions). Members are drawn from the twin's posterior (TwinPosterior, the contract with
// calibration) when given, else from WhatIfPrior(); each member also draws its drug-response
// sensitivity per class (below). The same members (and adherence draws) are used for every
// option, so options differ only by the treatment (common random numbers).
//
// A member's parameters are its resting state relative to the patient's nominal model
// (RestingState: effector factors, blood-volume factor, set-point offset; log_arterial_compliance
// becomes a pulse-pressure scale exp(-x)); LongHorizonModel::CreateAtRest makes that resting
// state an equilibrium, with the pressure-natriuresis curve centred on the member's own resting
// MAP (otherwise the kidney would undo a raised resistance within days; see models/README.md,
// "Treatment simulation"). One SteadyStateMap, built once for the patient, serves all members.
//
// Bands: per day, the ensemble mean and the 5th and 95th percentiles (linear interpolation
// between order statistics) of each quantity; day 0 is the resting state before any dose.
// Quantities: {trough,peak}_{systolic_mmhg,diastolic_mmhg,heart_rate_bpm,
// cardiac_output_l_per_min,weight_kg}.
//
// Ranking: options with no safety flag before flagged ones, then by target attainment
// (descending), then by mean end-of-study trough SBP (ascending), then input order. A member is
// at target when its end-of-study trough SBP and DBP are both below the target. A member's flags
// are those of its course (course.h, FlagsOf: SBP < 90 mmHg, HR < 50 /min, weight down > 3 %,
// reached under treatment); an option carries a flag when at least `flag_fraction` (default
// 10 %) of members have it.
//
// Threads: RunWhatIf uses `threads` worker threads (0 = all cores); results do not depend on it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/long_horizon.h"
#include "models/patient.h"
#include "models/steady_state_map.h"
#include "models/treatment/parallel.h"
#include "models/treatment/random.h"
#include "models/treatment/treatment_option.h"
#include "models/twin_posterior.h"

namespace healthtwin::models::treatment {

// The documented prior used until calibration exists (models/README.md, "Treatment
// simulation"): independent normals, mean 0, on log_resistance (SD 0.05), log_contractility
// (0.10), log_heart_rate (0.05), log_blood_volume (0.05) and set_point_offset_mmhg (4 mmHg).
// version 0, source "prior:models/README.md#treatment-simulation".
TwinPosterior WhatIfPrior();

// SD of the log of each class's response sensitivity (pharma::ResponseSensitivity), drawn
// independently per member and class, truncated at ±3 SD (factors 0.26-3.9): 0.45, i.e. a
// coefficient of variation of about 47 %
// (models/README.md: true inter-individual response SD ~ 5-6 mmHg SBP for a ~10-12 mmHg mean fall).
inline constexpr double kResponseSensitivityLogSd = 0.45;

// One member's (or cohort patient's) sensitivities: exp(kResponseSensitivityLogSd * z) per class,
// z a standard normal truncated at ±3 by redrawing. Used by the what-if and the cohorts.
pharma::ResponseSensitivity DrawResponseSensitivity(Rng& rng);

struct WhatIfPatient {
  ModelParams params;
  LongHorizonParams long_horizon;
  Demographics demographics;                  // age and weight for the PK covariates
  std::shared_ptr<const SteadyStateMap> map;  // optional: built from `params` when null
};

struct WhatIfSpec {
  std::vector<TreatmentOption> options;  // 1..20, unique non-empty names
  int days = 30;                         // 1..365
  Target target;
  int ensemble_size = 50;  // 1..1000; 1 = the posterior mean with typical response
  std::uint64_t seed = 1;
  std::optional<TwinPosterior> posterior;  // the twin's; WhatIfPrior() when empty
  double flag_fraction = 0.10;             // (0, 1]
  int threads = 0;                         // 0 = all cores
};

enum class SafetyFlag { kHypotension, kBradycardia, kVolumeLoss };

// An option carries a flag when at least `flag_fraction` of its members have it
// (members_with_flag / members >= flag_fraction; members > 0).
bool OptionFlagged(int members_with_flag, int members, double flag_fraction);
// "hypotension", "bradycardia", "volume_loss".
std::string_view SafetyFlagName(SafetyFlag flag);

struct DailyBand {
  int day = 0;  // 0 = resting state before the first dose
  double mean = 0.0;
  double lower = 0.0;  // 5th percentile
  double upper = 0.0;  // 95th percentile
};

struct Trajectory {
  std::string quantity;  // e.g. "trough_systolic_mmhg"
  std::vector<DailyBand> days;
};

struct OptionResult {
  std::string name;
  int input_index = 0;  // position in WhatIfSpec::options
  int rank = 0;         // 1 = best
  double target_attainment_fraction = 0.0;
  std::vector<SafetyFlag> safety_flags;
  // Fraction of members with each flag, indexed by SafetyFlag.
  double hypotension_fraction = 0.0;
  double bradycardia_fraction = 0.0;
  double volume_loss_fraction = 0.0;
  double mean_end_trough_sbp_mmhg = 0.0;
  double mean_end_trough_dbp_mmhg = 0.0;
  double mean_doses_taken_fraction = 1.0;  // taken / scheduled, ensemble mean (1 with no drugs)
  bool extrapolated = false;               // some member left the steady-state map (less accurate)
  std::vector<Trajectory> trajectories;
};

struct WhatIfResult {
  std::uint64_t twin_version = 0;  // of the posterior used (0: the prior)
  std::string ensemble_source;     // TwinPosterior::source
  int days = 0;
  int ensemble_size = 0;
  std::vector<OptionResult> options;  // sorted by rank
};

// Sorts by the ranking rule above (flags, attainment, mean end trough SBP, input order) and sets
// each option's rank (1 = best).
void RankOptions(std::vector<OptionResult>& options);

// InvalidArgument naming the field ("options[1].drugs[0].dose_mg: ...", "days: ...").
absl::Status ValidateWhatIfSpec(const WhatIfSpec& spec);

// Validates, builds the map if needed, simulates and ranks. Errors: InvalidArgument (spec,
// posterior names or shape), Cancelled (progress returned false), others from the model.
absl::StatusOr<WhatIfResult> RunWhatIf(const WhatIfPatient& patient, const WhatIfSpec& spec,
                                       const ProgressFn& progress = {});

}  // namespace healthtwin::models::treatment
