// Virtual cohorts: a researcher's spec (population distributions, arms, days, seed) becomes a
// virtual trial on the long-horizon twin with the pharmacology library.
//
// Design: every virtual patient receives every arm (a crossover-style virtual trial with no
// carry-over: each arm starts from the same resting patient), so each arm's n equals the patient
// count and arm differences are paired. `allocation = kRandomized` instead assigns each patient
// to one arm uniformly at random (a parallel-group trial); each arm reports its own n.
// The trial layer (trial.h, `CohortSpec::trial`, on by default) adds office measurement noise, a
// visit schedule, screening on a noisy SBP (regression to the mean), a placebo response and
// dropout and, switched on, adherence (trial_patient.h: doses taken, stopping) and a patient-level
// factor on the drug response; the summaries then report the office (measured) values. With the trial layer off a
// placebo arm (no treatments) stays exactly at baseline.
//
// Population: SBP and DBP are bivariate normal (correlation `sbp_dbp_correlation`), HR, age and
// weight normal, sex Bernoulli(female_fraction); each is truncated to plausible bounds by
// redrawing (up to 64 times, then clamped): SBP 90-220, DBP 50-130 mmHg with 20 <= SBP-DBP <= 100,
// HR 45-120 /min, age 18-90 years, weight 40-180 kg. Each patient also draws a drug-response
// sensitivity per class (log-normal, SD of log kResponseSensitivityLogSd, as the what-if).
//
// Personalisation (the surrogate; models/README.md, "Treatment simulation"): a SteadyStateMap per
// patient costs ~0.6 s, so patients share archetype maps, one per sex × BP tier (tiers at SBP/DBP
// 115/75, 130/82, 145/89, 160/95, 175/100, 190/105; the tier with the nearest SBP), each fitted
// with FitToTargets (HR 72) and built once, in parallel, only for the tiers in use (and kept for
// the life of the process: later cohorts reuse them). A patient's
// resting state on the archetype: the set point resets by the MAP difference (as FitToTargets
// does), systemic-resistance and heart-rate factors are solved on the map so MAP and HR match the
// patient's, and the pulse pressure is matched by the pulse-pressure scale (arterial stiffness,
// which the map does not carry). Baseline SBP/DBP/HR therefore match the drawn values to 0.05
// mmHg / 0.05 bpm; the error is in the response (bench: --surrogate-check).
//
// End of study: the trough of the last day (course.h), just before the next dose. Flags per
// patient and arm as in the what-if (course.h, FlagsOf: SBP < 90, HR < 50, weight > 3 % down,
// reached under the arm's treatment, so a placebo arm raises none).
//
// Determinism: each patient's draws come from (seed, patient index) and results are collected
// per index, so the same spec gives bit-identical results with any thread count.
//
// Shards: RunCohortShard simulates one contiguous block of patient indices (CohortShardRange);
// because every random stream depends only on the seed and the patient index, the rows of shard
// I/N are exactly those rows of the unsharded run. SummariseCohort over the concatenated rows of
// all shards (in shard order) is the unsharded run's own summary, bit for bit (cohort_part.h has
// the file that carries a shard between processes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/patient.h"
#include "models/treatment/course.h"
#include "models/treatment/parallel.h"
#include "models/treatment/treatment_option.h"
#include "models/treatment/trial.h"

namespace healthtwin::models::treatment {

struct NormalSpec {
  double mean = 0.0;
  double sd = 0.0;  // >= 0; 0 = everyone at the mean
};

struct PopulationSpec {
  NormalSpec sbp_mmhg{150.0, 14.0};
  NormalSpec dbp_mmhg{92.0, 9.0};
  NormalSpec heart_rate_bpm{72.0, 10.0};
  NormalSpec age_years{58.0, 11.0};
  NormalSpec weight_kg{82.0, 15.0};
  double female_fraction = 0.5;
  double sbp_dbp_correlation = 0.6;
};

struct ArmTreatment {
  std::string drug;
  double dose_mg = 0.0;
  double interval_h = 24.0;
  bool off_label = false;
};

struct ArmSpec {
  std::string name;
  std::vector<ArmTreatment> treatments;  // empty: placebo
};

enum class Allocation { kEveryArm, kRandomized };

struct CohortSpec {
  std::uint64_t seed = 1;
  int patients = 100;  // 1..1,000,000, and patients × arms (every-arm design) <= 2,000,000
  int days = 30;       // 1..365
  PopulationSpec population;
  std::vector<ArmSpec> arms;  // 1..20, unique non-empty names
  Target target;
  Allocation allocation = Allocation::kEveryArm;
  TrialSpec trial;  // all on by default; TrialSpec::Off() for the plain cohort
};

// Baseline and end-of-study means of one quantity in one arm's analysed patients, and the mean
// change with its SD and 95 % confidence interval (Student t on the per-patient changes; 0 width
// when n < 2).
struct MeanChange {
  double baseline_mean = 0.0;
  double end_mean = 0.0;
  double mean_change = 0.0;
  double ci95_low = 0.0;
  double ci95_high = 0.0;
  double sd_change = 0.0;  // sample SD (n - 1); 0 when n < 2
};

// An arm's mean change minus the control arm's, with its 95 % CI: for `every_arm` the paired
// per-patient differences (Student t, n - 1 df); for `randomized` two independent groups
// (pooled SD, Student t with n1 + n2 - 2 df).
struct MeanDifference {
  double difference = 0.0;
  double ci95_low = 0.0;
  double ci95_high = 0.0;
};

struct PlaceboAdjusted {
  int control_arm = -1;  // the first arm without treatments; -1: none (nothing adjusted)
  MeanDifference sbp_mmhg, dbp_mmhg;
};

struct ArmSummary {
  std::string name;
  int n = 0;         // patients in the arm
  int analysed = 0;  // patients in the change summaries (all under LOCF; completers otherwise)
  int dropouts = 0;  // patients who missed the last visit
  MeanChange sbp_mmhg;
  MeanChange dbp_mmhg;
  MeanChange heart_rate_bpm;
  double target_attainment_fraction = 0.0;
  int hypotension_count = 0;
  int bradycardia_count = 0;
  int volume_loss_count = 0;
  PlaceboAdjusted placebo_adjusted;  // control_arm -1 for the control arm itself
};

struct PatientRow {
  int patient = 0;  // 0-based index
  int arm = 0;      // index into CohortSpec::arms
  Sex sex = Sex::kMale;
  double age_years = 0.0;
  double weight_kg = 0.0;
  // The values drawn from the population; the simulated baseline matches them (surrogate).
  double drawn_sbp_mmhg = 0.0, drawn_dbp_mmhg = 0.0, drawn_heart_rate_bpm = 0.0;
  double baseline_sbp_mmhg = 0.0, baseline_dbp_mmhg = 0.0, baseline_heart_rate_bpm = 0.0;
  double end_sbp_mmhg = 0.0, end_dbp_mmhg = 0.0, end_heart_rate_bpm = 0.0;
  double min_sbp_mmhg = 0.0, min_heart_rate_bpm = 0.0;
  double weight_change_percent = 0.0;  // end of study
  bool at_target = false;
  bool hypotension = false, bradycardia = false, volume_loss = false;
  bool extrapolated = false;  // the patient left the steady-state map (less accurate)
  // What the trial measured (trial.h); with the trial layer off, the simulated values above.
  double screen_sbp_mmhg = 0.0;
  double office_baseline_sbp_mmhg = 0.0, office_baseline_dbp_mmhg = 0.0;
  double office_end_sbp_mmhg = 0.0, office_end_dbp_mmhg = 0.0;
  int last_visit_day = 0;
  bool completed = true;
  double doses_taken_fraction = 1.0;  // drug doses taken / scheduled in the arm (1 with none scheduled)
};

struct CohortResult {
  std::vector<ArmSummary> arms;  // in spec order
  std::vector<PatientRow> rows;  // by patient, then arm
  int archetypes_built = 0;
};

// A shard of a cohort: index 0..count-1 of count contiguous blocks of patient indices.
struct CohortShard {
  int index = 0;
  int count = 1;
};

// Patients [begin, end) of a shard: begin = floor(patients * index / count). Blocks differ in
// size by at most one patient and cover 0..patients-1 in order.
struct PatientRange {
  int begin = 0;
  int end = 0;
};

struct CohortRunOptions {
  int threads = 0;  // 0 = all cores
  ProgressFn progress;
};

// InvalidArgument naming the field ("arms[1].treatments[0].dose_mg: ...", "population.sbp_mmhg.sd: ...").
absl::Status ValidateCohortSpec(const CohortSpec& spec);

// Errors: InvalidArgument (spec), Cancelled, Internal if an archetype cannot be fitted.
absl::StatusOr<CohortResult> RunCohort(const CohortSpec& spec, const CohortRunOptions& options = {});

// InvalidArgument naming "--shard" unless 0 <= index < count <= patients (no empty shard).
absl::Status ValidateCohortShard(const CohortSpec& spec, CohortShard shard);
// The shard's patients (shard assumed valid).
PatientRange CohortShardRange(int patients, CohortShard shard);

// One shard's rows (patients in `range` order, then arm, as in CohortResult::rows) and the
// archetype maps its patients use (indices 0..11, ascending; the unsharded run builds the union).
struct CohortShardResult {
  CohortShard shard;
  PatientRange range;
  std::vector<PatientRow> rows;
  std::vector<int> archetypes;
};
// Errors as RunCohort, and InvalidArgument for a bad shard.
absl::StatusOr<CohortShardResult> RunCohortShard(const CohortSpec& spec, CohortShard shard,
                                                 const CohortRunOptions& options = {});

// Per-arm summaries (spec order) of the rows of a whole cohort; RunCohort's own summary.
std::vector<ArmSummary> SummariseCohort(const CohortSpec& spec, const std::vector<PatientRow>& rows);

// One virtual patient of a cohort as RunCohort simulates it (the surrogate on its archetype),
// with the drawn demographics and resting values; for tests and the surrogate check in the bench.
struct CohortPatient {
  VirtualPerson person;
  Demographics demographics;  // height is a fixed 170 cm (unused by the surrogate)
  RestingTargets targets;     // the drawn HR, SBP and DBP
};
absl::StatusOr<CohortPatient> MakeCohortPatient(const CohortSpec& spec, int index);

// What patient `index` draws from the population, without building its archetype (the first
// step of MakeCohortPatient and RunCohort): for tests of the sampler. Errors as MakeCohortPatient.
struct PopulationDraw {
  Sex sex = Sex::kMale;
  double sbp_mmhg = 0.0, dbp_mmhg = 0.0, heart_rate_bpm = 0.0, age_years = 0.0, weight_kg = 0.0;
  pharma::ResponseSensitivity sensitivity;
  double screen_sbp_mmhg = 0.0;  // the screening visit's SBP (the drawn SBP without screening)
  int candidate = 0;             // candidates screened out before this one
};
absl::StatusOr<PopulationDraw> DrawPopulation(const CohortSpec& spec, int index);

// Per-patient CSV. The header line names the columns: patient,arm,sex,age_years,weight_kg,
// baseline_sbp_mmhg,baseline_dbp_mmhg,baseline_heart_rate_bpm,end_sbp_mmhg,end_dbp_mmhg,
// end_heart_rate_bpm,delta_sbp_mmhg,delta_dbp_mmhg,delta_heart_rate_bpm,min_sbp_mmhg,
// min_heart_rate_bpm,weight_change_percent,at_target,hypotension,bradycardia,volume_loss,extrapolated
// With the trial layer on (any feature), these follow: screen_sbp_mmhg,office_baseline_sbp_mmhg,
// office_baseline_dbp_mmhg,office_end_sbp_mmhg,office_end_dbp_mmhg,office_delta_sbp_mmhg,
// office_delta_dbp_mmhg,last_visit_day,completed,doses_taken_fraction.
std::string PerPatientCsvHeader();  // the plain cohort's
std::string PerPatientCsvHeader(const CohortSpec& spec);
// One line (with its newline); arm names are quoted as CSV requires.
std::string PerPatientCsvRow(const CohortSpec& spec, const PatientRow& row);
// Header plus rows [offset, offset + limit) (limit < 0: all).
std::string PerPatientCsv(const CohortSpec& spec, const CohortResult& result, int offset = 0, int limit = -1);

}  // namespace healthtwin::models::treatment
