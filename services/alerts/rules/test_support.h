// Helpers for the rule engine's tests: the shipped catalogue and series at a device's cadence.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "services/alerts/rules/engine.h"

namespace healthtwin::alerts::rules::testing {

inline constexpr int64_t kS = 1'000'000;
inline constexpr int64_t kMin = 60 * kS;
inline constexpr int64_t kHour = 60 * kMin;
inline constexpr int64_t kDay = 24 * kHour;
// A fixed data-time origin (2026-01-05 00:00 UTC) so tests never read the wall clock.
inline constexpr int64_t kT0 = 1'767'571'200 * kS;

inline std::string ShippedToml() {
  std::ifstream f(HT_ALERT_RULES_TOML);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline RuleEngine ShippedEngine() {
  auto e = RuleEngine::FromToml(ShippedToml(), "alert_rules.toml");
  if (!e.ok()) std::abort();
  return *std::move(e);
}

// `n` samples every `every_us` from `start`, value from `value(i)`.
template <typename F>
void Append(std::vector<VitalPoint>& out, int type, const std::string& device, int64_t start, int64_t every_us, int n,
            F value, uint32_t flags = 0) {
  for (int i = 0; i < n; ++i) out.push_back({type, value(i), start + i * every_us, flags, device});
}

inline void SortByTime(std::vector<VitalPoint>& v) {
  std::stable_sort(v.begin(), v.end(),
                   [](const VitalPoint& a, const VitalPoint& b) { return a.measured_us < b.measured_us; });
}

inline Observation Find(const std::vector<Observation>& obs, const std::string& rule) {
  for (const auto& o : obs) {
    if (o.rule_id == rule) return o;
  }
  std::abort();
}

// Evaluates the shipped engine over `vitals` at `now` and returns rule `rule`'s verdict.
inline Observation Verdict(const std::vector<VitalPoint>& vitals, int64_t now, const std::string& rule,
                           PatientAlertSettings settings = {}) {
  static const RuleEngine engine = ShippedEngine();
  PatientInputs in;
  in.patient_id = "p1";
  in.settings = settings;
  in.vitals = vitals;
  return Find(engine.Evaluate(in, now), rule);
}

// Expects two evaluations' verdicts to be the same, rule by rule; returns how many were active.
inline int ExpectSameVerdicts(const std::vector<Observation>& got, const std::vector<Observation>& want, int64_t now) {
  EXPECT_EQ(got.size(), want.size());
  int active = 0;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
    EXPECT_EQ(got[i].rule_id, want[i].rule_id);
    EXPECT_EQ(got[i].active, want[i].active) << want[i].rule_id << " at " << now;
    EXPECT_EQ(got[i].condition_started_us, want[i].condition_started_us) << want[i].rule_id << " at " << now;
    EXPECT_EQ(got[i].condition_ended_us, want[i].condition_ended_us) << want[i].rule_id << " at " << now;
    EXPECT_EQ(got[i].observed_us, want[i].observed_us) << want[i].rule_id << " at " << now;
    EXPECT_EQ(got[i].peak_value, want[i].peak_value) << want[i].rule_id << " at " << now;
    EXPECT_EQ(got[i].priority, want[i].priority) << want[i].rule_id << " at " << now;
    EXPECT_EQ(got[i].partial, want[i].partial) << want[i].rule_id << " at " << now;
    EXPECT_EQ(got[i].summary, want[i].summary) << want[i].rule_id << " at " << now;
    active += want[i].active ? 1 : 0;
  }
  return active;
}

}  // namespace healthtwin::alerts::rules::testing
