#include "models/treatment/treatment_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace healthtwin::models::treatment {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kSpec = R"({
  "seed": 42, "patients": 200, "days": 30,
  "population": {
    "sbp_mmhg": {"mean": 152, "sd": 14}, "dbp_mmhg": {"mean": 92, "sd": 9},
    "heart_rate_bpm": {"mean": 72, "sd": 10}, "age_years": {"mean": 58, "sd": 11},
    "weight_kg": {"mean": 82, "sd": 15}, "female_fraction": 0.45
  },
  "arms": [
    {"name": "placebo", "treatments": []},
    {"name": "amlodipine 5", "treatments": [{"drug": "amlodipine", "dose_mg": 5, "interval_h": 24}]}
  ]
})";

std::string Edit(std::string_view from, std::string_view to) {
  std::string s(kSpec);
  const std::size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

std::string ErrorOf(std::string_view text) {
  absl::StatusOr<CohortSpec> s = ParseCohortSpec(text);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.status().message());
}

TEST(CohortSpecJsonTest, ParsesTheDocumentedFormat) {
  absl::StatusOr<CohortSpec> s = ParseCohortSpec(kSpec);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->seed, 42u);
  EXPECT_EQ(s->patients, 200);
  EXPECT_EQ(s->days, 30);
  EXPECT_DOUBLE_EQ(s->population.sbp_mmhg.mean, 152);
  EXPECT_DOUBLE_EQ(s->population.female_fraction, 0.45);
  ASSERT_EQ(s->arms.size(), 2u);
  EXPECT_TRUE(s->arms[0].treatments.empty());
  EXPECT_EQ(s->arms[1].treatments[0].drug, "amlodipine");
  EXPECT_EQ(s->allocation, Allocation::kEveryArm);
  EXPECT_DOUBLE_EQ(s->target.systolic_below_mmhg, 130);
}

TEST(CohortSpecJsonTest, RoundTrips) {
  absl::StatusOr<CohortSpec> s = ParseCohortSpec(kSpec);
  ASSERT_TRUE(s.ok());
  const std::string again = CohortSpecToJson(*s).dump();
  absl::StatusOr<CohortSpec> t = ParseCohortSpec(again);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(CohortSpecToJson(*t).dump(), again);
}

TEST(CohortSpecJsonTest, ErrorsNameTheField) {
  EXPECT_THAT(ErrorOf(Edit(R"("patients": 200)", R"("patients": "many")")), HasSubstr("patients: must be an integer"));
  EXPECT_THAT(ErrorOf(Edit(R"("seed": 42, )", "")), HasSubstr("seed: is required"));
  EXPECT_THAT(ErrorOf(Edit(R"("female_fraction")", R"("female_share")")),
              HasSubstr("population.female_share: unknown field"));
  EXPECT_THAT(ErrorOf(Edit(R"("dose_mg": 5,)", R"("dose_mg": "5",)")),
              HasSubstr("arms[1].treatments[0].dose_mg: must be a number"));
  EXPECT_THAT(ErrorOf(Edit(R"("dose_mg": 5,)", R"("dose_mg": 50,)")), HasSubstr("arms[1].treatments[0].dose_mg"));
  EXPECT_THAT(ErrorOf(Edit(R"("drug": "amlodipine")", R"("drug": "amlodipin")")), HasSubstr("known drugs"));
  EXPECT_THAT(ErrorOf(Edit(R"({"mean": 72, "sd": 10})", R"({"mean": 72})")),
              HasSubstr("population.heart_rate_bpm.sd: is required"));
  EXPECT_THAT(ErrorOf(Edit(R"("days": 30)", R"("days": 30, "arm": [])")), HasSubstr("arm: unknown field"));
  EXPECT_THAT(ErrorOf(Edit(R"("treatments": []})", R"("treatments": [], "dose": 1})")),
              HasSubstr("arms[0].dose: unknown field"));
  EXPECT_THAT(ErrorOf(Edit(R"("seed": 42)", R"("seed": -1)")), HasSubstr("seed: must be an integer"));
  EXPECT_THAT(ErrorOf("{\"seed\": "), HasSubstr("not valid JSON"));
  EXPECT_THAT(ErrorOf("[1, 2]"), HasSubstr("must be a JSON object"));
  EXPECT_THAT(ErrorOf(Edit(R"("days": 30)", R"("days": 30, "allocation": "alternate")")), HasSubstr("allocation"));
}

constexpr std::string_view kOptions = R"({
  "target": {"systolic_below_mmhg": 135, "diastolic_below_mmhg": 85},
  "options": [
    {"name": "low salt", "sodium_intake_mmol_per_day": 80},
    {"name": "metoprolol", "drugs": [{"drug": "metoprolol", "dose_mg": 100, "interval_h": 12,
                                       "adherence_fraction": 0.8, "start_day": 2, "stop_day": 20}]}
  ]
})";

TEST(WhatIfOptionsJsonTest, ParsesOptionsAndKeepsCallerSettings) {
  WhatIfSpec defaults;
  defaults.days = 21;
  defaults.ensemble_size = 10;
  defaults.seed = 9;
  absl::StatusOr<WhatIfSpec> s = ParseWhatIfOptions(kOptions, defaults);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->days, 21);
  EXPECT_EQ(s->ensemble_size, 10);
  EXPECT_EQ(s->seed, 9u);
  EXPECT_DOUBLE_EQ(s->target.systolic_below_mmhg, 135);
  ASSERT_EQ(s->options.size(), 2u);
  EXPECT_DOUBLE_EQ(*s->options[0].sodium_intake_mmol_per_day, 80);
  EXPECT_FALSE(s->options[0].fluid_intake_l_per_day.has_value());
  const DrugRegimen& r = s->options[1].drugs[0];
  EXPECT_EQ(r.drug, "metoprolol");
  EXPECT_DOUBLE_EQ(r.interval_h, 12);
  EXPECT_DOUBLE_EQ(r.adherence_fraction, 0.8);
  EXPECT_EQ(r.start_day, 2);
  EXPECT_EQ(r.stop_day, 20);
}

TEST(WhatIfOptionsJsonTest, ErrorsNameTheField) {
  std::string text(kOptions);
  text.replace(text.find(R"("dose_mg": 100)"), 14, R"("dose_mg": 500)");
  absl::StatusOr<WhatIfSpec> s = ParseWhatIfOptions(text, {});
  EXPECT_THAT(s.status().message(), HasSubstr("options[1].drugs[0].dose_mg: 500 mg is outside the label range"));
  EXPECT_THAT(s.status().message(), HasSubstr("off_label"));

  WhatIfSpec d;
  d.days = 1;  // start_day 2 no longer falls in the simulation
  EXPECT_THAT(ParseWhatIfOptions(kOptions, d).status().message(), HasSubstr("options[1].drugs[0].start_day"));
  EXPECT_THAT(ParseWhatIfOptions(R"({"options": [{"name": "x", "drugs": [{"drug": "metoprolol", "dose": 50}]}]})", {})
                  .status()
                  .message(),
              HasSubstr("options[0].drugs[0].dose: unknown field"));
  EXPECT_THAT(ParseWhatIfOptions(R"({"options": []})", {}).status().message(), HasSubstr("options"));
  EXPECT_THAT(ParseWhatIfOptions(R"({"option": []})", {}).status().message(), HasSubstr("option: unknown field"));
}

// 2^64 - 1 used to come back from get<int64_t> as -1 and pass the int range check (the error
// then quoted -1, a value nobody sent).
TEST(WhatIfOptionsJsonTest, UnsignedIntegerAboveInt64IsOutOfRangeNotWrapped) {
  std::string text(kOptions);
  text.replace(text.find(R"("stop_day": 20)"), 14, R"("stop_day": 18446744073709551615)");
  EXPECT_THAT(std::string(ParseWhatIfOptions(text, {}).status().message()),
              HasSubstr("options[1].drugs[0].stop_day: is out of range"));
  EXPECT_THAT(ErrorOf(Edit(R"("days": 30)", R"("days": 18446744073709551586)")), HasSubstr("days: is out of range"));
}

TEST(WhatIfOptionsJsonTest, ReadsAPosterior) {
  absl::StatusOr<WhatIfSpec> s = ParseWhatIfOptions(R"({"options": [{"name": "none"}],
      "posterior": {"names": ["log_resistance"], "mean": [0.1], "covariance": [0.0025], "version": 7,
                    "source": "calibration:test"}})",
                                                    {});
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->posterior.has_value());
  EXPECT_EQ(s->posterior->version, 7u);
  EXPECT_EQ(s->posterior->names[0], "log_resistance");
  EXPECT_THAT(ParseWhatIfOptions(R"({"options": [{"name": "none"}],
      "posterior": {"names": ["log_resistance"], "mean": [0.1, 0.2], "covariance": [0.0025]}})",
                                 {})
                  .status()
                  .message(),
              HasSubstr("posterior.mean"));
}

TEST(ResultJsonTest, CohortSummaryHasEveryArmAndFlags) {
  CohortSpec spec = *ParseCohortSpec(kSpec);
  CohortResult r;
  ArmSummary a;
  a.name = "placebo";
  a.n = 200;
  a.sbp_mmhg = {150.0, 149.0, -1.0, -1.5, -0.5};
  a.volume_loss_count = 3;
  r.arms = {a};
  const nlohmann::json j = CohortResultToJson(spec, r);
  EXPECT_EQ(j["seed"], 42);
  EXPECT_EQ(j["arms"][0]["arm"], "placebo");
  EXPECT_EQ(j["arms"][0]["patients"], 200);
  EXPECT_DOUBLE_EQ(j["arms"][0]["systolic_mmhg"]["change_ci95_low"].get<double>(), -1.5);
  EXPECT_EQ(j["arms"][0]["safety_flag_counts"]["volume_loss"], 3);
}

TEST(CohortSpecJsonTest, TrialBlockIsOnByDefaultAndSwitchable) {
  absl::StatusOr<CohortSpec> s = ParseCohortSpec(kSpec);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->trial.AnyOn());
  EXPECT_TRUE(s->trial.screening && s->trial.dropout);
  EXPECT_FALSE(s->trial.adherence || s->trial.response_heterogeneity);  // off by default (trial.h)
  absl::StatusOr<CohortSpec> off = ParseCohortSpec(Edit("\"days\": 30", "\"days\": 30, \"trial\": false"));
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->trial.AnyOn());
  absl::StatusOr<CohortSpec> some = ParseCohortSpec(
      Edit("\"days\": 30",
           "\"days\": 30, \"trial\": {\"screening\": false, \"analysis\": \"completers\", "
           "\"placebo_sbp_mmhg\": -7, \"readings_per_visit\": 2, \"response_heterogeneity\": true, "
           "\"response_log_sd\": 0.3, \"adherence\": true, \"adherence_mean\": 0.8, \"adherence_concentration\": 20, "
           "\"stop_per_year\": 0.25}"));
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_TRUE(some->trial.response_heterogeneity && some->trial.adherence);
  EXPECT_DOUBLE_EQ(some->trial.response_log_sd, 0.3);
  EXPECT_DOUBLE_EQ(some->trial.adherence_mean, 0.8);
  EXPECT_DOUBLE_EQ(some->trial.adherence_concentration, 20.0);
  EXPECT_DOUBLE_EQ(some->trial.stop_per_year, 0.25);
  EXPECT_FALSE(some->trial.screening);
  EXPECT_TRUE(some->trial.measurement_noise);
  EXPECT_EQ(some->trial.analysis, DropoutAnalysis::kCompleters);
  EXPECT_DOUBLE_EQ(some->trial.placebo_sbp_mmhg, -7.0);
  EXPECT_EQ(some->trial.readings_per_visit, 2);
  // The trial block round-trips (and so enters the spec's SHA-256 of part files).
  absl::StatusOr<CohortSpec> again = ParseCohortSpec(CohortSpecToJson(*some).dump());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(CohortSpecToJson(*again).dump(), CohortSpecToJson(*some).dump());
  EXPECT_NE(CohortSpecToJson(*again).dump(), CohortSpecToJson(*s).dump());

  EXPECT_THAT(ErrorOf(Edit("\"days\": 30", "\"days\": 30, \"trial\": {\"analysis\": \"itt\"}")),
              HasSubstr("trial.analysis: must be \"locf\" or \"completers\""));
  EXPECT_THAT(ErrorOf(Edit("\"days\": 30", "\"days\": 30, \"trial\": {\"placebo\": true}")),
              HasSubstr("trial.placebo: unknown field"));
  EXPECT_THAT(ErrorOf(Edit("\"days\": 30", "\"days\": 30, \"trial\": {\"readings_per_visit\": 0}")),
              HasSubstr("trial.readings_per_visit: must be in 1-10"));
  EXPECT_THAT(ErrorOf(Edit("\"days\": 30", "\"days\": 30, \"trial\": {\"dropout\": 1}")),
              HasSubstr("trial.dropout: must be true or false"));
  EXPECT_THAT(ErrorOf(Edit("\"days\": 30", "\"days\": 30, \"trial\": {\"adherence_mean\": 1.5}")),
              HasSubstr("trial.adherence_mean: must be in 0.01-1"));
  EXPECT_THAT(ErrorOf(Edit("\"days\": 30", "\"days\": 30, \"trial\": {\"adherence\": \"yes\"}")),
              HasSubstr("trial.adherence: must be true or false"));
}

TEST(ResultJsonTest, CohortSummaryCarriesSdAndPlaceboAdjustedDifference) {
  CohortSpec spec = *ParseCohortSpec(kSpec);
  CohortResult r;
  ArmSummary placebo, drug;
  placebo.name = "placebo";
  drug.name = "amlodipine 5";
  drug.n = 200;
  drug.analysed = 195;
  drug.dropouts = 5;
  drug.sbp_mmhg.sd_change = 12.5;
  drug.placebo_adjusted.control_arm = 0;
  drug.placebo_adjusted.sbp_mmhg = {-9.0, -11.5, -6.5};
  r.arms = {placebo, drug};
  const nlohmann::json j = CohortResultToJson(spec, r);
  EXPECT_TRUE(j["arms"][0]["placebo_adjusted"].is_null());
  EXPECT_EQ(j["arms"][1]["analysed"], 195);
  EXPECT_EQ(j["arms"][1]["dropouts"], 5);
  EXPECT_DOUBLE_EQ(j["arms"][1]["systolic_mmhg"]["sd_change"].get<double>(), 12.5);
  EXPECT_EQ(j["arms"][1]["placebo_adjusted"]["versus"], "placebo");
  EXPECT_DOUBLE_EQ(j["arms"][1]["placebo_adjusted"]["systolic_mmhg"]["ci95_low"].get<double>(), -11.5);
  EXPECT_EQ(j["trial"]["analysis"], "locf");
}

TEST(ResultJsonTest, WhatIfOptionsCarryRankFlagsAndBands) {
  WhatIfResult r;
  r.days = 1;
  OptionResult o;
  o.name = "a";
  o.rank = 1;
  o.safety_flags = {SafetyFlag::kBradycardia};
  o.trajectories = {{"trough_systolic_mmhg", {{0, 150, 140, 160}, {1, 140, 130, 150}}}};
  r.options = {o};
  const nlohmann::json j = WhatIfResultToJson(r);
  EXPECT_EQ(j["options"][0]["safety_flags"][0], "bradycardia");
  EXPECT_EQ(j["options"][0]["trajectories"][0]["days"][1]["lower"], 130);
}

}  // namespace
}  // namespace healthtwin::models::treatment
