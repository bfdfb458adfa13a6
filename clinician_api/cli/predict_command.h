// The twin's forecast from the command line (through clinician_api, routed to the patient's
// twin shard):
//
//   healthtwin twin predict --patient ID [--horizon-h 24] [--step-min 60] [--interval 0.9] [--json]
//       one line per predicted point: time, vital, mean and its interval for one reading and for
//       the expected level; care team only (audited as twin.predict)
//
// Exit codes: 0 success, 1 the server refused or failed (NOT_FOUND while the patient has no
// twin), 2 bad arguments.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>

#include "clinician_api/cli/api_access.h"

namespace healthtwin::cli {

class PredictCommand {
 public:
  // Adds `predict` under `twin`; `api` reaches clinician_api.
  PredictCommand(CLI::App& twin, ApiAccess api);
  PredictCommand(const PredictCommand&) = delete;
  PredictCommand& operator=(const PredictCommand&) = delete;

  bool parsed() const { return predict_->parsed(); }
  int Run(std::ostream& out) const;

 private:
  ApiAccess api_;
  CLI::App* predict_ = nullptr;
  std::string patient_;
  // The twin service's own limits (services/twin/limits.h) are checked there and named in its error.
  unsigned horizon_h_ = 24;
  unsigned step_min_ = 60;
  double interval_ = 0.9;
  bool json_ = false;
};

}  // namespace healthtwin::cli
