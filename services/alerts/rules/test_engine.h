// The rule engine of the evaluator's integration tests: ShortHrHighToml's catalogue (the
// shipped one with hr_high's min_duration_s 60 and clear_duration_s 30), built once per
// process; aborts when the shipped file is missing or changed (the test cannot run).
#pragma once

#include <cstdlib>
#include <string>

#include "services/alerts/rules/engine.h"
#include "services/alerts/rules/test_catalogue.h"

namespace healthtwin::alerts::rules {

inline const RuleEngine& ShortHrHighTestEngine(const std::string& shipped_path) {
  static const RuleEngine* engine = [&] {
    auto toml = ShortHrHighToml(shipped_path, 60, 30);
    if (!toml.ok()) std::abort();
    auto e = RuleEngine::FromToml(*toml, "test_alert_rules.toml");
    if (!e.ok()) std::abort();
    return new RuleEngine(*std::move(e));
  }();
  return *engine;
}

}  // namespace healthtwin::alerts::rules
