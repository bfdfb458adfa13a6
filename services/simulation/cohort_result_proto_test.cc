// CohortResultFromJson: a cohort result as models/treatment stores it, read back as the
// CohortResults message, field by field (no server or database).
#include "services/simulation/cohort_result_proto.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/treatment/cohort.h"
#include "models/treatment/treatment_json.h"

namespace healthtwin::simulation {
namespace {

namespace mt = healthtwin::models::treatment;
using ::testing::HasSubstr;

// A cohort spec: `rest` (seed, size, arms) after a population.
std::string Spec(const std::string& rest) {
  return R"({"population": {"sbp_mmhg": {"mean": 154, "sd": 12}, "dbp_mmhg": {"mean": 96, "sd": 8},
      "heart_rate_bpm": {"mean": 74, "sd": 6}, "age_years": {"mean": 60, "sd": 8},
      "weight_kg": {"mean": 82, "sd": 10}, "female_fraction": 0.5}, )" +
         rest + "}";
}

const std::string kArms = R"("seed": 11, "patients": 30, "days": 28,
  "arms": [{"name": "drug first", "treatments": [{"drug": "amlodipine", "dose_mg": 5, "interval_h": 24}]},
           {"name": "placebo", "treatments": []},
           {"name": "lisinopril 10", "treatments": [{"drug": "lisinopril", "dose_mg": 10, "interval_h": 24}]}])";

mt::MeanChange Change(double base) {
  return mt::MeanChange{.baseline_mean = base,
                        .end_mean = base - 3.25,
                        .mean_change = -3.25,
                        .ci95_low = -5.5,
                        .ci95_high = -1.0,
                        .sd_change = 4.75};
}

// Distinct values in every field, summarised as SummariseCohort would lay them out.
mt::CohortResult Result() {
  mt::CohortResult r;
  for (int a = 0; a < 3; ++a) {
    mt::ArmSummary s;
    s.name = a == 0 ? "drug first" : a == 1 ? "placebo" : "lisinopril 10";
    s.n = 30;
    s.analysed = 27 - a;
    s.dropouts = 3 + a;
    s.sbp_mmhg = Change(150 + a);
    s.dbp_mmhg = Change(95 + a);
    s.heart_rate_bpm = Change(70 + a);
    s.target_attainment_fraction = 0.1 * (a + 1);
    s.hypotension_count = a;
    if (a != 1) {
      s.placebo_adjusted.control_arm = 1;
      s.placebo_adjusted.sbp_mmhg = {.difference = -7.5 - a, .ci95_low = -10.0 - a, .ci95_high = -5.0 - a};
      s.placebo_adjusted.dbp_mmhg = {.difference = -3.5 - a, .ci95_low = -5.0 - a, .ci95_high = -2.0 - a};
    }
    r.arms.push_back(s);
  }
  return r;
}

void ExpectChange(const v1::MeanChange& got, const mt::MeanChange& want) {
  EXPECT_DOUBLE_EQ(got.baseline_mean(), want.baseline_mean);
  EXPECT_DOUBLE_EQ(got.end_mean(), want.end_mean);
  EXPECT_DOUBLE_EQ(got.mean_change(), want.mean_change);
  EXPECT_DOUBLE_EQ(got.change_ci95_low(), want.ci95_low);
  EXPECT_DOUBLE_EQ(got.change_ci95_high(), want.ci95_high);
  EXPECT_DOUBLE_EQ(got.sd_change(), want.sd_change);
}

void ExpectDifference(const v1::MeanDifference& got, const mt::MeanDifference& want) {
  EXPECT_DOUBLE_EQ(got.difference(), want.difference);
  EXPECT_DOUBLE_EQ(got.ci95_low(), want.ci95_low);
  EXPECT_DOUBLE_EQ(got.ci95_high(), want.ci95_high);
}

TEST(CohortResultProtoTest, CarriesEveryArmsTrialSummaryAndPlaceboAdjustedDifference) {
  const absl::StatusOr<mt::CohortSpec> spec = mt::ParseCohortSpec(Spec(kArms));
  ASSERT_TRUE(spec.ok()) << spec.status();
  const mt::CohortResult want = Result();
  v1::CohortResults got;
  ASSERT_TRUE(CohortResultFromJson(mt::CohortResultToJson(*spec, want).dump(), got).ok());
  EXPECT_EQ(got.days(), 28u);
  EXPECT_EQ(got.seed(), 11u);
  EXPECT_EQ(got.placebo_arm(), "placebo") << "the control arm need not be the first";
  ASSERT_EQ(got.arms_size(), 3);
  for (int a = 0; a < 3; ++a) {
    SCOPED_TRACE(a);
    const v1::ArmSummary& g = got.arms(a);
    const mt::ArmSummary& w = want.arms[static_cast<std::size_t>(a)];
    EXPECT_EQ(g.arm(), w.name);
    EXPECT_EQ(g.patients(), 30u);
    EXPECT_EQ(g.analysed(), static_cast<uint32_t>(w.analysed));
    EXPECT_EQ(g.dropouts(), static_cast<uint32_t>(w.dropouts));
    ExpectChange(g.systolic_mmhg(), w.sbp_mmhg);
    ExpectChange(g.diastolic_mmhg(), w.dbp_mmhg);
    ExpectChange(g.heart_rate_bpm(), w.heart_rate_bpm);
    EXPECT_DOUBLE_EQ(g.target_attainment_fraction(), w.target_attainment_fraction);
    EXPECT_EQ(g.safety_flag_counts().at("hypotension"), static_cast<uint32_t>(a));
    EXPECT_EQ(g.has_placebo_adjusted(), a != 1) << "the placebo arm is not adjusted against itself";
    if (a == 1) continue;
    EXPECT_EQ(g.placebo_adjusted().versus(), "placebo");
    ExpectDifference(g.placebo_adjusted().systolic_mmhg(), w.placebo_adjusted.sbp_mmhg);
    ExpectDifference(g.placebo_adjusted().diastolic_mmhg(), w.placebo_adjusted.dbp_mmhg);
  }
}

TEST(CohortResultProtoTest, AJobWithoutAPlaceboArmHasNoAdjustedDifference) {
  const absl::StatusOr<mt::CohortSpec> spec = mt::ParseCohortSpec(Spec(R"("seed": 1, "patients": 2, "days": 3,
    "arms": [{"name": "amlodipine 5", "treatments": [{"drug": "amlodipine", "dose_mg": 5, "interval_h": 24}]}])"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  mt::CohortResult r;
  mt::ArmSummary arm;
  arm.name = "amlodipine 5";
  arm.n = arm.analysed = 2;
  r.arms.push_back(arm);
  v1::CohortResults got;
  ASSERT_TRUE(CohortResultFromJson(mt::CohortResultToJson(*spec, r).dump(), got).ok());
  EXPECT_EQ(got.placebo_arm(), "");
  ASSERT_EQ(got.arms_size(), 1);
  EXPECT_FALSE(got.arms(0).has_placebo_adjusted());
}

// A result stored before the trial layer: no SD, analysed, dropouts or adjustment.
TEST(CohortResultProtoTest, ReadsAResultStoredBeforeTheTrialLayer) {
  const std::string change =
      R"({"baseline_mean": 150, "end_mean": 140, "mean_change": -10, "change_ci95_low": -12, "change_ci95_high": -8})";
  const std::string old = R"({"days": 5, "seed": 7, "arms": [{"arm": "a", "patients": 4, "systolic_mmhg": )" + change +
                          R"(, "diastolic_mmhg": )" + change + R"(, "heart_rate_bpm": )" + change +
                          R"(, "target_attainment_fraction": 0.5, "safety_flag_counts": {}}]})";
  v1::CohortResults got;
  ASSERT_TRUE(CohortResultFromJson(old, got).ok());
  ASSERT_EQ(got.arms_size(), 1);
  EXPECT_EQ(got.arms(0).analysed(), 4u);
  EXPECT_EQ(got.arms(0).dropouts(), 0u);
  EXPECT_DOUBLE_EQ(got.arms(0).systolic_mmhg().sd_change(), 0.0);
  EXPECT_DOUBLE_EQ(got.arms(0).systolic_mmhg().mean_change(), -10.0);
  EXPECT_FALSE(got.arms(0).has_placebo_adjusted());
}

TEST(CohortResultProtoTest, AnUnreadableResultIsDataLossNamingTheProblem) {
  v1::CohortResults got;
  const absl::Status s = CohortResultFromJson(R"({"days": 5, "seed": 7, "arms": [{"arm": "a"}]})", got);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("stored cohort result is unreadable"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("patients"));
}

}  // namespace
}  // namespace healthtwin::simulation
