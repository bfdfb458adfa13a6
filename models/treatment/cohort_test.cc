#include "models/treatment/cohort.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "models/treatment/treatment_test_util.h"
#include "models/treatment/whatif.h"

namespace healthtwin::models::treatment {
namespace {

using ::testing::HasSubstr;

// A small cohort of men around 147/90 mmHg: one archetype map (built once per process).
CohortSpec SmallSpec() { return testing::SmallCohortSpec(); }

CohortResult RunSmall(const CohortSpec& spec, int threads = 2) {
  absl::StatusOr<CohortResult> r = RunCohort(spec, {.threads = threads, .progress = {}});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : CohortResult{};
}

// One cohort run per test process (each builds its archetype map), so each test checks a few
// related behaviours of the same run.
// The simulated physiology, without the trial layer (trial_test.cc has the trial with it on).
TEST(CohortTest, PlaceboStaysAtBaselineDrugLowersPressureBaselineMatchesDraw) {
  CohortSpec spec = SmallSpec();
  spec.trial = TrialSpec::Off();
  const CohortResult r = RunSmall(spec);
  ASSERT_EQ(r.rows.size(), 40u);
  for (const PatientRow& row : r.rows) {
    EXPECT_NEAR(row.baseline_sbp_mmhg, row.drawn_sbp_mmhg, 0.05) << row.patient;
    EXPECT_NEAR(row.baseline_dbp_mmhg, row.drawn_dbp_mmhg, 0.05) << row.patient;
    EXPECT_NEAR(row.baseline_heart_rate_bpm, row.drawn_heart_rate_bpm, 0.05) << row.patient;
  }
  ASSERT_EQ(r.arms.size(), 2u);
  EXPECT_EQ(r.archetypes_built, 1);
  const ArmSummary& placebo = r.arms[0];
  const ArmSummary& drug = r.arms[1];
  EXPECT_EQ(placebo.n, 20);
  EXPECT_EQ(drug.n, 20);
  EXPECT_NEAR(placebo.sbp_mmhg.mean_change, 0.0, 1e-6);
  EXPECT_NEAR(placebo.dbp_mmhg.mean_change, 0.0, 1e-6);
  EXPECT_NEAR(placebo.sbp_mmhg.baseline_mean, 147.0, 2.0);
  EXPECT_LT(drug.sbp_mmhg.mean_change, -5.0);
  EXPECT_LT(drug.sbp_mmhg.ci95_high, 0.0);
  EXPECT_LT(drug.sbp_mmhg.ci95_low, drug.sbp_mmhg.mean_change);
  EXPECT_LT(drug.dbp_mmhg.mean_change, -2.0);
  // Crossover: both arms start from the same patients.
  EXPECT_DOUBLE_EQ(drug.sbp_mmhg.baseline_mean, placebo.sbp_mmhg.baseline_mean);
  EXPECT_GE(drug.target_attainment_fraction, placebo.target_attainment_fraction);
}

TEST(CohortTest, SameSeedIsBitIdenticalWithAnyThreadCountAndCsvHasEveryRow) {
  CohortSpec s = SmallSpec();
  s.days = 3;
  s.arms[1].name = "amlodipine, 10 mg";  // a comma: quoted in the CSV
  const CohortResult one = RunSmall(s, 1);
  const CohortResult two = RunSmall(s, 2);
  const std::string csv = PerPatientCsv(s, one);
  EXPECT_EQ(csv, PerPatientCsv(s, two));
  EXPECT_EQ(one.arms[1].sbp_mmhg.mean_change, two.arms[1].sbp_mmhg.mean_change);
  EXPECT_EQ(one.arms[1].sbp_mmhg.ci95_low, two.arms[1].sbp_mmhg.ci95_low);

  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line + "\n", PerPatientCsvHeader(s));  // the trial layer's 10 columns follow the plain 22
  EXPECT_EQ(std::count(line.begin(), line.end(), ','), 31);
  int rows = 0;
  while (std::getline(in, line)) ++rows;
  EXPECT_EQ(rows, 40);
  EXPECT_THAT(csv, HasSubstr(",\"amlodipine, 10 mg\",male,"));
  // A page: the header plus rows 38 and 39.
  const std::string page = PerPatientCsv(s, one, 38, 5);
  EXPECT_EQ(std::count(page.begin(), page.end(), '\n'), 3);

  s.seed = 6;
  EXPECT_NE(PerPatientCsv(s, RunSmall(s)), csv);
}

TEST(CohortTest, ProgressCanCancel) {
  absl::StatusOr<CohortResult> r =
      RunCohort(SmallSpec(), {.threads = 2, .progress = [](double, std::string_view) { return false; }});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
}

TEST(CohortTest, RandomizedAllocationGivesEachPatientOneArmAndProgressEndsAtOne) {
  CohortSpec s = SmallSpec();
  s.days = 2;
  s.allocation = Allocation::kRandomized;
  double last = -1.0;
  std::string stage;
  absl::StatusOr<CohortResult> r = RunCohort(s, {.threads = 2, .progress = [&](double f, std::string_view st) {
                                                   EXPECT_GE(f, last);
                                                   last = f;
                                                   stage = std::string(st);
                                                   return true;
                                                 }});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(last, 1.0);
  EXPECT_EQ(stage, "simulating");
  ASSERT_EQ(r->rows.size(), 20u);
  EXPECT_EQ(r->arms[0].n + r->arms[1].n, 20);
  EXPECT_GT(r->arms[0].n, 0);
  EXPECT_GT(r->arms[1].n, 0);
}

// models/README.md: SBP/DBP bivariate normal, correlation 0.6 by default. The sample correlation r
// of n draws has Fisher z = atanh(r) normal about atanh(rho) with SE 1 / sqrt(n - 3) (0.0071 for
// n = 20,000); we allow 4 SE. The bounds redraw fewer than 0.1 % of the default population
// (pulse pressure 20-100 is mean 58 +- 3.4 SD), which moves r by far less than that.
// Drawing is cheap (no archetype is built), so n is large.
double SampleSbpDbpCorrelation(const CohortSpec& spec) {
  double n = 0, ms = 0, md = 0, css = 0, cdd = 0, csd = 0;  // Welford, two variables
  for (int i = 0; i < spec.patients; ++i) {
    absl::StatusOr<PopulationDraw> d = DrawPopulation(spec, i);
    EXPECT_TRUE(d.ok()) << d.status();
    if (!d.ok()) return 0.0;
    n += 1;
    const double ds = d->sbp_mmhg - ms, dd = d->dbp_mmhg - md;
    ms += ds / n;
    md += dd / n;
    css += ds * (d->sbp_mmhg - ms);
    cdd += dd * (d->dbp_mmhg - md);
    csd += ds * (d->dbp_mmhg - md);
  }
  return csd / std::sqrt(css * cdd);
}

TEST(CohortPopulationTest, SbpDbpCorrelationIsSixTenthsByDefault) {
  CohortSpec s = SmallSpec();
  s.population = PopulationSpec{};
  s.trial = TrialSpec::Off();  // screening on SBP would select the population
  ASSERT_EQ(s.population.sbp_dbp_correlation, 0.6);
  s.patients = 20000;
  const double r = SampleSbpDbpCorrelation(s);
  EXPECT_NEAR(std::atanh(r), std::atanh(0.6), 4.0 / std::sqrt(s.patients - 3.0)) << "r = " << r;
}

// Here SBP 140 +- 8 and DBP 85 +- 5, so even at rho 0 the pulse-pressure bounds (20-100 mmHg,
// mean 55 +- 9.4) redraw only 0.01 %. With the default SDs and rho 0 they redraw 1.7 % (the
// widest and narrowest pulse pressures), which raises r to 0.065: the bounds, not the sampler.
TEST(CohortPopulationTest, ConfiguredSbpDbpCorrelationIsHonoured) {
  for (double rho : {0.0, 0.3, 0.85}) {
    CohortSpec s = SmallSpec();
    s.population = PopulationSpec{};
    s.trial = TrialSpec::Off();
    s.population.sbp_mmhg = {140.0, 8.0};
    s.population.dbp_mmhg = {85.0, 5.0};
    s.population.sbp_dbp_correlation = rho;
    s.patients = 20000;
    const double r = SampleSbpDbpCorrelation(s);
    EXPECT_NEAR(std::atanh(r), std::atanh(rho), 4.0 / std::sqrt(s.patients - 3.0)) << "rho " << rho << ", r = " << r;
  }
}

// The cohort's per-patient sensitivities follow the same truncated log-normal as the what-if
// members (whatif_test.cc checks its shape): none beyond exp(+-3 x 0.45).
TEST(CohortPopulationTest, ResponseSensitivityIsTruncatedAtThreeSd) {
  CohortSpec s = SmallSpec();
  s.patients = 20000;
  const double limit = std::exp(3.0 * kResponseSensitivityLogSd);
  double max_abs_log = 0.0;
  for (int i = 0; i < s.patients; ++i) {
    absl::StatusOr<PopulationDraw> d = DrawPopulation(s, i);
    ASSERT_TRUE(d.ok()) << d.status();
    for (double f : d->sensitivity.by_class) {
      ASSERT_LE(f, limit * (1 + 1e-12)) << i;
      ASSERT_GE(f, (1 - 1e-12) / limit) << i;
      max_abs_log = std::max(max_abs_log, std::abs(std::log(f)));
    }
  }
  EXPECT_EQ(kResponseSensitivityLogSd, 0.45);
  // 140,000 draws: about 72 per side lie beyond 2.9 SD, so the truncation is not narrower.
  EXPECT_GT(max_abs_log, 2.9 * 0.45);
}

TEST(CohortValidationTest, ErrorsNameTheField) {
  CohortSpec s = SmallSpec();
  s.arms[1].treatments[0].dose_mg = 50;
  absl::Status st = ValidateCohortSpec(s);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("arms[1].treatments[0].dose_mg"));
  EXPECT_THAT(st.message(), HasSubstr("off_label"));
  s.arms[1].treatments[0].off_label = true;
  EXPECT_TRUE(ValidateCohortSpec(s).ok());

  s = SmallSpec();
  s.arms[1].treatments[0].drug = "unobtainium";
  EXPECT_THAT(ValidateCohortSpec(s).message(), HasSubstr("amlodipine"));
  s = SmallSpec();
  s.patients = 0;
  EXPECT_THAT(ValidateCohortSpec(s).message(), HasSubstr("patients"));
  s = SmallSpec();
  s.patients = 1'000'000;  // x 2 arms is within the row limit, x 3 is not
  EXPECT_TRUE(ValidateCohortSpec(s).ok());
  s.arms.push_back({"third", {}});
  EXPECT_THAT(ValidateCohortSpec(s).message(), HasSubstr("per-patient rows"));
  s = SmallSpec();
  s.days = 400;
  EXPECT_THAT(ValidateCohortSpec(s).message(), HasSubstr("days"));
  s = SmallSpec();
  s.population.weight_kg.sd = -1;
  EXPECT_THAT(ValidateCohortSpec(s).message(), HasSubstr("population.weight_kg.sd"));
  s = SmallSpec();
  s.population.female_fraction = 1.5;
  EXPECT_THAT(ValidateCohortSpec(s).message(), HasSubstr("population.female_fraction"));
  s = SmallSpec();
  s.arms[1].name = "placebo";
  EXPECT_THAT(ValidateCohortSpec(s).message(), HasSubstr("arms[1].name"));
  s = SmallSpec();
  s.arms.clear();
  EXPECT_THAT(ValidateCohortSpec(s).message(), HasSubstr("arms"));
}

}  // namespace
}  // namespace healthtwin::models::treatment
