#include "services/alerts/rules/catalogue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "services/alerts/rules/shipped_catalogue.h"
#include "services/alerts/rules/test_support.h"

namespace healthtwin::alerts::rules {
namespace {

using ::testing::HasSubstr;
using testing::ShippedToml;

// The shipped catalogue with one line replaced.
std::string Edited(const std::string& from, const std::string& to) {
  std::string s = ShippedToml();
  const auto pos = s.find(from);
  if (pos == std::string::npos) std::abort();
  return s.replace(pos, from.size(), to);
}

TEST(CatalogueTest, LoadsShippedCatalogue) {
  auto cat = Catalogue::FromToml(ShippedToml(), "alert_rules.toml");
  ASSERT_TRUE(cat.ok()) << cat.status();
  const RuleSpec* hr = cat->Find("hr_high");
  ASSERT_NE(hr, nullptr);
  EXPECT_EQ(hr->threshold, 120);
  EXPECT_EQ(hr->min_duration_s, 600);
  EXPECT_EQ(cat->Find("battery_low")->category, AlarmCategory::kTechnical);
  EXPECT_EQ(cat->Find("spo2_low")->threshold_scale2, 88);
  EXPECT_GE(cat->rules().size(), 17u);
}

// The copy compiled into the services is the file as it is now (CMake re-reads it on edit).
TEST(CatalogueTest, CompiledInCatalogueIsTheShippedFile) {
  EXPECT_EQ(ShippedCatalogueToml(), ShippedToml());
  EXPECT_TRUE(Catalogue::FromToml(ShippedCatalogueToml(), "built-in").ok());
}

TEST(CatalogueTest, RejectsThresholdOutsideVitalRangeNamingKey) {
  auto cat = Catalogue::FromToml(Edited("threshold = 120 ", "threshold = 400 "), "alert_rules.toml");
  EXPECT_EQ(cat.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cat.status().message(), HasSubstr("alert_rules.toml: rules.hr_high.threshold: 400 is outside 20..300"));
}

TEST(CatalogueTest, RejectsUnknownKey) {
  auto cat = Catalogue::FromToml(Edited("min_samples = 3", "min_sample = 3"), "x.toml");
  EXPECT_THAT(cat.status().message(), HasSubstr("rules.hr_high.min_sample: unknown key"));
}

TEST(CatalogueTest, RejectsUnknownKind) {
  auto cat = Catalogue::FromToml("[rules.a]\nkind = \"magic\"\npriority = \"low\"\ncovers = [\"x\"]\n", "x.toml");
  EXPECT_THAT(cat.status().message(), HasSubstr("rules.a.kind: 'magic' is not one of"));
}

TEST(CatalogueTest, RejectsBadPriority) {
  auto cat = Catalogue::FromToml(Edited("priority = \"medium\"", "priority = \"urgent\""), "x.toml");
  EXPECT_THAT(cat.status().message(), HasSubstr(".priority: must be \"low\", \"medium\" or \"high\""));
}

TEST(CatalogueTest, RejectsMinSamplesOutOfRange) {
  auto cat = Catalogue::FromToml(Edited("min_samples = 3", "min_samples = 0"), "x.toml");
  EXPECT_THAT(cat.status().message(), HasSubstr("rules.hr_high.min_samples: 0 is outside 1..10"));
}

TEST(CatalogueTest, RejectsSyntaxError) {
  auto cat = Catalogue::FromToml("[rules.a\n", "x.toml");
  EXPECT_THAT(cat.status().message(), HasSubstr("x.toml: syntax:"));
}

TEST(PatientSettingsTest, AcceptsOverrideInsideRange) {
  auto cat = *Catalogue::FromToml(ShippedToml(), "alert_rules.toml");
  PatientAlertSettings s;
  s.threshold_overrides["hr_high"] = 110;
  EXPECT_TRUE(ValidatePatientSettings(s, cat).ok());
  EXPECT_EQ(EffectiveThreshold(*cat.Find("hr_high"), s), 110);
}

TEST(PatientSettingsTest, RejectsOverrideOutsideRangeNamingField) {
  auto cat = *Catalogue::FromToml(ShippedToml(), "alert_rules.toml");
  PatientAlertSettings s;
  s.threshold_overrides["hr_high"] = 400;
  auto st = ValidatePatientSettings(s, cat);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "threshold_overrides.hr_high: 400 is outside 90..180");
}

TEST(PatientSettingsTest, RejectsUnknownAndNonThresholdRules) {
  auto cat = *Catalogue::FromToml(ShippedToml(), "alert_rules.toml");
  PatientAlertSettings s;
  s.threshold_overrides["news2"] = 5;
  EXPECT_EQ(ValidatePatientSettings(s, cat).message(), "threshold_overrides.news2: not a threshold rule");
  s.threshold_overrides = {{"nope", 5}};
  EXPECT_EQ(ValidatePatientSettings(s, cat).message(), "threshold_overrides.nope: no such rule");
}

TEST(PatientSettingsTest, Scale2SwitchesSpo2Threshold) {
  auto cat = *Catalogue::FromToml(ShippedToml(), "alert_rules.toml");
  PatientAlertSettings s;
  EXPECT_EQ(EffectiveThreshold(*cat.Find("spo2_low"), s), 92);
  s.spo2_scale2 = true;
  EXPECT_EQ(EffectiveThreshold(*cat.Find("spo2_low"), s), 88);
}

}  // namespace
}  // namespace healthtwin::alerts::rules
