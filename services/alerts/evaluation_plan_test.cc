#include "services/alerts/evaluation_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "services/alerts/rules/engine.h"

namespace healthtwin::alerts {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kS = 1'000'000;

std::string ShippedToml() {
  std::ifstream f(HT_ALERT_RULES_TOML);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

rules::Catalogue Shipped() {
  auto c = rules::Catalogue::FromToml(ShippedToml(), "alert_rules.toml");
  EXPECT_TRUE(c.ok()) << c.status();
  return *std::move(c);
}

TEST(InstantSpacingTest, TheShippedCatalogueCannotBeSteppedOver) { EXPECT_TRUE(CheckInstantSpacing(Shipped()).ok()); }

TEST(InstantSpacingTest, AHeartRateRuleActiveForLessThanTheStepIsRefusedByName) {
  std::string toml = ShippedToml();
  const std::string from = "clear_duration_s = 300         # ... held 5 min";
  ASSERT_NE(toml.find(from), std::string::npos);
  toml.replace(toml.find(from), from.size(), "clear_duration_s = 20");
  auto c = rules::Catalogue::FromToml(toml, "alert_rules.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const absl::Status s = CheckInstantSpacing(*c);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("rules.hr_high"));
}

TEST(VitalTypesTest, ReadsTheCataloguesTypesAndHeartRateOnlyForHours) {
  const rules::Catalogue c = Shipped();
  EXPECT_THAT(VitalTypesRead(c), ElementsAre(1, 2, 5, 6, 7, 9, 10));
  // NEWS2's 6 h and its heart-rate freshness (15 min): hours, not resting_hr_rise's 9 days.
  EXPECT_EQ(HeartRateLookbackUs(c), (6 * 3600 + 900) * kS);
}

TEST(TimerRulesTest, TechnicalAndTwinRulesAreJudgedOnTheTimer) {
  EXPECT_TRUE(JudgedAtDataInstants(rules::RuleKind::kThresholdHigh));
  EXPECT_TRUE(JudgedAtDataInstants(rules::RuleKind::kRestingHrRise));
  EXPECT_TRUE(JudgedAtDataInstants(rules::RuleKind::kNews2));
  for (auto k : {rules::RuleKind::kDeviceSilent, rules::RuleKind::kGatewaySilent, rules::RuleKind::kContactLost,
                 rules::RuleKind::kBatteryLow, rules::RuleKind::kTwinDrift, rules::RuleKind::kQuarantine}) {
    EXPECT_FALSE(JudgedAtDataInstants(k));
  }
}

TEST(InstantsTest, HeartRateThinnedToThirtySecondsSparseEverySampleAndTheNewest) {
  std::vector<SampleTime> s;
  for (int i = 0; i <= 100; ++i) s.push_back({1, i * kS});
  s.push_back({2, 45 * kS});  // a cuff reading between heart rates
  std::stable_sort(s.begin(), s.end(), [](const SampleTime& a, const SampleTime& b) { return a.t_us < b.t_us; });
  EXPECT_THAT(EvaluationInstants(s, 0), ElementsAre(0, 30 * kS, 45 * kS, 60 * kS, 90 * kS, 100 * kS));
  // Rows before from_us (already evaluated) are context only.
  EXPECT_THAT(EvaluationInstants(s, 95 * kS), ElementsAre(95 * kS, 100 * kS));
  EXPECT_TRUE(EvaluationInstants(s, 101 * kS).empty());
}

TEST(FlagsTest, StoredBitsNeverPassThroughContactLostComesFromDeviceStatus) {
  // Stored: 2 = physiologically unlikely value, 4 = clock skew (services/ingest/validation.h).
  EXPECT_EQ(EngineFlags(0, false), 0u);
  EXPECT_EQ(EngineFlags(2, false), 0u);  // would read as "motion artefact" if passed through
  EXPECT_EQ(EngineFlags(4, false), 0u);  // would read as "device error" if passed through
  EXPECT_EQ(EngineFlags(6, false), 0u);
  EXPECT_EQ(EngineFlags(0xffffffffu, false), 0u);
  EXPECT_EQ(EngineFlags(0, true), rules::kFlagSensorContactLost);
  EXPECT_EQ(EngineFlags(4, true), rules::kFlagSensorContactLost);
}

}  // namespace
}  // namespace healthtwin::alerts
