#include "models/treatment/sim_commands.h"

#include <unistd.h>

#include <fstream>
#include <ostream>

#include "models/patient_file.h"
#include "models/treatment/cohort.h"
#include "models/treatment/sim_cli_util.h"
#include "models/treatment/treatment_json.h"
#include "models/treatment/whatif.h"

namespace healthtwin::models::treatment {
namespace {

using sim_cli::Fixed;
using sim_cli::Signed;

}  // namespace

SimCommands::SimCommands(CLI::App& app) {
  sim_ = app.add_subcommand("sim", "treatment simulation on the twin: virtual cohorts and what-if (offline)");
  sim_->require_subcommand(1);
  cohort_ = sim_->add_subcommand("cohort", "a virtual trial from a cohort spec: per-arm summary and per-patient CSV");
  whatif_ = sim_->add_subcommand("whatif", "compare treatment options on one patient's twin, with uncertainty bands");
  cohort_->add_option("--spec", spec_path_, "cohort spec JSON (docs/simulation-specs.md)")->required();
  CLI::Option* cohort_csv = cohort_->add_option("--csv", csv_path_, "write the per-patient rows to this CSV file");
  CLI::Option* shard = cohort_->add_option(
      "--shard", shard_, "I/N: simulate only shard I (0..N-1) of N contiguous blocks of patients into --out");
  CLI::Option* out = cohort_->add_option("--out", out_path_, "with --shard: the part file to write (part-I.json)");
  shard->needs(out)->excludes(cohort_csv);
  out->needs(shard);
  merge_ = sim_->add_subcommand("merge", "merge the part files of a sharded cohort into the unsharded run's result");
  merge_->add_option("parts", part_paths_, "the part files of all N shards (any order)")->required();
  merge_->add_option("--csv", csv_path_, "write the per-patient rows to this CSV file");
  merge_->add_flag("--json", json_, "print the result as one JSON object");
  whatif_->add_option("--patient", patient_, "standard, or a patient JSON file")->required();
  whatif_->add_option("--options", options_path_, "treatment options JSON (docs/simulation-specs.md)")->required();
  whatif_->add_option("--days", days_, "simulated days")->required()->check(CLI::Range(1, 365));
  whatif_->add_option("--ensemble", ensemble_, "ensemble members")->check(CLI::Range(1, 1000));
  whatif_->add_option("--seed", seed_, "random seed");
  for (CLI::App* sub : {cohort_, whatif_}) {
    CLI::Option* json = sub->add_flag("--json", json_, "print the result as one JSON object");
    sub->add_option("--threads", threads_, "worker threads (0 = all cores)")->check(CLI::Range(0, 256));
    if (sub == cohort_) shard->excludes(json);
  }
}

bool SimCommands::parsed() const { return sim_->parsed(); }

int SimCommands::Run(std::ostream& out, std::ostream& err) const {
  const bool bar = isatty(STDERR_FILENO) != 0;
  if (merge_->parsed()) return RunMerge(out, err);
  if (cohort_->parsed()) return shard_.empty() ? RunCohort(out, err, bar) : RunShard(out, err, bar);
  return RunWhatIf(out, err, bar);
}

int SimCommands::RunCohort(std::ostream& out, std::ostream& err, bool progress_bar) const {
  absl::StatusOr<CohortSpec> spec = ReadSpec(err);
  if (!spec.ok()) return 2;
  std::ofstream csv;
  if (!sim_cli::OpenCsv(csv_path_, csv, err)) return 2;
  absl::StatusOr<CohortResult> r =
      treatment::RunCohort(*spec, {.threads = threads_, .progress = sim_cli::Bar(err, progress_bar)});
  sim_cli::EndBar(err, progress_bar);
  if (!r.ok()) {
    err << "healthtwin: cohort: " << r.status().message() << "\n";
    return sim_cli::ExitCode(r.status());
  }
  return sim_cli::WriteCohortReport(*spec, *r, json_, csv, csv_path_, out, err);
}

int SimCommands::RunWhatIf(std::ostream& out, std::ostream& err, bool progress_bar) const {
  absl::StatusOr<PatientModel> patient = BuildPatientModel(patient_, {}, false);
  if (!patient.ok()) {
    err << "healthtwin: " << patient.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::string> text = sim_cli::ReadFile(options_path_, "--options");
  if (!text.ok()) {
    err << "healthtwin: " << text.status().message() << "\n";
    return 2;
  }
  WhatIfSpec defaults;
  defaults.days = days_;
  defaults.ensemble_size = ensemble_;
  defaults.seed = seed_;
  defaults.threads = threads_;
  absl::StatusOr<WhatIfSpec> spec = ParseWhatIfOptions(*text, defaults);
  if (!spec.ok()) {
    err << "healthtwin: --options " << options_path_ << ": " << spec.status().message() << "\n";
    return 2;
  }
  WhatIfPatient p{patient->params, patient->long_horizon, patient->demographics, nullptr};
  absl::StatusOr<WhatIfResult> r = treatment::RunWhatIf(p, *spec, sim_cli::Bar(err, progress_bar));
  sim_cli::EndBar(err, progress_bar);
  if (!r.ok()) {
    err << "healthtwin: whatif: " << r.status().message() << "\n";
    return sim_cli::ExitCode(r.status());
  }
  if (json_) {
    out << WhatIfResultToJson(*r).dump() << "\n";
    return 0;
  }
  out << "what-if: " << r->days << " days, " << r->ensemble_size << " ensemble members (" << r->ensemble_source
      << "), target <" << Fixed(spec->target.systolic_below_mmhg, 0) << "/<"
      << Fixed(spec->target.diastolic_below_mmhg, 0) << " at the end-of-study trough\n";
  for (const OptionResult& o : r->options) {
    const DailyBand& base_sbp = o.trajectories[0].days.front();
    const DailyBand& sbp = o.trajectories[0].days.back();
    const DailyBand& dbp = o.trajectories[1].days.back();
    const DailyBand& hr = o.trajectories[2].days.back();
    out << "\n#" << o.rank << " " << o.name << "\n"
        << "  at target " << Fixed(100.0 * o.target_attainment_fraction) << " % of members\n"
        << "  end trough SBP " << Fixed(sbp.mean) << " (" << Fixed(sbp.lower) << "-" << Fixed(sbp.upper)
        << ") mmHg, change " << Signed(sbp.mean - base_sbp.mean) << "; DBP " << Fixed(dbp.mean) << " ("
        << Fixed(dbp.lower) << "-" << Fixed(dbp.upper) << "); HR " << Fixed(hr.mean) << " /min\n"
        << "  safety: ";
    if (o.safety_flags.empty()) out << "no flags";
    for (std::size_t i = 0; i < o.safety_flags.size(); ++i) out << (i ? ", " : "") << SafetyFlagName(o.safety_flags[i]);
    out << " (hypotension " << Fixed(100.0 * o.hypotension_fraction, 0) << " %, bradycardia "
        << Fixed(100.0 * o.bradycardia_fraction, 0) << " %, volume loss " << Fixed(100.0 * o.volume_loss_fraction, 0)
        << " % of members)" << (o.extrapolated ? "; some members left the steady-state map" : "") << "\n";
  }
  return 0;
}

}  // namespace healthtwin::models::treatment
