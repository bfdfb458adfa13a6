// healthtwin-treatment-bench: speed of cohorts and what-if, each against a same-process baseline,
// and the accuracy of the cohort surrogate. Not run by ctest; run it on a quiet machine in a
// Release build:
//   build/<dir>/models/treatment/healthtwin-treatment-bench [--patients 10000] [--arms 5]
//       [--days 30] [--threads 2] [--members 50] [--options 5] [--surrogate-check 12]
// Prints one line per figure and a final JSON line.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "models/long_horizon.h"
#include "models/patient.h"
#include "models/steady_state_map.h"
#include "models/treatment/cohort.h"
#include "models/treatment/course.h"
#include "models/treatment/whatif.h"

namespace healthtwin::models::treatment {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "treatment-bench: %s\n", what.c_str());
  std::exit(1);
}

struct Args {
  int patients = 10000, arms = 5, days = 30, threads = 2, members = 50, options = 5, surrogate_check = 0;
};

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (k == "--patients")
      a.patients = v;
    else if (k == "--arms")
      a.arms = v;
    else if (k == "--days")
      a.days = v;
    else if (k == "--threads")
      a.threads = v;
    else if (k == "--members")
      a.members = v;
    else if (k == "--options")
      a.options = v;
    else if (k == "--surrogate-check")
      a.surrogate_check = v;
    else
      Die("unknown flag " + k);
  }
  return a;
}

// Five arms typical of a first-line trial; arms beyond five repeat with other doses.
std::vector<ArmSpec> Arms(int n) {
  const std::vector<ArmSpec> all = {
      {"placebo", {}},
      {"amlodipine 5", {{"amlodipine", 5, 24, false}}},
      {"lisinopril 20", {{"lisinopril", 20, 24, false}}},
      {"hydrochlorothiazide 25", {{"hydrochlorothiazide", 25, 24, false}}},
      {"metoprolol 100 bid", {{"metoprolol", 100, 12, false}}},
      {"amlodipine 10 + losartan 50", {{"amlodipine", 10, 24, false}, {"losartan", 50, 24, false}}},
  };
  std::vector<ArmSpec> out(all.begin(), all.begin() + std::min<std::size_t>(n, all.size()));
  return out;
}

// Baseline: plain long-horizon runs of `days` days (no drugs, no PK), single thread.
double PlainRunMs(const std::shared_ptr<const SteadyStateMap>& map, const ModelParams& p, int days, int reps) {
  const Clock::time_point t0 = Clock::now();
  double sink = 0;
  for (int i = 0; i < reps; ++i) {
    absl::StatusOr<LongHorizonModel> m = LongHorizonModel::Create(map, p, LongHorizonParams{});
    sink += m->AdvanceDays(days).back().map_mmhg;
  }
  if (sink == 42.0) std::puts("");
  return 1000.0 * Seconds(t0) / reps;
}

}  // namespace
}  // namespace healthtwin::models::treatment

int main(int argc, char** argv) {
  using namespace healthtwin::models;
  using namespace healthtwin::models::treatment;
  const Args args = Parse(argc, argv);

  // Baseline patient: stage 2 hypertension, its map, and plain runs.
  const Demographics demo{60, Sex::kMale, 176, 80};
  absl::StatusOr<ModelParams> params = PatientFromDemographics(demo, {72.0, 155.0, 95.0});
  if (!params.ok()) Die(std::string(params.status().message()));
  Clock::time_point t0 = Clock::now();
  auto map = std::make_shared<const SteadyStateMap>(*SteadyStateMap::Build(*params));
  const double map_build_s = Seconds(t0);
  const double plain_ms = PlainRunMs(map, *params, args.days, 300);
  std::printf("baseline: SteadyStateMap::Build %.3f s; plain %d-day long-horizon run %.3f ms\n", map_build_s, args.days,
              plain_ms);

  // What-if: options x days x members, map built inside (as a fresh request would).
  WhatIfSpec w;
  w.days = args.days;
  w.ensemble_size = args.members;
  w.threads = args.threads;
  const std::vector<ArmSpec> arms = Arms(std::max(args.options, args.arms));
  for (int i = 0; i < args.options && i < static_cast<int>(arms.size()); ++i) {
    TreatmentOption o;
    o.name = arms[i].name;
    for (const ArmTreatment& t : arms[i].treatments) {
      DrugRegimen r;
      r.drug = t.drug;
      r.dose_mg = t.dose_mg;
      r.interval_h = t.interval_h;
      o.drugs.push_back(r);
    }
    w.options.push_back(o);
  }
  t0 = Clock::now();
  absl::StatusOr<WhatIfResult> wr = RunWhatIf({*params, LongHorizonParamsFor(demo), demo, nullptr}, w);
  const double whatif_s = Seconds(t0);
  if (!wr.ok()) Die(std::string(wr.status().message()));
  const double whatif_courses = static_cast<double>(w.options.size()) * args.members;
  const double whatif_baseline_s = map_build_s + whatif_courses * plain_ms / 1000.0;
  std::printf(
      "what-if: %zu options x %d days x %d members, %d threads: %.3f s (target <= 2 s); baseline "
      "(1 map build + %.0f plain runs, 1 thread) %.3f s; ratio %.2f\n",
      w.options.size(), args.days, args.members, args.threads, whatif_s, whatif_courses, whatif_baseline_s,
      whatif_s / whatif_baseline_s);

  // Cohort.
  double cohort_s = 0, cohort_baseline_s = 0;
  CohortSpec c;
  c.seed = 2026;
  c.patients = args.patients;
  c.days = args.days;
  c.arms = Arms(args.arms);
  if (args.patients > 0) {
    t0 = Clock::now();
    absl::StatusOr<CohortResult> cr = RunCohort(c, {.threads = args.threads, .progress = {}});
    cohort_s = Seconds(t0);
    if (!cr.ok()) Die(std::string(cr.status().message()));
    const double courses = static_cast<double>(args.patients) * c.arms.size();
    cohort_baseline_s = courses * plain_ms / 1000.0;
    std::printf(
        "cohort: %d patients x %zu arms x %d days, %d threads: %.2f s (target <= 120 s), %d archetypes; "
        "baseline (%.0f plain runs, 1 thread) %.2f s; ratio %.2f\n",
        args.patients, c.arms.size(), args.days, args.threads, cohort_s, cr->archetypes_built, courses,
        cohort_baseline_s, cohort_s / cohort_baseline_s);
    for (const ArmSummary& a : cr->arms) {
      std::printf("  %-28s n %d  dSBP %+.2f [%+.2f, %+.2f]  dDBP %+.2f  dHR %+.2f  at target %.1f %%  flags %d/%d/%d\n",
                  a.name.c_str(), a.n, a.sbp_mmhg.mean_change, a.sbp_mmhg.ci95_low, a.sbp_mmhg.ci95_high,
                  a.dbp_mmhg.mean_change, a.heart_rate_bpm.mean_change, 100 * a.target_attainment_fraction,
                  a.hypotension_count, a.bradycardia_count, a.volume_loss_count);
    }
  }

  // Surrogate check: the archetype surrogate against each patient's own fitted model and map.
  double sum_abs_sbp = 0, max_abs_sbp = 0, sum_abs_dbp = 0;
  int compared = 0;
  for (int i = 0; i < args.surrogate_check; ++i) {
    absl::StatusOr<CohortPatient> cp = MakeCohortPatient(c, i);
    if (!cp.ok()) Die(std::string(cp.status().message()));
    absl::StatusOr<ModelParams> own = PatientFromDemographics(cp->demographics, cp->targets);
    if (!own.ok()) {
      std::printf("  surrogate check: patient %d skipped (%s)\n", i, std::string(own.status().message()).c_str());
      continue;
    }
    VirtualPerson full = cp->person;
    full.params = *own;
    full.map = std::make_shared<const SteadyStateMap>(*SteadyStateMap::Build(*own));
    full.rest = RestingState{};
    full.pulse_pressure_scale = 1.0;
    for (std::size_t a = 1; a < c.arms.size(); ++a) {
      std::vector<healthtwin::models::pharma::Regimen> rs;
      for (const ArmTreatment& t : c.arms[a].treatments) {
        DrugRegimen r;
        r.drug = t.drug;
        r.dose_mg = t.dose_mg;
        r.interval_h = t.interval_h;
        rs.push_back(ToPharmaRegimen(r));
      }
      const Course s = *SimulateCourse(cp->person, rs, {}, args.days, 1);
      const Course f = *SimulateCourse(full, rs, {}, args.days, 1);
      const double ds =
          (s.days.back().trough.sbp_mmhg - s.baseline.sbp_mmhg) - (f.days.back().trough.sbp_mmhg - f.baseline.sbp_mmhg);
      const double dd =
          (s.days.back().trough.dbp_mmhg - s.baseline.dbp_mmhg) - (f.days.back().trough.dbp_mmhg - f.baseline.dbp_mmhg);
      sum_abs_sbp += std::abs(ds);
      sum_abs_dbp += std::abs(dd);
      max_abs_sbp = std::max(max_abs_sbp, std::abs(ds));
      ++compared;
    }
  }
  if (compared > 0) {
    std::printf(
        "surrogate check: %d patient-arms; error of the end-of-study change vs the patient's own model: "
        "SBP mean |err| %.2f mmHg (max %.2f), DBP mean |err| %.2f mmHg\n",
        compared, sum_abs_sbp / compared, max_abs_sbp, sum_abs_dbp / compared);
  }
  std::printf(
      "{\"map_build_s\": %.4f, \"plain_run_ms\": %.4f, \"whatif_s\": %.4f, \"whatif_ratio\": %.3f, "
      "\"cohort_s\": %.3f, \"cohort_ratio\": %.3f, \"surrogate_sbp_mae_mmhg\": %.3f}\n",
      map_build_s, plain_ms, whatif_s, whatif_s / whatif_baseline_s, cohort_s,
      cohort_baseline_s > 0 ? cohort_s / cohort_baseline_s : 0.0, compared ? sum_abs_sbp / compared : 0.0);
  return 0;
}
