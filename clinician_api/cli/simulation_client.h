// `healthtwin job ...` and `healthtwin whatif ...`: the SimulationService from the command line.
//
//   healthtwin job submit --spec SPEC.json [--wait] [--json]     researcher cohort job
//   healthtwin job watch JOB_ID                                   progress until the job ends
//   healthtwin job results JOB_ID [--csv per_patient.csv] [--json]
//   healthtwin job cancel JOB_ID
//   healthtwin whatif --patient ID --options OPTIONS.json [--days 30] [--ensemble 50] [--seed 1] [--json]
//
// The server is --simulation HOST:PORT (HEALTHTWIN_SIMULATION). Spec and options files are the
// formats of the offline `healthtwin sim` (docs/simulation-specs.md); the server validates them
// again and names the bad field. Exit codes: 0 success, 1 the server refused or the job failed,
// 2 bad arguments or files.
#pragma once

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "clinician_api/cli/whatif_options.h"

namespace healthtwin::cli {

// Opens a mutual-TLS channel to `address`; `flag` names the option for error messages.
using ChannelFactory = std::function<std::shared_ptr<grpc::Channel>(const std::string& address, const char* flag)>;

class SimulationClientCommands {
 public:
  SimulationClientCommands(CLI::App& app, ChannelFactory open);
  SimulationClientCommands(const SimulationClientCommands&) = delete;
  SimulationClientCommands& operator=(const SimulationClientCommands&) = delete;

  bool parsed() const;
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  int Submit(std::ostream& out, std::ostream& err) const;
  int Watch(const std::string& job_id, std::ostream& out, std::ostream& err) const;
  int Results(std::ostream& out, std::ostream& err) const;
  int Cancel(std::ostream& out, std::ostream& err) const;
  int WhatIf(std::ostream& out, std::ostream& err) const;

  ChannelFactory open_;
  std::string address_;
  CLI::App* job_ = nullptr;
  CLI::App* submit_ = nullptr;
  CLI::App* watch_ = nullptr;
  CLI::App* results_ = nullptr;
  CLI::App* cancel_ = nullptr;
  CLI::App* whatif_ = nullptr;
  std::string spec_path_;
  std::string job_id_;
  std::string csv_path_;
  std::string patient_;
  WhatIfFlags whatif_flags_;
  bool wait_ = false;
  bool json_ = false;
};

}  // namespace healthtwin::cli
