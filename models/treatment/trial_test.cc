#include "models/treatment/trial.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "models/treatment/cohort.h"
#include "models/treatment/treatment_test_util.h"

namespace healthtwin::models::treatment {
namespace {

std::string ReadTestdata(const std::string& name) {
  std::ifstream f(std::string(HT_TREATMENT_TESTDATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(f.good()) << name;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string SummaryHex(const CohortResult& r) {
  std::string out;
  char buf[256];
  for (const ArmSummary& a : r.arms) {
    for (const MeanChange* m : {&a.sbp_mmhg, &a.dbp_mmhg, &a.heart_rate_bpm}) {
      std::snprintf(buf, sizeof buf, "%s %d %a %a %a %a %a\n", a.name.c_str(), a.n, m->baseline_mean, m->end_mean,
                    m->mean_change, m->ci95_low, m->ci95_high);
      out += buf;
    }
  }
  return out;
}

CohortResult RunTrial(const CohortSpec& spec) {
  absl::StatusOr<CohortResult> r = RunCohort(spec, {.threads = 2, .progress = {}});
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : CohortResult{};
}

// testdata/golden_*.{csv,txt} were written by the cohort code before the trial layer existed
// (SmallCohortSpec; randomized with seed 11): with everything off the outputs are those, bit for bit.
TEST(TrialTest, EverythingOffReproducesThePlainCohortExactly) {
  for (const bool randomized : {false, true}) {
    CohortSpec s = testing::SmallCohortSpec();
    s.trial = TrialSpec::Off();
    if (randomized) {
      s.allocation = Allocation::kRandomized;
      s.seed = 11;
    }
    const std::string name = randomized ? "golden_randomized" : "golden_every_arm";
    const CohortResult r = RunTrial(s);
    EXPECT_EQ(PerPatientCsv(s, r), ReadTestdata(name + ".csv")) << name;
    EXPECT_EQ(SummaryHex(r), ReadTestdata(name + ".txt")) << name;
    for (const ArmSummary& a : r.arms) {
      EXPECT_EQ(a.analysed, a.n);
      EXPECT_EQ(a.dropouts, 0);
    }
  }
}

TEST(TrialTest, DefaultsAreOnAndTheCsvGainsTheTrialColumns) {
  const TrialSpec t;
  EXPECT_TRUE(t.measurement_noise && t.visit_schedule && t.screening && t.placebo_response && t.dropout);
  // Off: the drug effects already include trials' adherence; the response factor is not needed (trial.h).
  EXPECT_FALSE(t.adherence);
  EXPECT_FALSE(t.response_heterogeneity);
  EXPECT_FALSE(TrialSpec::Off().AnyOn());
  CohortSpec s = testing::SmallCohortSpec();
  EXPECT_NE(PerPatientCsvHeader(s).find("extrapolated,screen_sbp_mmhg,"), std::string::npos);
  s.trial = TrialSpec::Off();
  EXPECT_EQ(PerPatientCsvHeader(s), PerPatientCsvHeader());
}

TEST(TrialTest, VisitScheduleEndsOnTheLastDay) {
  TrialSpec t;
  EXPECT_EQ(VisitDays(t, 56), (std::vector<int>{14, 28, 42, 56}));
  EXPECT_EQ(VisitDays(t, 30), (std::vector<int>{14, 28, 30}));
  t.visit_schedule = false;
  EXPECT_EQ(VisitDays(t, 56), (std::vector<int>{56}));
}

TEST(TrialTest, VisitMeanHasThePublishedSpread) {
  TrialSpec t;
  Rng rng(42);
  const int n = 20000;
  double s = 0, ss = 0;
  for (int i = 0; i < n; ++i) {
    const double v = MeasureVisit(t, rng, 150.0, 90.0).sbp_mmhg - 150.0;
    s += v;
    ss += v * v;
  }
  const double sd = std::sqrt(ss / n - (s / n) * (s / n));
  // sqrt(9.0^2 + 4.0^2 / 3) = 9.29 mmHg; the SD of 20,000 draws is within 2 % of it.
  EXPECT_NEAR(sd, std::sqrt(81.0 + 16.0 / 3.0), 0.19);
  t.measurement_noise = false;
  EXPECT_EQ(MeasureVisit(t, rng, 150.0, 90.0).sbp_mmhg, 150.0);
}

// One arm, placebo only; screening off, so nothing but the placebo response moves the mean.
CohortSpec PlaceboOnly(int patients) {
  CohortSpec s = testing::SmallCohortSpec();
  s.patients = patients;
  s.days = 28;
  s.arms = {ArmSpec{"placebo", {}}};
  s.trial.screening = false;
  s.trial.analysis = DropoutAnalysis::kCompleters;
  return s;
}

TEST(TrialTest, PlaceboArmChangeIsTheConfiguredResponseWithinItsCi) {
  const CohortSpec s = PlaceboOnly(300);
  const CohortResult r = RunTrial(s);
  const ArmSummary& a = r.arms[0];
  EXPECT_GT(a.dropouts, 0);  // 2 % per 30 days of 300: P(none) < 0.01 %
  EXPECT_EQ(a.analysed, a.n - a.dropouts);
  EXPECT_LE(a.sbp_mmhg.ci95_low, s.trial.placebo_sbp_mmhg);
  EXPECT_GE(a.sbp_mmhg.ci95_high, s.trial.placebo_sbp_mmhg);
  EXPECT_LE(a.dbp_mmhg.ci95_low, s.trial.placebo_dbp_mmhg);
  EXPECT_GE(a.dbp_mmhg.ci95_high, s.trial.placebo_dbp_mmhg);
  EXPECT_LT(a.sbp_mmhg.ci95_high, 0.0);  // distinguishable from no response
  // With the placebo response off the CI covers 0 instead.
  CohortSpec off = s;
  off.trial.placebo_response = false;
  const ArmSummary b = RunTrial(off).arms[0];
  EXPECT_LE(b.sbp_mmhg.ci95_low, 0.0);
  EXPECT_GE(b.sbp_mmhg.ci95_high, 0.0);
}

// Screening on a noisy SBP: enrolled patients read high by chance. Checked only at screening, the
// baseline visit (fresh noise) is already lower and the follow-up no lower; confirmed at the
// baseline visit too (the default), the follow-up falls from baseline, the regression a trial
// reports. With the noise off, screening selects on the true SBP and nothing regresses.
TEST(TrialTest, RegressionToTheMeanEmergesFromScreeningOnNoise) {
  CohortSpec s = PlaceboOnly(200);
  s.trial = TrialSpec::Off();
  s.trial.screening = true;
  s.trial.measurement_noise = true;
  s.trial.screen_sbp_min_mmhg = 150.0;  // the population is 147 ± 2
  s.trial.confirm_at_baseline = false;
  const CohortResult r = RunTrial(s);
  double screen = 0, base = 0, baseline_true = 0;
  for (const PatientRow& row : r.rows) {
    EXPECT_GE(row.screen_sbp_mmhg, 150.0);
    screen += row.screen_sbp_mmhg / r.rows.size();
    base += row.office_baseline_sbp_mmhg / r.rows.size();
    baseline_true += row.baseline_sbp_mmhg / r.rows.size();
  }
  EXPECT_GT(screen - base, 3.0) << "screen " << screen << ", baseline visit " << base;
  EXPECT_NEAR(base, baseline_true, 2.0);
  EXPECT_LE(r.arms[0].sbp_mmhg.ci95_low, 0.0);
  EXPECT_GE(r.arms[0].sbp_mmhg.ci95_high, 0.0);

  CohortSpec confirmed = s;
  confirmed.trial.confirm_at_baseline = true;
  const CohortResult c = RunTrial(confirmed);
  for (const PatientRow& row : c.rows) EXPECT_GE(row.office_baseline_sbp_mmhg, 150.0);
  EXPECT_LT(c.arms[0].sbp_mmhg.mean_change, -2.0);
  EXPECT_LT(c.arms[0].sbp_mmhg.ci95_high, 0.0);

  CohortSpec exact = s;
  exact.trial.measurement_noise = false;
  exact.trial.screen_sbp_min_mmhg = 147.0;
  const CohortResult e = RunTrial(exact);
  for (const PatientRow& row : e.rows) EXPECT_GE(row.baseline_sbp_mmhg, 146.95);
  EXPECT_NEAR(e.arms[0].sbp_mmhg.mean_change, 0.0, 1e-9);
  EXPECT_NEAR(e.arms[0].sbp_mmhg.ci95_low, 0.0, 1e-9);
}

TEST(TrialTest, ImpossibleScreeningIsAClearError) {
  CohortSpec s = PlaceboOnly(2);
  s.trial.screening = true;
  s.trial.measurement_noise = false;
  s.trial.screen_sbp_min_mmhg = 200.0;
  absl::StatusOr<PopulationDraw> d = DrawPopulation(s, 0);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("trial.screen_sbp_min_mmhg"), std::string::npos) << d.status();
  s.trial.readings_per_visit = 0;
  EXPECT_NE(ValidateCohortSpec(s).message().find("trial.readings_per_visit"), std::string::npos);
}

// A placebo-controlled parallel trial of about 200 per arm over 8 weeks, the defaults on. Trials
// of that size report an SD of office SBP change of 11.8 mmHg (placebo, 116 patients, 6-8 weeks:
// -5.3 ± 1.1 SE, Mancia et al., Am J Hypertens 1995;8:311) to 14.4 mmHg (Syst-China placebo, 728
// patients, 3 months: -4.1 ± 14.4, Blood Press Monit 1997;2:15); DBP 6.5 (Mancia: SE 0.6) to 6.7
// (Syst-China). We accept SBP SD 10-16 and DBP SD 5.5-9.5 mmHg; for n = 200 those give a 95 %
// CI of the arm's mean change 2.8-4.5 mmHg wide and of the placebo-adjusted SBP difference
// 3.9-6.3 mmHg wide.
TEST(TrialTest, TrialOfTwoHundredPerArmHasPublishedSdsAndCiWidths) {
  CohortSpec s = testing::SmallCohortSpec();
  s.patients = 400;
  s.days = 56;
  s.seed = 2015;
  s.allocation = Allocation::kRandomized;
  s.population.sbp_mmhg = {150.0, 2.0};
  const CohortResult r = RunTrial(s);
  ASSERT_EQ(r.arms.size(), 2u);
  for (const ArmSummary& a : r.arms) {
    SCOPED_TRACE(a.name);
    EXPECT_GT(a.n, 170);
    EXPECT_LT(a.n, 230);
    EXPECT_GE(a.sbp_mmhg.sd_change, 10.0);
    EXPECT_LE(a.sbp_mmhg.sd_change, 16.0);
    EXPECT_GE(a.dbp_mmhg.sd_change, 5.5);
    EXPECT_LE(a.dbp_mmhg.sd_change, 9.5);
    const double width = a.sbp_mmhg.ci95_high - a.sbp_mmhg.ci95_low;
    EXPECT_GE(width, 2.8 * std::sqrt(200.0 / a.analysed) * 0.95);
    EXPECT_LE(width, 4.5 * std::sqrt(200.0 / a.analysed) * 1.05);
  }
  const PlaceboAdjusted& p = r.arms[1].placebo_adjusted;
  ASSERT_EQ(p.control_arm, 0);
  const double width = p.sbp_mmhg.ci95_high - p.sbp_mmhg.ci95_low;
  EXPECT_GE(width, 3.9 * 0.9);
  EXPECT_LE(width, 6.3 * 1.1);
  EXPECT_LT(p.sbp_mmhg.ci95_high, 0.0);             // amlodipine 10 mg beats placebo
  EXPECT_LT(r.arms[0].sbp_mmhg.mean_change, -3.0);  // placebo response plus regression to the mean
  std::printf("trial n=%d/%d: placebo SBP %+.2f SD %.2f, drug SBP %+.2f SD %.2f, adjusted %+.2f [%+.2f, %+.2f]\n",
              r.arms[0].n, r.arms[1].n, r.arms[0].sbp_mmhg.mean_change, r.arms[0].sbp_mmhg.sd_change,
              r.arms[1].sbp_mmhg.mean_change, r.arms[1].sbp_mmhg.sd_change, p.sbp_mmhg.difference, p.sbp_mmhg.ci95_low,
              p.sbp_mmhg.ci95_high);
}

TEST(TrialTest, SameSeedSameTrialWithAnyThreadCount) {
  CohortSpec s = PlaceboOnly(40);
  s.trial = TrialSpec{};
  s.arms = testing::SmallCohortSpec().arms;
  absl::StatusOr<CohortResult> one = RunCohort(s, {.threads = 1, .progress = {}});
  absl::StatusOr<CohortResult> two = RunCohort(s, {.threads = 2, .progress = {}});
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(PerPatientCsv(s, *one), PerPatientCsv(s, *two));
  EXPECT_EQ(one->arms[1].placebo_adjusted.sbp_mmhg.ci95_low, two->arms[1].placebo_adjusted.sbp_mmhg.ci95_low);
}

}  // namespace
}  // namespace healthtwin::models::treatment
