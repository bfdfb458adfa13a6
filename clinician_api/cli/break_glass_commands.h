// Break-glass from the command line (issue 13, item 4; clinician_api/break_glass.h):
//
//   healthtwin break-glass --patient ID --reason-code ETREAT|BTG --reason TEXT [--for 30m] [--json]
//                                             (a clinician outside the care team; prints the grant)
//   healthtwin admin break-glass list [--open|--all] [--json]     (default --open: not yet reviewed)
//   healthtwin admin break-glass review --grant ID --justified|--unjustified [--note TEXT] [--json]
//   healthtwin admin break-glass watch [--count N] [--json]
//                                             (one line per grant started or ended, as it happens,
//                                              until interrupted or N events)
//
// Exit codes: 0 success, 1 the server refused or failed, 2 bad arguments (one line naming the
// argument, before any server is contacted).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "clinician_api/cli/api_access.h"

namespace healthtwin::cli {

class BreakGlassCommands {
 public:
  // Adds `break-glass` under `app` and `break-glass list|review` under `admin`.
  BreakGlassCommands(CLI::App& app, CLI::App& admin, ApiAccess api);
  BreakGlassCommands(const BreakGlassCommands&) = delete;
  BreakGlassCommands& operator=(const BreakGlassCommands&) = delete;

  bool parsed() const;
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  int Request(std::ostream& out, std::ostream& err) const;
  int List(std::ostream& out) const;
  int Review(std::ostream& out, std::ostream& err) const;
  int Watch(std::ostream& out) const;

  ApiAccess api_;
  CLI::App* request_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* review_ = nullptr;
  CLI::App* watch_ = nullptr;
  int count_ = 0;
  std::string patient_, reason_code_, reason_, for_;
  bool open_ = false, all_ = false;
  int64_t grant_ = 0;
  bool justified_ = false, unjustified_ = false;
  std::string note_;
  bool json_ = false;
};

}  // namespace healthtwin::cli
