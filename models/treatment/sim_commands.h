// `healthtwin sim ...`: the offline command-line front end of treatment simulation.
//
//   healthtwin sim cohort --spec SPEC.json [--json] [--csv per_patient.csv] [--threads N]
//   healthtwin sim cohort --spec SPEC.json --shard I/N --out part-I.json [--threads N]
//   healthtwin sim merge PART.json... [--json] [--csv per_patient.csv]
//   healthtwin sim whatif --patient standard|PATIENT.json --options OPTIONS.json --days N
//                         [--ensemble 50] [--seed 1] [--json] [--threads N]
//
// Formats: docs/simulation-specs.md. No server, no certificates, no network. A progress bar is
// drawn on stderr only when stderr is a terminal; a shard that writes to a log instead prints a
// progress line per tenth. `merge` prints exactly what the unsharded `cohort` run prints (and the
// same CSV bytes); cohort_part.h has the part file and what a merge refuses. Exit codes: 0 success, 1 the simulation
// failed or was interrupted, 2 bad arguments, spec, options or patient file (one line naming the field).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/treatment/cohort.h"

namespace healthtwin::models::treatment {

class SimCommands {
 public:
  // Registers the `sim` subcommand (and `cohort`, `merge`, `whatif` under it) on `app`. `app` must outlive
  // this object, which owns the option storage.
  explicit SimCommands(CLI::App& app);
  SimCommands(const SimCommands&) = delete;
  SimCommands& operator=(const SimCommands&) = delete;

  // True when the command line chose `sim`.
  bool parsed() const;
  // Runs the chosen command; returns the process exit code. The progress bar goes to `err` when
  // the process's stderr is a terminal.
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  int RunCohort(std::ostream& out, std::ostream& err, bool progress_bar) const;
  int RunWhatIf(std::ostream& out, std::ostream& err, bool progress_bar) const;
  // sim_shard_commands.cc
  int RunShard(std::ostream& out, std::ostream& err, bool progress_bar) const;
  int RunMerge(std::ostream& out, std::ostream& err) const;
  // --spec read and parsed, or the error printed (exit 2).
  absl::StatusOr<CohortSpec> ReadSpec(std::ostream& err) const;

  CLI::App* sim_ = nullptr;
  CLI::App* cohort_ = nullptr;
  CLI::App* whatif_ = nullptr;
  CLI::App* merge_ = nullptr;
  std::string spec_path_;
  std::string shard_;  // "I/N"
  std::string out_path_;
  std::vector<std::string> part_paths_;
  std::string csv_path_;
  std::string patient_ = "standard";
  std::string options_path_;
  int days_ = 30;
  int ensemble_ = 50;
  std::uint64_t seed_ = 1;
  int threads_ = 0;
  bool json_ = false;
};

}  // namespace healthtwin::models::treatment
