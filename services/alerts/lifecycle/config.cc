#include "services/alerts/lifecycle/config.h"

namespace healthtwin::alerts::lifecycle {

Config DefaultConfig() {
  Config cfg;
  // The parameters NEWS2 scores (RCP 2017, chart 1), by the names rules put in `covers`.
  const std::set<std::string> news2_parameters = {"respiration_rate", "spo2",        "systolic_bp",
                                                  "heart_rate",       "temperature", "consciousness"};
  cfg.suppresses["news2_high"] = news2_parameters;
  cfg.suppresses["news2_medium"] = news2_parameters;
  // A silent or disconnected device explains its own missing or stale readings.
  cfg.suppresses["tech_device_silent"] = {"device_data"};
  // One-shot technical events (evaluator.cc): latch, or they would end as they are raised.
  cfg.latching_rules = {"tech_foreign_gateway", "tech_gateway_quarantine_full"};
  return cfg;
}

}  // namespace healthtwin::alerts::lifecycle
