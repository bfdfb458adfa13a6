// healthtwin-alarm-burden: the alert rules' sensitivity, PPV and alarm burden on a seeded
// simulated cohort (see burden.h, simulator.h). Prints one JSON line. Not a test: the
// targets (sensitivity >= 0.95, PPV >= 0.70, <= 1.5 physiological alerts per patient-day)
// are reported, not asserted.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "services/alerts/bench/burden.h"

int main(int argc, char** argv) {
  using namespace healthtwin::alerts;
  CLI::App app{"Alarm burden of the alert rule catalogue on a simulated cohort"};
  bench::SimConfig cfg;
  int every_min = 10;
  std::string rules_path = HT_ALERT_RULES_TOML;
  bool list_missed = false;
  app.add_option("--patients", cfg.patients, "simulated patients")->check(CLI::Range(1, 100000));
  app.add_option("--days", cfg.days, "simulated days counted")->check(CLI::Range(3, 365));
  app.add_option("--seed", cfg.seed, "random seed");
  app.add_option("--every-min", every_min, "evaluate every N simulated minutes")->check(CLI::Range(1, 60));
  app.add_option("--rules", rules_path, "alert rule catalogue (TOML)");
  app.add_flag("--list-missed", list_missed, "print each missed episode and its readings to stderr");
  CLI11_PARSE(app, argc, argv);

  std::ifstream f(rules_path);
  if (!f) {
    std::cerr << "rules: cannot read " << rules_path << "\n";
    return 2;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  auto engine = rules::RuleEngine::FromToml(ss.str(), rules_path);
  if (!engine.ok()) {
    std::cerr << engine.status().message() << "\n";
    return 2;
  }
  const bench::BurdenResult r = bench::RunBurden(cfg, *engine, every_min);
  if (list_missed) {
    for (const std::string& m : r.missed) std::cerr << m << "\n";
  }
  nlohmann::json j = {
      {"bench", "alarm_burden"},
      {"seed", cfg.seed},
      {"patients", r.patients},
      {"days", r.days},
      {"every_min", every_min},
      {"sensitivity", r.sensitivity()},
      {"ppv", r.ppv()},
      {"physiological_ppv", r.physiological_ppv()},
      {"physiological_alerts_per_patient_day", r.physiological_per_patient_day()},
      {"median_detection_delay_min", r.median_delay_min_by_type},
      {"episodes", r.episodes},
      {"episodes_detected", r.episodes_detected},
      {"episodes_by_type", r.episodes_by_type},
      {"detected_by_type", r.detected_by_type},
      {"physiological_alerts", r.physiological_alerts},
      {"physiological_alerts_in_episode", r.physiological_true},
      {"technical_alerts", r.technical_alerts},
      {"technical_alerts_real_fault", r.technical_true},
      {"alerts_by_rule", r.alerts_by_rule},
      {"false_alerts_by_rule", r.false_alerts_by_rule},
      {"artefacts",
       {{"motion_spikes", r.motion_spikes},
        {"cuff_error_frames", r.error_frames},
        {"contact_lost_samples", r.contact_lost_samples}}},
      {"targets", {{"sensitivity", 0.95}, {"ppv", 0.70}, {"physiological_alerts_per_patient_day", 1.5}}}};
  std::cout << j.dump() << "\n";
  return 0;
}
