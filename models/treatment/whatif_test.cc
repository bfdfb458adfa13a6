#include "models/treatment/whatif.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/treatment/treatment_test_util.h"

namespace healthtwin::models::treatment {
namespace {

using ::testing::HasSubstr;
using testing::HypertensivePatient;

TreatmentOption Option(std::string name, std::vector<DrugRegimen> drugs) {
  TreatmentOption o;
  o.name = std::move(name);
  o.drugs = std::move(drugs);
  return o;
}

DrugRegimen Drug(std::string name, double dose_mg) {
  DrugRegimen r;
  r.drug = std::move(name);
  r.dose_mg = dose_mg;
  return r;
}

WhatIfSpec SmallSpec() {
  WhatIfSpec s;
  s.options = {Option("no change", {}), Option("amlodipine 5", {Drug("amlodipine", 5)}),
               Option("amlodipine 10", {Drug("amlodipine", 10)})};
  s.days = 7;
  s.ensemble_size = 6;
  s.seed = 11;
  s.threads = 2;
  return s;
}

absl::Status Invalid(const WhatIfSpec& s) { return ValidateWhatIfSpec(s); }

WhatIfPatient HypertensivePatientWithoutMap() {
  WhatIfPatient p;
  p.params = StandardAdult();
  p.long_horizon = LongHorizonParamsFor(p.demographics);
  return p;
}

TEST(WhatIfValidationTest, OutOfLabelDoseNamesFieldAndOffLabel) {
  WhatIfSpec s = SmallSpec();
  s.options[1].drugs[0].dose_mg = 500;
  absl::Status st = Invalid(s);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("options[1].drugs[0].dose_mg"));
  EXPECT_THAT(st.message(), HasSubstr("off_label"));
  s.options[1].drugs[0].off_label = true;
  EXPECT_TRUE(Invalid(s).ok());
}

TEST(WhatIfValidationTest, UnknownDrugListsKnownDrugs) {
  WhatIfSpec s = SmallSpec();
  s.options[2].drugs.push_back(Drug("aspirin", 100));
  absl::Status st = Invalid(s);
  EXPECT_THAT(st.message(), HasSubstr("options[2].drugs[1].drug"));
  EXPECT_THAT(st.message(), HasSubstr("metoprolol"));
}

TEST(WhatIfValidationTest, RangesAreChecked) {
  WhatIfSpec s = SmallSpec();
  s.days = 0;
  EXPECT_THAT(Invalid(s).message(), HasSubstr("days"));
  s.days = 366;
  EXPECT_THAT(Invalid(s).message(), HasSubstr("days"));
  s = SmallSpec();
  s.ensemble_size = 1001;
  EXPECT_THAT(Invalid(s).message(), HasSubstr("ensemble_size"));
  s = SmallSpec();
  s.options[1].name = "no change";
  EXPECT_THAT(Invalid(s).message(), HasSubstr("options[1].name"));
  s = SmallSpec();
  s.options[1].drugs[0].adherence_fraction = 0.0;
  EXPECT_THAT(Invalid(s).message(), HasSubstr("options[1].drugs[0].adherence_fraction"));
  s = SmallSpec();
  s.options[1].drugs[0].start_day = 8;
  EXPECT_THAT(Invalid(s).message(), HasSubstr("options[1].drugs[0].start_day"));
  s = SmallSpec();
  s.target.systolic_below_mmhg = 20;
  EXPECT_THAT(Invalid(s).message(), HasSubstr("target.systolic_below_mmhg"));
  s = SmallSpec();
  s.options[0].sodium_intake_mmol_per_day = 5000;
  EXPECT_THAT(Invalid(s).message(), HasSubstr("options[0].sodium_intake_mmol_per_day"));
}

TEST(WhatIfValidationTest, PosteriorWithUnknownParameterIsRejected) {
  WhatIfSpec s = SmallSpec();
  TwinPosterior p = WhatIfPrior();
  p.names[0] = "log_kidney";
  s.posterior = p;
  EXPECT_THAT(Invalid(s).message(), HasSubstr("posterior.names[0]"));
}

TEST(WhatIfTest, RanksTreatmentsAndReportsBandsAndProgress) {
  double last = -1.0;
  absl::StatusOr<WhatIfResult> r = RunWhatIf(HypertensivePatient(), SmallSpec(), [&](double f, std::string_view) {
    EXPECT_GE(f, last);
    last = f;
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(last, 1.0);
  ASSERT_EQ(r->options.size(), 3u);
  EXPECT_EQ(r->twin_version, 0u);
  // No flags expected at 155/95; then lower end trough SBP ranks higher: the higher dose first.
  EXPECT_EQ(r->options[0].name, "amlodipine 10");
  EXPECT_EQ(r->options[1].name, "amlodipine 5");
  EXPECT_EQ(r->options[2].name, "no change");
  EXPECT_EQ(r->options[2].input_index, 0);
  for (const OptionResult& o : r->options) {
    EXPECT_TRUE(o.safety_flags.empty());
    ASSERT_EQ(o.trajectories.size(), 10u);
    for (const Trajectory& t : o.trajectories) {
      ASSERT_EQ(t.days.size(), 8u) << t.quantity;  // day 0 .. 7
      for (const DailyBand& b : t.days) {
        EXPECT_LE(b.lower, b.mean + 1e-9) << t.quantity;
        EXPECT_GE(b.upper, b.mean - 1e-9) << t.quantity;
      }
    }
  }
  const Trajectory& sbp = r->options[0].trajectories[0];
  EXPECT_EQ(sbp.quantity, "trough_systolic_mmhg");
  EXPECT_LT(sbp.days.back().mean, sbp.days.front().mean - 5.0);
  // The prior spreads the members: a band, not a line.
  EXPECT_GT(sbp.days.back().upper - sbp.days.back().lower, 1.0);
}

TEST(WhatIfTest, SameSeedSameResultAnyThreadCount) {
  WhatIfSpec a = SmallSpec();
  a.options.resize(2);
  a.days = 3;
  a.threads = 1;
  WhatIfSpec b = a;
  b.threads = 2;
  absl::StatusOr<WhatIfResult> ra = RunWhatIf(HypertensivePatient(), a);
  absl::StatusOr<WhatIfResult> rb = RunWhatIf(HypertensivePatient(), b);
  ASSERT_TRUE(ra.ok() && rb.ok());
  for (std::size_t o = 0; o < ra->options.size(); ++o) {
    for (std::size_t q = 0; q < ra->options[o].trajectories.size(); ++q) {
      for (std::size_t d = 0; d < ra->options[o].trajectories[q].days.size(); ++d) {
        EXPECT_EQ(ra->options[o].trajectories[q].days[d].mean, rb->options[o].trajectories[q].days[d].mean);
        EXPECT_EQ(ra->options[o].trajectories[q].days[d].upper, rb->options[o].trajectories[q].days[d].upper);
      }
    }
  }
  WhatIfSpec c = a;
  c.seed = 12;
  absl::StatusOr<WhatIfResult> rc = RunWhatIf(HypertensivePatient(), c);
  ASSERT_TRUE(rc.ok());
  EXPECT_NE(rc->options[0].trajectories[0].days.back().upper, ra->options[0].trajectories[0].days.back().upper);
}

TEST(WhatIfTest, EnsembleOfOneIsThePosteriorMean) {
  WhatIfSpec s = SmallSpec();
  s.options = {Option("none", {})};
  s.ensemble_size = 1;
  s.days = 2;
  absl::StatusOr<WhatIfResult> r = RunWhatIf(HypertensivePatient(), s);
  ASSERT_TRUE(r.ok());
  absl::StatusOr<Course> nominal = SimulateCourse(testing::HypertensivePerson(), {}, {}, 1, 1);
  ASSERT_TRUE(nominal.ok());
  const DailyBand& b = r->options[0].trajectories[0].days[0];
  EXPECT_DOUBLE_EQ(b.mean, nominal->baseline.sbp_mmhg);
  EXPECT_EQ(b.lower, b.upper);
}

TEST(WhatIfTest, ProgressCanCancel) {
  // Without a prebuilt map the first report comes before the map is built: cancel there.
  WhatIfPatient p = HypertensivePatientWithoutMap();
  int calls = 0;
  absl::StatusOr<WhatIfResult> r = RunWhatIf(p, SmallSpec(), [&](double f, std::string_view stage) {
    EXPECT_EQ(f, 0.0);
    EXPECT_THAT(std::string(stage), HasSubstr("map"));
    ++calls;
    return false;
  });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
}

OptionResult Synthetic(std::string name, int index, double attainment, double sbp, bool flagged) {
  OptionResult o;
  o.name = std::move(name);
  o.input_index = index;
  o.target_attainment_fraction = attainment;
  o.mean_end_trough_sbp_mmhg = sbp;
  if (flagged) o.safety_flags.push_back(SafetyFlag::kHypotension);
  return o;
}

TEST(WhatIfRankingTest, FlaggedOptionsRankLastThenAttainmentThenSbp) {
  std::vector<OptionResult> v = {Synthetic("flagged best", 0, 1.0, 100.0, true),
                                 Synthetic("half", 1, 0.5, 128.0, false), Synthetic("half lower", 2, 0.5, 126.0, false),
                                 Synthetic("most", 3, 0.8, 129.0, false), Synthetic("none", 4, 0.0, 150.0, false)};
  RankOptions(v);
  std::vector<std::string> names;
  for (const OptionResult& o : v) names.push_back(o.name);
  EXPECT_THAT(names, ::testing::ElementsAre("most", "half lower", "half", "none", "flagged best"));
  EXPECT_EQ(v[0].rank, 1);
  EXPECT_EQ(v[4].rank, 5);
}

// models/README.md: an option is flagged when >= flag_fraction (10 %) of members have the flag.
TEST(WhatIfFlagFractionTest, DefaultIsTenPercent) { EXPECT_EQ(WhatIfSpec{}.flag_fraction, 0.10); }

TEST(WhatIfFlagFractionTest, ExactlyTheFractionFlagsAndOneMemberFewerDoesNot) {
  EXPECT_TRUE(OptionFlagged(1, 10, 0.10));
  EXPECT_FALSE(OptionFlagged(0, 10, 0.10));
  EXPECT_TRUE(OptionFlagged(10, 100, 0.10));
  EXPECT_FALSE(OptionFlagged(9, 100, 0.10));
  EXPECT_TRUE(OptionFlagged(5, 50, 0.10));
  EXPECT_FALSE(OptionFlagged(4, 50, 0.10));
  EXPECT_TRUE(OptionFlagged(3, 10, 0.3));
  EXPECT_FALSE(OptionFlagged(2, 10, 0.3));
  EXPECT_TRUE(OptionFlagged(1, 1, 1.0));
}

// The same rule through RunWhatIf: metoprolol 400 mg slows some members below 50 /min (those with
// a high beta-blocker sensitivity), not all. With flag_fraction set to exactly the fraction that
// has the flag the option is flagged; needing one member more, it is not.
TEST(WhatIfFlagFractionTest, RunWhatIfFlagsAtExactlyTheFractionOfMembers) {
  WhatIfSpec s = SmallSpec();
  s.options = {Option("metoprolol 400", {Drug("metoprolol", 400)})};
  s.days = 3;
  s.ensemble_size = 20;
  s.flag_fraction = 1.0;
  absl::StatusOr<WhatIfResult> r = RunWhatIf(HypertensivePatient(), s);
  ASSERT_TRUE(r.ok()) << r.status();
  const int flagged = static_cast<int>(std::lround(r->options[0].bradycardia_fraction * 20));
  ASSERT_GT(flagged, 0);
  ASSERT_LT(flagged, 20);
  s.flag_fraction = flagged / 20.0;
  r = RunWhatIf(HypertensivePatient(), s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->options[0].safety_flags, ::testing::Contains(SafetyFlag::kBradycardia)) << flagged << " of 20";
  s.flag_fraction = (flagged + 1) / 20.0;
  r = RunWhatIf(HypertensivePatient(), s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->options[0].safety_flags, ::testing::Not(::testing::Contains(SafetyFlag::kBradycardia)))
      << flagged << " of 20";
}

// models/README.md: each member's sensitivity per class is log-normal with SD 0.45 of the log,
// truncated at +-3 SD. 20,000 members x 7 classes = 140,000 draws of z = log(f) / 0.45:
// - none beyond 3 (a factor outside exp(+-1.35) = 0.26-3.86); untruncated, ~380 would be;
// - the truncation is at 3, not lower: the expected count in (2.9, 3] on each side is
//   140,000 x (Phi(3) - Phi(2.9)) / 0.9973 = 72, so at least 40 per side (3.8 Poisson SD below);
// - the SD of z is that of a standard normal truncated at 3, sqrt(1 - 6 phi(3) / 0.9973) =
//   0.98658; its sample SD has standard error 1 / sqrt(2 N) = 0.0019, we allow 4 (0.0076),
//   which a log SD of 0.42 or 0.48 (z SD 0.921 or 1.052) fails.
TEST(ResponseSensitivityTest, LogNormalWithSdPointFourFiveTruncatedAtThreeSd) {
  Rng rng(StreamSeed(2026, {7}));
  const double limit = std::exp(3.0 * 0.45);
  int n = 0, beyond = 0, upper_edge = 0, lower_edge = 0;
  double sum = 0.0, sum_sq = 0.0;
  for (int member = 0; member < 20000; ++member) {
    for (double f : DrawResponseSensitivity(rng).by_class) {
      const double z = std::log(f) / 0.45;
      ++n;
      beyond += f > limit * (1 + 1e-12) || f < (1 - 1e-12) / limit;
      upper_edge += z > 2.9 && z <= 3.0 + 1e-9;
      lower_edge += z < -2.9 && z >= -3.0 - 1e-9;
      sum += z;
      sum_sq += z * z;
    }
  }
  EXPECT_EQ(beyond, 0);
  EXPECT_GE(upper_edge, 40);
  EXPECT_GE(lower_edge, 40);
  const double mean = sum / n;
  const double sd = std::sqrt((sum_sq - n * mean * mean) / (n - 1));
  EXPECT_NEAR(mean, 0.0, 4.0 * 0.98658 / std::sqrt(n));
  EXPECT_NEAR(sd, 0.98658, 4.0 / std::sqrt(2.0 * n));
}

}  // namespace
}  // namespace healthtwin::models::treatment
