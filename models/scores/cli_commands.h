// `healthtwin score news2`: NEWS2 from the command line, offline.
//
//   healthtwin score news2 [--json] [--respiratory-rate N] [--spo2 N] [--scale 1|2]
//                          [--oxygen air|supplemental] [--systolic N] [--heart-rate N]
//                          [--consciousness A|C|V|P|U] [--temperature N]
//
// Every vital is optional: what is not given is listed as missing and not scored, and the
// result is partial (score and risk are lower bounds; see models/scores/news2.h). --json prints
// one object: score, risk, partial, missing, components (points per parameter given), scale,
// and, when they apply, assumed ({"oxygen": "air"} when scale 2 SpO2 was scored without
// --oxygen) and note (what partial means). Without --json, a few lines of text.
//
// No server, no certificates. Exit codes: 0 success; 2 bad arguments, with one line naming
// the flag ("healthtwin: --spo2: 140 is above 100").
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>

namespace healthtwin::models::scores::cli {

class ScoreCommands {
 public:
  // Registers `score` and `score news2` on `app`, which must outlive this object (it owns the
  // option storage).
  explicit ScoreCommands(CLI::App& app);
  ScoreCommands(const ScoreCommands&) = delete;
  ScoreCommands& operator=(const ScoreCommands&) = delete;

  // True when the command line chose `score news2`.
  bool parsed() const;
  // Runs the chosen command; returns the process exit code.
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  CLI::App* news2_ = nullptr;
  bool json_ = false;
  int scale_ = 1;
  double respiratory_rate_per_min_ = 0;
  double spo2_percent_ = 0;
  double systolic_mmhg_ = 0;
  double heart_rate_bpm_ = 0;
  double temperature_c_ = 0;
  std::string oxygen_;
  std::string consciousness_;
  // Which options were given (a value of 0 is a value, not absence).
  CLI::Option* respiratory_rate_given_ = nullptr;
  CLI::Option* spo2_given_ = nullptr;
  CLI::Option* systolic_given_ = nullptr;
  CLI::Option* heart_rate_given_ = nullptr;
  CLI::Option* temperature_given_ = nullptr;
  CLI::Option* oxygen_given_ = nullptr;
  CLI::Option* consciousness_given_ = nullptr;
};

}  // namespace healthtwin::models::scores::cli
