// `healthtwin model ...`: the offline command-line front end of the models library.
//
//   healthtwin model run  --patient standard|FILE.json [--condition C ...] --seconds N [--json]
//                         [--waveform out.csv] [--sample-hz 100]
//   healthtwin model long --patient standard|FILE.json [--condition C ...] --days N [--json]
//                         [--sodium-mmol-per-day 150] [--fluid-l-per-day 2.1] [--salt-sensitive]
//
// Conditions: hypertension1, hypertension2, hfref, hfpef, hypovolaemia, af.
// A patient file is a JSON object with optional fields age_years, sex ("female"|"male"),
// height_cm, weight_kg, targets {heart_rate_bpm, sbp_mmhg, dbp_mmhg}, conditions [..] and
// salt_sensitive (bool); unknown fields are errors.
//
// No server, no certificates, no network: everything runs in process. Exit codes: 0 success,
// 1 the simulation failed, 2 bad arguments or patient file (one line naming the field).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace healthtwin::models::cli {

class ModelCommands {
 public:
  // Registers the `model` subcommand (and `run`, `long` under it) on `app`. `app` must outlive
  // this object, which owns the option storage.
  explicit ModelCommands(CLI::App& app);
  ModelCommands(const ModelCommands&) = delete;
  ModelCommands& operator=(const ModelCommands&) = delete;

  // True when the command line chose `model`.
  bool parsed() const;
  // Runs the chosen command; returns the process exit code.
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  CLI::App* model_ = nullptr;
  CLI::App* run_ = nullptr;
  CLI::App* long_ = nullptr;
  std::string patient_ = "standard";
  std::vector<std::string> conditions_;
  bool json_ = false;
  double seconds_ = 60.0;
  std::string waveform_path_;
  double sample_hz_ = 100.0;
  int days_ = 30;
  double sodium_mmol_per_day_ = 150.0;
  double fluid_l_per_day_ = 2.1;
  bool salt_sensitive_ = false;
};

}  // namespace healthtwin::models::cli
