// `healthtwin twin calibrate`: offline twin calibration from a vitals CSV.
//
//   healthtwin twin calibrate --vitals vitals.csv [--patient patient.json] [--json]
//                             [--snapshot-out twin.json]
//
// The CSV format is in vitals_csv.h. The patient file is the one of `healthtwin model`
// (age_years, sex, height_cm, weight_kg, targets {heart_rate_bpm, sbp_mmhg, dbp_mmhg},
// conditions [...], salt_sensitive); without it the standard adult is used and the weight
// reference is learnt from the data. Prints the twin parameters with 90 % intervals, the fit
// quality (RMSE per vital, readings used, rejected as outliers, flagged, convergence) and the
// expected vitals 24 h after the last reading; --snapshot-out writes the twin snapshot JSON.
//
// No server, no certificates: everything runs in process (the patient's steady-state map is
// built first, ~0.7 s). Exit codes: 0 success; 1 the twin could not be calibrated (too little
// data, no convergence: the message says which); 2 bad arguments or input, one line naming the
// file, line and field.
#pragma once

#include <iosfwd>
#include <string>

#include <CLI/CLI.hpp>

namespace healthtwin::models::calibration::cli {

class TwinCommands {
 public:
  // Registers `twin` and `twin calibrate` on `app`, which must outlive this object. Other
  // `twin` subcommands (e.g. the service-backed `show`) can be added under twin_command().
  explicit TwinCommands(CLI::App& app);
  TwinCommands(const TwinCommands&) = delete;
  TwinCommands& operator=(const TwinCommands&) = delete;

  CLI::App* twin_command() const { return twin_; }
  // True when the command line chose `twin calibrate`.
  bool parsed() const;
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  CLI::App* twin_ = nullptr;
  CLI::App* calibrate_ = nullptr;
  std::string vitals_path_;
  std::string patient_path_;
  std::string snapshot_out_;
  bool json_ = false;
};

}  // namespace healthtwin::models::calibration::cli
