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

}  // namespace
}  // namespace healthtwin::models::treatment
