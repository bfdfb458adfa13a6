// The trial layer's per-patient draws (trial_patient.h): the Beta and Gamma samplers, adherence
// and stopping as Vrijens et al. (BMJ 2008) report them, the response factor, and the
// between-patient spread of the response and the variance ratio of the SBP change against the
// published figures of models/VALIDATION.md, "Virtual trial".
#include "models/treatment/trial_patient.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "models/treatment/cohort.h"
#include "models/treatment/treatment_test_util.h"
#include "models/treatment/trial_validation.h"

namespace healthtwin::models::treatment {
namespace {

struct Moments {
  double mean = 0.0, sd = 0.0;
};
Moments Of(const std::vector<double>& v) {
  Moments m;
  for (double x : v) m.mean += x / static_cast<double>(v.size());
  for (double x : v) m.sd += (x - m.mean) * (x - m.mean) / static_cast<double>(v.size() - 1);
  m.sd = std::sqrt(m.sd);
  return m;
}

// 20,000 draws: the standard error of the mean is SD / 141, so the bounds below are > 5 SE wide.
TEST(TrialPatientTest, BetaAndGammaDrawsHaveTheirMoments) {
  Rng rng(42);
  std::vector<double> beta, gamma_small, gamma_large;
  for (int i = 0; i < 20000; ++i) {
    beta.push_back(BetaDraw(rng, 9.0, 1.0));
    gamma_small.push_back(GammaDraw(rng, 0.5));
    gamma_large.push_back(GammaDraw(rng, 4.0));
  }
  const Moments b = Of(beta), g1 = Of(gamma_small), g4 = Of(gamma_large);
  EXPECT_NEAR(b.mean, 0.9, 0.004);
  EXPECT_NEAR(b.sd, std::sqrt(9.0 / (100.0 * 11.0)), 0.004);  // ab / ((a+b)^2 (a+b+1))
  EXPECT_NEAR(g1.mean, 0.5, 0.03);
  EXPECT_NEAR(g1.sd, std::sqrt(0.5), 0.03);
  EXPECT_NEAR(g4.mean, 4.0, 0.1);
  EXPECT_NEAR(g4.sd, 2.0, 0.1);
  for (double x : beta) ASSERT_TRUE(x > 0.0 && x <= 1.0);
}

TEST(TrialPatientTest, OffDrawsNothingAndChangesNoRegimen) {
  const TrialPatient p = DrawTrialPatient(TrialSpec::Off(), 7, 3);
  EXPECT_EQ(p.response_factor, 1.0);
  EXPECT_EQ(p.adherence, 1.0);
  EXPECT_LT(p.stop_day, 0.0);
  pharma::Regimen r;
  r.drug = "amlodipine";
  r.dose_mg = 10;
  const std::vector<pharma::Regimen> taken = AsTaken({r}, p);
  EXPECT_EQ(taken[0].adherence, 1.0);
  EXPECT_TRUE(std::isinf(taken[0].stop_h));
  const pharma::ResponseSensitivity s = ScaleSensitivity(pharma::ResponseSensitivity{}, p);
  for (double f : s.by_class) EXPECT_EQ(f, 1.0);
}

// Vrijens 2008: ~10 % of doses missed by those still taking the drug, about half stopped within a
// year. 4,000 patients: the SE of a fraction near 0.5 is 0.008.
TEST(TrialPatientTest, AdherenceAndStoppingFollowVrijens) {
  TrialSpec t;
  t.response_heterogeneity = true;
  t.adherence = true;  // off by default (trial.h)
  std::vector<double> adherence, log_factor;
  int stopped_in_year = 0, stopped_in_8_weeks = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const TrialPatient p = DrawTrialPatient(t, 99, i);
    adherence.push_back(p.adherence);
    log_factor.push_back(std::log(p.response_factor));
    stopped_in_year += p.stop_day >= 0.0 && p.stop_day < 365.0;
    stopped_in_8_weeks += p.stop_day >= 0.0 && p.stop_day < 56.0;
    // Keyed by (seed, patient) only: the same draw again, whatever was drawn before.
    const TrialPatient again = DrawTrialPatient(t, 99, i);
    ASSERT_EQ(again.adherence, p.adherence);
    ASSERT_EQ(again.stop_day, p.stop_day);
    ASSERT_EQ(again.response_factor, p.response_factor);
  }
  EXPECT_NEAR(Of(adherence).mean, 0.9, 0.006);
  EXPECT_NEAR(Of(adherence).sd, 0.09, 0.006);
  EXPECT_NEAR(stopped_in_year / static_cast<double>(n), 0.5, 0.03);
  EXPECT_NEAR(stopped_in_8_weeks / static_cast<double>(n), 1.0 - std::exp(std::log(0.5) * 56.0 / 365.0), 0.02);
  EXPECT_NEAR(Of(log_factor).mean, 0.0, 0.02);
  EXPECT_NEAR(Of(log_factor).sd, 0.25, 0.015);
  // Another seed, other draws.
  EXPECT_NE(DrawTrialPatient(t, 100, 0).adherence, DrawTrialPatient(t, 99, 0).adherence);
}

TEST(TrialPatientTest, BadValuesAreClearErrors) {
  for (auto [field, set] : std::vector<std::pair<const char*, void (*)(TrialSpec&)>>{
           {"trial.response_log_sd", [](TrialSpec& t) { t.response_log_sd = -0.1; }},
           {"trial.adherence_mean", [](TrialSpec& t) { t.adherence_mean = 0.0; }},
           {"trial.adherence_concentration", [](TrialSpec& t) { t.adherence_concentration = 0.5; }},
           {"trial.stop_per_year", [](TrialSpec& t) { t.stop_per_year = 1.0; }}}) {
    TrialSpec t;
    set(t);
    const absl::Status s = ValidateTrialSpec(t);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_NE(s.message().find(field), std::string::npos) << s.message();
  }
}

// Noise-free cohort (every arm, no measurement noise, placebo response, screening or dropout), so
// a patient's change in an arm is the simulated response itself; 60 patients, 84 days.
CohortSpec TrueResponseSpec() {
  CohortSpec s = TrueResponseValidationSpec();
  s.patients = 60;
  return s;
}

std::vector<double> Changes(const CohortResult& r, int arm) {
  std::vector<double> v;
  for (const PatientRow& row : r.rows) {
    if (row.arm == arm) v.push_back(row.end_sbp_mmhg - row.baseline_sbp_mmhg);
  }
  return v;
}

// Adherence lowers the mean response and records the doses taken; switched off, every dose.
TEST(TrialPatientTest, AdherenceLowersTheMeanResponseAndIsRecorded) {
  CohortSpec without = TrueResponseSpec();
  ASSERT_FALSE(without.trial.adherence);  // off by default (trial.h)
  CohortSpec with = without;
  with.trial.adherence = true;
  absl::StatusOr<CohortResult> a = RunCohort(with, {.threads = 2, .progress = {}});
  absl::StatusOr<CohortResult> b = RunCohort(without, {.threads = 2, .progress = {}});
  ASSERT_TRUE(a.ok() && b.ok());
  double taken = 0.0;
  int drug_rows = 0;
  for (const PatientRow& row : a->rows) {
    if (row.arm == 0) {
      EXPECT_EQ(row.doses_taken_fraction, 1.0);  // placebo: no drug doses
    }
    if (row.arm == 1) {
      taken += row.doses_taken_fraction;
      ++drug_rows;
    }
  }
  for (const PatientRow& row : b->rows) EXPECT_EQ(row.doses_taken_fraction, 1.0);
  taken /= drug_rows;
  EXPECT_GT(taken, 0.75);
  EXPECT_LT(taken, 0.92);
  EXPECT_GT(a->arms[1].sbp_mmhg.mean_change, b->arms[1].sbp_mmhg.mean_change + 0.3);  // a smaller fall
}

// The response factor, switched on, widens the spread of the response and correlates a patient's
// responses to two classes (both scaled by the same factor).
TEST(TrialPatientTest, ResponseFactorWidensAndCorrelatesResponses) {
  CohortSpec off = TrueResponseSpec();
  off.trial.adherence = false;
  off.arms.push_back({"amlodipine 10 mg", {{"amlodipine", 10.0, 24.0, false}}});
  CohortSpec on = off;
  on.trial.response_heterogeneity = true;
  on.trial.response_log_sd = 0.4;
  absl::StatusOr<CohortResult> a = RunCohort(off, {.threads = 2, .progress = {}});
  absl::StatusOr<CohortResult> b = RunCohort(on, {.threads = 2, .progress = {}});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  auto correlation = [](const std::vector<double>& x, const std::vector<double>& y) {
    const Moments mx = Of(x), my = Of(y);
    double c = 0.0;
    for (std::size_t i = 0; i < x.size(); ++i) c += (x[i] - mx.mean) * (y[i] - my.mean);
    return c / static_cast<double>(x.size() - 1) / (mx.sd * my.sd);
  };
  // On the log scale (the factor multiplies): SD of log 0.45 per class alone, sqrt(0.45² + 0.4²) = 0.6
  // with the factor; the SD of the raw changes is dominated by a few large responders at n = 60.
  auto log_falls = [](std::vector<double> v) {
    for (double& x : v) x = std::log(std::max(0.01, -x));
    return v;
  };
  EXPECT_GT(Of(log_falls(Changes(*b, 1))).sd, 1.15 * Of(log_falls(Changes(*a, 1))).sd);
  EXPECT_GT(correlation(Changes(*b, 1), Changes(*b, 2)), correlation(Changes(*a, 1), Changes(*a, 2)) + 0.2);
}

// The true between-patient SD of the SBP response to an ACE inhibitor (VALIDATION.md, "Virtual
// trial", the same spec and value): Bell et al. (Hypertension 2010;56:533) 2.6 mmHg at 3 months,
// accepted 1.3-5.2 (half to twice: our choice; the paper gives one estimate). 200 patients: the
// SD of a sample SD is SD / sqrt(2 (n - 1)) = 5 %, and the response's tail (a few patients with
// 3x the typical sensitivity) adds to that; with adherence on, over seeds 1, 2, 3, 2015, 2016,
// 2017 the 300-patient figure was 3.4-4.3 mmHg, inside the band. Both settings: adherence off
// (the default) and on.
TEST(TrialPatientTest, TrueResponseSdIsInThePublishedRange) {
  for (const bool adherence : {false, true}) {
    SCOPED_TRACE(adherence ? "adherence on" : "adherence off");
    absl::StatusOr<CohortResult> r = RunCohort(TrueResponseValidationSpec(adherence), {.threads = 2, .progress = {}});
    ASSERT_TRUE(r.ok());
    for (double c : Changes(*r, 0)) ASSERT_NEAR(c, 0.0, 1e-9);  // noise-free: placebo does not move
    const Moments m = Of(Changes(*r, 1));
    std::printf("true response, adherence %s: lisinopril 20 mg SBP %+.2f SD %.2f mmHg (n %zu)\n",
                adherence ? "on" : "off", m.mean, m.sd, Changes(*r, 1).size());
    EXPECT_GE(m.sd, kBellTrueResponseSdLow);
    EXPECT_LE(m.sd, kBellTrueResponseSdHigh);
  }
}

// The variance ratio of the office SBP change, drug arm against placebo arm, with the trial layer's
// defaults: Bell 2010's apparent SD of change 15.2 against the within-person SD 14.9 mmHg gives
// 1.04; accepted 0.79-1.37, the 95 % sampling range of a variance ratio of two arms of 200
// (exp(±1.96 × sqrt(2/199 + 2/199))). Every-arm design with 1,000 patients (~2 s): the ratio is
// driven by the tail of the response, and with adherence off (the default) 300 patients gave
// 1.02-1.42 over seeds 1, 2, 3, 2015-2017 and 1,000 gave 1.12-1.28. Ours sits above Bell's 1.04
// (see models/README.md, "Trial layer"), which is why the response factor is off by default.
TEST(TrialPatientTest, VarianceRatioOfSbpChangeIsInThePublishedRange) {
  CohortSpec s = TrialValidationSpec();
  s.allocation = Allocation::kEveryArm;
  s.patients = 1000;
  absl::StatusOr<CohortResult> r = RunCohort(s, {.threads = 2, .progress = {}});
  ASSERT_TRUE(r.ok());
  const double ratio = std::pow(r->arms[1].sbp_mmhg.sd_change / r->arms[0].sbp_mmhg.sd_change, 2);
  std::printf("variance ratio %.3f (SD of SBP change %.2f / %.2f)\n", ratio, r->arms[1].sbp_mmhg.sd_change,
              r->arms[0].sbp_mmhg.sd_change);
  EXPECT_GE(ratio, kVarianceRatioLow);
  EXPECT_LE(ratio, kVarianceRatioHigh);
}

}  // namespace
}  // namespace healthtwin::models::treatment
