#include "models/treatment/sim_commands.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "models/patient_file.h"
#include "models/treatment/cohort.h"
#include "models/treatment/treatment_json.h"
#include "models/treatment/whatif.h"

namespace healthtwin::models::treatment {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::InvalidArgumentError(absl::StrCat(flag, ": cannot read '", path, "'"));
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// A one-line progress bar, redrawn in place at most ten times a second.
ProgressFn Bar(std::ostream& err, bool enabled) {
  if (!enabled) return {};
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  return [&err, last](double fraction, std::string_view stage) {
    const auto now = std::chrono::steady_clock::now();
    if (fraction < 1.0 && now - *last < std::chrono::milliseconds(100)) return true;
    *last = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    err << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, ' ') << "] " << std::setw(3)
        << static_cast<int>(fraction * 100.0) << "% " << stage << "\x1b[K" << std::flush;
    return true;
  };
}

void EndBar(std::ostream& err, bool enabled) {
  if (enabled) err << "\r\x1b[K" << std::flush;
}

int ExitCode(const absl::Status& s) { return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1; }

std::string Signed(double v, int digits = 1) {
  if (std::abs(v) < 0.5 * std::pow(10.0, -digits)) v = 0.0;  // no "-0.0"
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.*f", digits, v);
  return buf;
}

std::string Fixed(double v, int digits = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string ChangeCell(const MeanChange& m) {
  return absl::StrCat(Fixed(m.baseline_mean), " -> ", Fixed(m.end_mean), "  ", Signed(m.mean_change), " [",
                      Signed(m.ci95_low), ", ", Signed(m.ci95_high), "]");
}

}  // namespace

SimCommands::SimCommands(CLI::App& app) {
  sim_ = app.add_subcommand("sim", "treatment simulation on the twin: virtual cohorts and what-if (offline)");
  sim_->require_subcommand(1);
  cohort_ = sim_->add_subcommand("cohort", "a virtual trial from a cohort spec: per-arm summary and per-patient CSV");
  whatif_ = sim_->add_subcommand("whatif", "compare treatment options on one patient's twin, with uncertainty bands");
  cohort_->add_option("--spec", spec_path_, "cohort spec JSON (docs/simulation-specs.md)")->required();
  cohort_->add_option("--csv", csv_path_, "write the per-patient rows to this CSV file");
  whatif_->add_option("--patient", patient_, "standard, or a patient JSON file")->required();
  whatif_->add_option("--options", options_path_, "treatment options JSON (docs/simulation-specs.md)")->required();
  whatif_->add_option("--days", days_, "simulated days")->required()->check(CLI::Range(1, 365));
  whatif_->add_option("--ensemble", ensemble_, "ensemble members")->check(CLI::Range(1, 1000));
  whatif_->add_option("--seed", seed_, "random seed");
  for (CLI::App* sub : {cohort_, whatif_}) {
    sub->add_flag("--json", json_, "print the result as one JSON object");
    sub->add_option("--threads", threads_, "worker threads (0 = all cores)")->check(CLI::Range(0, 256));
  }
}

bool SimCommands::parsed() const { return sim_->parsed(); }

int SimCommands::Run(std::ostream& out, std::ostream& err) const {
  const bool bar = isatty(STDERR_FILENO) != 0;
  return cohort_->parsed() ? RunCohort(out, err, bar) : RunWhatIf(out, err, bar);
}

int SimCommands::RunCohort(std::ostream& out, std::ostream& err, bool progress_bar) const {
  absl::StatusOr<std::string> text = ReadFile(spec_path_, "--spec");
  if (!text.ok()) {
    err << "healthtwin: " << text.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<CohortSpec> spec = ParseCohortSpec(*text);
  if (!spec.ok()) {
    err << "healthtwin: --spec " << spec_path_ << ": " << spec.status().message() << "\n";
    return 2;
  }
  std::ofstream csv;
  if (!csv_path_.empty()) {
    csv.open(csv_path_, std::ios::binary);
    if (!csv) {
      err << "healthtwin: --csv: cannot write '" << csv_path_ << "'\n";
      return 2;
    }
  }
  absl::StatusOr<CohortResult> r =
      treatment::RunCohort(*spec, {.threads = threads_, .progress = Bar(err, progress_bar)});
  EndBar(err, progress_bar);
  if (!r.ok()) {
    err << "healthtwin: cohort: " << r.status().message() << "\n";
    return ExitCode(r.status());
  }
  if (csv.is_open()) {
    csv << PerPatientCsv(*spec, *r);
    if (!csv.flush()) {
      err << "healthtwin: --csv: writing '" << csv_path_ << "' failed\n";
      return 1;
    }
  }
  if (json_) {
    out << CohortResultToJson(*spec, *r).dump() << "\n";
    return 0;
  }
  out << "cohort: " << spec->patients << " patients, " << spec->arms.size() << " arms, " << spec->days << " days, seed "
      << spec->seed << ", "
      << (spec->allocation == Allocation::kEveryArm ? "every patient in every arm" : "randomized to one arm")
      << "\nend of study = trough on day " << spec->days
      << " (just before the next dose); changes are means with 95 % CI\n";
  for (const ArmSummary& a : r->arms) {
    out << "\n"
        << a.name << " (n = " << a.n << ")\n"
        << "  SBP mmHg  " << ChangeCell(a.sbp_mmhg) << "\n"
        << "  DBP mmHg  " << ChangeCell(a.dbp_mmhg) << "\n"
        << "  HR /min   " << ChangeCell(a.heart_rate_bpm) << "\n"
        << "  at target (<" << Fixed(spec->target.systolic_below_mmhg, 0) << "/<"
        << Fixed(spec->target.diastolic_below_mmhg, 0) << ") " << Fixed(100.0 * a.target_attainment_fraction)
        << " %; flags: hypotension " << a.hypotension_count << ", bradycardia " << a.bradycardia_count
        << ", volume loss " << a.volume_loss_count << "\n";
  }
  return 0;
}

int SimCommands::RunWhatIf(std::ostream& out, std::ostream& err, bool progress_bar) const {
  absl::StatusOr<PatientModel> patient = BuildPatientModel(patient_, {}, false);
  if (!patient.ok()) {
    err << "healthtwin: " << patient.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::string> text = ReadFile(options_path_, "--options");
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
  absl::StatusOr<WhatIfResult> r = treatment::RunWhatIf(p, *spec, Bar(err, progress_bar));
  EndBar(err, progress_bar);
  if (!r.ok()) {
    err << "healthtwin: whatif: " << r.status().message() << "\n";
    return ExitCode(r.status());
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
