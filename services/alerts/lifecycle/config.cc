#include "services/alerts/lifecycle/config.h"

namespace healthtwin::alerts::lifecycle {

Config DefaultConfig() {
  Config cfg;
  // The suppression table of the shipped catalogue (deploy/config/alert_rules.toml,
  // `suppresses`), by its rule ids and `covers` names. The service builds its table from the
  // catalogue it loaded (Evaluator: LifecycleConfigFor); this copy serves callers without one.
  // NEWS2 scores these parameters (RCP 2017, chart 1).
  cfg.suppresses["news2"] = {"heart_rate", "blood_pressure", "spo2", "temperature"};
  cfg.suppresses["twin_drift"] = {"weight"};
  // A silent device or gateway explains its own missing or stale readings.
  cfg.suppresses["device_silent"] = {"device_contact"};
  cfg.suppresses["gateway_silent"] = {"device_data", "device_contact"};
  // One-shot technical events (evaluator.cc): latch, or they would end as they are raised.
  cfg.latching_rules = {"tech_foreign_gateway", "tech_gateway_quarantine_full"};
  return cfg;
}

}  // namespace healthtwin::alerts::lifecycle
