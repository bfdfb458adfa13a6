#include "models/calibration/vitals_csv.h"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/calibration/twin_json.h"

namespace healthtwin::models::calibration::cli {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<std::vector<Sample>> Parse(const std::string& text) {
  std::istringstream in(text);
  return ParseVitalsCsv(in, "v.csv");
}

TEST(VitalsCsvTest, ParsesIsoAndEpochTimesFlagsAndComments) {
  absl::StatusOr<std::vector<Sample>> s = Parse(
      "measured_at,vital,value,flagged\n"
      "# a comment\n"
      "2026-01-01T07:00:00Z,systolic,128,0\r\n"
      "\n"
      "2026-01-01T08:30:00.5+01:00,heart_rate,64\n"
      "1767251100,weight,80.2,true\n");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[0].measured_at_unix_s, 1767250800);
  EXPECT_EQ((*s)[0].vital, Vital::kSystolic);
  EXPECT_DOUBLE_EQ((*s)[0].value, 128.0);
  EXPECT_FALSE((*s)[0].flagged);
  EXPECT_EQ((*s)[1].measured_at_unix_s, 1767250800 + 1800);  // 08:30+01:00 = 07:30Z
  EXPECT_EQ((*s)[1].vital, Vital::kHeartRate);
  EXPECT_EQ((*s)[2].measured_at_unix_s, 1767251100);
  EXPECT_TRUE((*s)[2].flagged);
}

TEST(VitalsCsvTest, ErrorsNameTheLineAndField) {
  struct Case {
    std::string text, expected;
  };
  const Case cases[] = {
      {"", "empty file"},
      {"time,vital,value\n", "v.csv:1: header"},
      {"measured_at,vital,value\n2026-01-01,heart_rate,60\n", "v.csv:2: field measured_at"},
      {"measured_at,vital,value\n0,pulse,60\n", "v.csv:2: field vital: unknown 'pulse'"},
      {"measured_at,vital,value\n0,heart_rate,fast\n", "v.csv:2: field value: 'fast'"},
      {"measured_at,vital,value\n0,heart_rate,nan\n", "not a finite number"},
      {"measured_at,vital,value,flagged\n0,heart_rate,60,maybe\n", "v.csv:2: field flagged"},
      {"measured_at,vital,value\n0,heart_rate\n", "v.csv:2: expected 3 fields, got 2"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<Sample>> s = Parse(c.text);
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(s.status().message(), HasSubstr(c.expected)) << c.text;
  }
}

TEST(TwinJsonTest, SnapshotRoundTripsAndNamesAMissingField) {
  TwinSnapshot s;
  s.model_version = std::string(kTwinModelVersion);
  s.version = 7;
  s.reason = "calibrate";
  s.state_names = {"a", "b"};
  s.mean = {0.1, -0.2};
  s.covariance = {1, 0.5, 0.5, 2};
  s.prior_mean = {0, 0};
  s.prior_sd = {1, 1};
  s.window_start_unix_s = 100;
  s.window_end_unix_s = 200;
  s.state_time_unix_s = 200;
  s.calibrated = true;
  s.samples_absorbed = 3;
  s.reference_mean = {1, 2, 3, 4, 5, 6};
  s.reference_sd = {1, 1, 1, 1, 1, 1};
  s.reference_set = {true, true, true, true, false, false};
  s.cusum_pos = s.cusum_neg = {0, 0.5, 0, 0, 0, 0};
  s.cusum_pos_start = s.cusum_neg_start = {0, 86400, 0, 0, 0, 0};
  s.last_alarm_up = s.last_alarm_down = {0, 0, 0, 0, 0, 0};
  s.last_rejected_side = {0, 1, -1, 0, 0, 0};
  s.open_day = 20454;
  s.day_sum = {60, 0, 0, 0, 0, 0};
  s.day_count = {1, 0, 0, 0, 0, 0};
  const nlohmann::json j = SnapshotToJson(s);
  absl::StatusOr<TwinSnapshot> back = SnapshotFromJson(nlohmann::json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(SnapshotToJson(*back), j);
  EXPECT_EQ(back->reference_set, s.reference_set);
  EXPECT_EQ(back->covariance, s.covariance);

  nlohmann::json missing = j;
  missing.erase("covariance");
  EXPECT_THAT(SnapshotFromJson(missing).status().message(), HasSubstr("covariance is missing"));
  nlohmann::json wrong = j;
  wrong["version"] = "seven";
  EXPECT_THAT(SnapshotFromJson(wrong).status().message(), HasSubstr("version has the wrong type"));
}

}  // namespace
}  // namespace healthtwin::models::calibration::cli
