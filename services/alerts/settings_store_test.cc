// The JSON form of per-patient alert settings (stored in patient_alert_settings.settings) and
// the patient-id check the alerts API queries rely on. No database: the SQL is exercised by
// tests/integration/alerts_api_integration_test.cc.
#include "services/alerts/settings_store.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/alerts/alert_queries.h"

namespace healthtwin::alerts {
namespace {

using ::testing::HasSubstr;

TEST(PatientSettingsJsonTest, RoundTripsEveryField) {
  rules::PatientAlertSettings s;
  s.threshold_overrides = {{"hr_high", 110}, {"spo2_low", 86.5}};
  s.spo2_scale2 = true;
  s.supplemental_oxygen = true;
  auto back = SettingsFromJson(SettingsToJson(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->threshold_overrides, s.threshold_overrides);
  EXPECT_TRUE(back->spo2_scale2);
  EXPECT_TRUE(back->supplemental_oxygen);
}

TEST(PatientSettingsJsonTest, MissingKeysAreTheDefaults) {
  auto s = SettingsFromJson("{}");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->threshold_overrides.empty());
  EXPECT_FALSE(s->spo2_scale2);
  EXPECT_FALSE(s->supplemental_oxygen);
}

TEST(PatientSettingsJsonTest, RejectsAThresholdThatIsNotANumberNamingIt) {
  auto s = SettingsFromJson(R"({"threshold_overrides": {"hr_high": "110"}})");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("threshold_overrides.hr_high"));
}

TEST(PatientSettingsJsonTest, RejectsAFlagThatIsNotABooleanNamingIt) {
  auto s = SettingsFromJson(R"({"spo2_scale2": 1})");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("spo2_scale2"));
}

TEST(PatientSettingsJsonTest, RejectsText) {
  EXPECT_FALSE(SettingsFromJson("not json").ok());
  EXPECT_FALSE(SettingsFromJson("[]").ok());
}

TEST(PatientSettingsProtoTest, CopiesOverridesAndFlags) {
  v1::PatientAlertSettings p;
  (*p.mutable_threshold_overrides())["hr_high"] = 115;
  p.set_spo2_scale2(true);
  const rules::PatientAlertSettings s = SettingsFromProto(p);
  EXPECT_EQ(s.threshold_overrides.at("hr_high"), 115);
  EXPECT_TRUE(s.spo2_scale2);
  EXPECT_FALSE(s.supplemental_oxygen);
}

TEST(CheckPatientIdsTest, AcceptsRegistryIds) {
  EXPECT_TRUE(CheckPatientIds({"pat-0001", "a.b_c"}, "patient_ids").ok());
}

TEST(CheckPatientIdsTest, RejectsNoneNamingTheField) {
  auto s = CheckPatientIds({}, "patient_ids");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("patient_ids: required"));
}

// The queries pass the ids joined by commas: an id with a comma would widen the filter.
TEST(CheckPatientIdsTest, RejectsACommaInAnId) {
  EXPECT_EQ(CheckPatientIds({"pat-a,pat-c"}, "patient_ids").code(), absl::StatusCode::kInvalidArgument);
}

TEST(CheckPatientIdsTest, RejectsMoreThanAThousand) {
  std::vector<std::string> ids(1001, "pat-a");
  EXPECT_THAT(CheckPatientIds(ids, "patient_ids").message(), HasSubstr("at most 1000"));
}

}  // namespace
}  // namespace healthtwin::alerts
