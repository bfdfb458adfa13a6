// The what-if flags shared by `healthtwin whatif` (a clinician, on the simulation service) and
// `healthtwin research whatif` (a researcher, de-identified through clinician_api): the options
// file (docs/simulation-specs.md) read into the simulation's WhatIfRequest, and the result
// printed as a table or JSON.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "healthtwin/simulation/v1/simulation.pb.h"

namespace healthtwin::cli {

struct WhatIfFlags {
  std::string options_path;
  int days = 30;
  int ensemble = 50;
  std::uint64_t seed = 1;
  bool json = false;
};

// Adds --options (required), --days, --ensemble, --seed and --json to `cmd`, bound to `flags`.
void AddWhatIfFlags(CLI::App& cmd, WhatIfFlags& flags);

// The request (patient_id left empty) from the options file and flags, or nullopt after one
// line on `err` naming the file and the bad field (exit 2).
std::optional<healthtwin::simulation::v1::WhatIfRequest> WhatIfRequestOf(const WhatIfFlags& flags, std::ostream& err);

// The result for `who` ("patient pat-a", "subject sp-...") as one line per option in rank
// order, or as JSON.
void PrintWhatIfResult(const healthtwin::simulation::v1::WhatIfRequest& req,
                       const healthtwin::simulation::v1::WhatIfResult& result, std::string_view who, bool json,
                       std::ostream& out);

}  // namespace healthtwin::cli
