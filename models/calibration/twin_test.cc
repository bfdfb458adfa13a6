#include "models/calibration/twin.h"

#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/calibration/synthetic.h"
#include "models/calibration/twin_test_util.h"

namespace healthtwin::models::calibration {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t kDayS = 86400;

struct Fixture {
  std::shared_ptr<const ObservationModel> model = testing::StandardModel();
  PopulationPrior prior = PriorFor({});
  SyntheticPatient patient;
};

// A synthetic standard adult; HR thinned to every 5 minutes to keep the test fast.
Fixture MakeFixture(std::uint64_t seed, int days, int drift_start = -1, ParamVector drift = {}) {
  Fixture f;
  SyntheticOptions o;
  o.days = days;
  o.hr_every_minutes = 5;
  o.drift_start_day = drift_start;
  o.drift_per_day = drift;
  absl::StatusOr<SyntheticPatient> p = SimulatePatient(StandardAdult(), *f.model, f.prior, seed, o);
  EXPECT_TRUE(p.ok()) << p.status();
  if (p.ok()) f.patient = *p;
  return f;
}

Twin MakeTwin(const Fixture& f, const TwinOptions& options = {}) {
  absl::StatusOr<Twin> t = Twin::Create(f.model, {f.prior, 75.0, 3.0}, options);
  EXPECT_TRUE(t.ok()) << t.status();
  return *t;
}

void ExpectSameState(const TwinSnapshot& a, const TwinSnapshot& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.covariance, b.covariance);
  EXPECT_EQ(a.state_time_unix_s, b.state_time_unix_s);
  EXPECT_EQ(a.window_end_unix_s, b.window_end_unix_s);
}

TEST(TwinTest, CalibrationRecoversAKnownPatientWithIntervalsAndPredictions) {
  Fixture f = MakeFixture(11, 21);
  ASSERT_NE(f.model, nullptr);
  std::vector<Sample> window = f.patient.samples;
  const std::int64_t t = window.back().measured_at_unix_s;
  window.push_back({t, Vital::kSystolic, 400.0, true});    // flagged by ingest
  window.push_back({t, Vital::kHeartRate, 900.0, false});  // impossible: rejected
  Twin twin = MakeTwin(f);
  absl::StatusOr<FitQuality> q = twin.Calibrate(window);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_TRUE(q->converged);
  EXPECT_GE(q->n_flagged, 1);
  EXPECT_GE(q->n_rejected[static_cast<int>(Vital::kHeartRate)], 1);
  EXPECT_GT(q->n_used[static_cast<int>(Vital::kSystolic)], 10);
  // Minute HR scatters by ~4-6 bpm around the resting level (noise, time of day, activity).
  EXPECT_GT(q->rmse[static_cast<int>(Vital::kHeartRate)], 3.0);
  EXPECT_LT(q->rmse[static_cast<int>(Vital::kHeartRate)], 9.0);
  const std::vector<ParameterEstimate> est = twin.Estimates();
  ASSERT_EQ(est.size(), static_cast<std::size_t>(kNumTwinParams));
  for (int k = 0; k < kNumTwinParams; ++k) {
    SCOPED_TRACE(est[k].name);
    EXPECT_EQ(est[k].name, ParamName(kTwinParams[k]));
    EXPECT_LT(est[k].lo90, est[k].mean);
    EXPECT_GT(est[k].hi90, est[k].mean);
    // Within 3.3 posterior SD of the truth (two-sided p ~ 0.001 per parameter if calibrated).
    EXPECT_LT(std::abs(est[k].mean - f.patient.truth[k]), 3.3 * est[k].sd);
    if (est[k].identifiable) {
      EXPECT_LT(est[k].sd, 0.8 * est[k].prior_sd);  // the data taught the twin something
    }
  }
  absl::StatusOr<std::vector<PredictionPoint>> pred = twin.Predict(24.0);
  ASSERT_TRUE(pred.ok()) << pred.status();
  ASSERT_EQ(pred->size(), 24u * kNumVitals);
  for (const PredictionPoint& p : *pred) {
    EXPECT_LE(p.reading_lo90, p.level_lo90);
    EXPECT_LT(p.level_lo90, p.mean);
    EXPECT_GT(p.level_hi90, p.mean);
    EXPECT_GE(p.reading_hi90, p.level_hi90);
  }
  const PredictionPoint& hr = (*pred)[static_cast<int>(Vital::kHeartRate)];
  EXPECT_NEAR(hr.mean, f.patient.resting_hr_bpm, 5.0);
  EXPECT_EQ((*pred)[kNumVitals].at_unix_s - hr.at_unix_s, 3600);
  const Residual r = twin.ResidualOf({t, Vital::kSystolic, hr.mean + 200.0, false});
  EXPECT_DOUBLE_EQ(r.residual, r.observed - r.predicted);

  const TwinPosterior post = ToTwinPosterior(twin);
  ASSERT_EQ(post.size(), static_cast<std::size_t>(kNumTwinParams));
  EXPECT_EQ(post.names[0], kParamLogResistance);
  EXPECT_EQ(post.names[1], kParamLogBloodVolume);
  EXPECT_EQ(post.names[2], kParamSetPointOffset);
  EXPECT_EQ(post.version, twin.version());
  EXPECT_EQ(post.source, "calibration:map-laplace");
  for (std::size_t i = 0; i < post.size(); ++i) {
    EXPECT_DOUBLE_EQ(post.mean[i], est[i].mean);
    EXPECT_GT(post.Cov(i, i), 0.0);
    for (std::size_t j = 0; j < post.size(); ++j) {
      EXPECT_DOUBLE_EQ(post.Cov(i, j), post.Cov(j, i));
      EXPECT_LE(std::abs(post.Cov(i, j)), std::sqrt(post.Cov(i, i) * post.Cov(j, j)) * (1.0 + 1e-12));
    }
  }
}

// Every kind of bad input is reported with a clear status and leaves the twin exactly as it was.
TEST(TwinTest, BadInputIsReportedAndNeverCorruptsTheTwin) {
  Fixture f = MakeFixture(12, 8);
  Twin twin = MakeTwin(f);
  ASSERT_TRUE(twin.Calibrate(f.patient.samples).ok());
  const TwinSnapshot good = twin.Snapshot();
  const std::int64_t t = good.state_time_unix_s;

  absl::StatusOr<FitQuality> empty = twin.Calibrate({});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.status().message(), HasSubstr("empty window"));
  ExpectSameState(twin.Snapshot(), good);

  const std::vector<Sample> scarce = {{t + 10, Vital::kSystolic, 120, false}, {t + 10, Vital::kDiastolic, 80, false},
                                      {t + 20, Vital::kHeartRate, 70, false}};
  absl::StatusOr<FitQuality> few = twin.Calibrate(scarce);
  EXPECT_EQ(few.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(few.status().message(), HasSubstr("too little data"));
  EXPECT_THAT(few.status().message(), HasSubstr("at least 3 blood-pressure readings on 2 different days"));
  ExpectSameState(twin.Snapshot(), good);

  std::vector<Sample> nan_window = f.patient.samples;
  nan_window[5].value = std::numeric_limits<double>::quiet_NaN();
  nan_window[5].flagged = false;
  absl::StatusOr<FitQuality> nan = twin.Calibrate(nan_window);
  EXPECT_EQ(nan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(nan.status().message(), HasSubstr("sample 5"));
  EXPECT_THAT(nan.status().message(), HasSubstr("not finite"));
  ExpectSameState(twin.Snapshot(), good);

  // A NaN that ingest flagged is simply excluded.
  nan_window[5].flagged = true;
  Twin copy = twin;
  EXPECT_TRUE(copy.Calibrate(nan_window).ok());

  // Non-convergence: one LM iteration is never enough from the prior.
  TwinOptions one_step;
  one_step.max_iterations = 1;
  absl::StatusOr<Twin> strict = Twin::Restore(f.model, good, one_step);
  ASSERT_TRUE(strict.ok()) << strict.status();
  absl::StatusOr<FitQuality> nc = strict->Calibrate(f.patient.samples);
  EXPECT_EQ(nc.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(nc.status().message(), HasSubstr("did not converge"));
  EXPECT_THAT(nc.status().message(), HasSubstr("keeps its previous state"));
  ExpectSameState(strict->Snapshot(), good);

  absl::StatusOr<Twin::UpdateResult> u1 = twin.Update({t + 60, Vital::kHeartRate, std::nan(""), false});
  EXPECT_EQ(u1.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(u1.status().message(), HasSubstr("heart_rate"));
  absl::StatusOr<Twin::UpdateResult> u2 = twin.Update({t - 3600, Vital::kHeartRate, 70.0, false});
  EXPECT_EQ(u2.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(u2.status().message(), HasSubstr("older than the twin's state"));
  absl::StatusOr<Twin::UpdateResult> flagged = twin.Update({t + 60, Vital::kSystolic, 250.0, true});
  ASSERT_TRUE(flagged.ok());
  EXPECT_FALSE(flagged->accepted);
  ExpectSameState(twin.Snapshot(), good);

  // An outlier is rejected (OK status, not accepted) and does not move the parameters.
  absl::StatusOr<Twin::UpdateResult> outlier = twin.Update({t + 120, Vital::kSystolic, 260.0, false});
  ASSERT_TRUE(outlier.ok());
  EXPECT_FALSE(outlier->accepted);
  EXPECT_GT(outlier->residual.standardised, 4.5);
  for (int k = 0; k < kNumTwinParams; ++k) EXPECT_NEAR(twin.Snapshot().mean[k], good.mean[k], 1e-9);

  EXPECT_EQ(twin.Predict(-1.0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(twin.Predict(std::nan("")).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(twin.Predict(24.0, 0.0).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(TwinTest, SnapshotRestoresTheSameTwinAndRejectsAForeignOne) {
  Fixture f = MakeFixture(13, 6);
  Twin twin = MakeTwin(f);
  const std::span<const Sample> all(f.patient.samples);
  const std::size_t half = all.size() / 2;
  ASSERT_TRUE(twin.Calibrate(all.first(half)).ok());
  for (const Sample& s : all.subspan(half, 200)) ASSERT_TRUE(twin.Update(s).ok());
  const TwinSnapshot snap = twin.Snapshot();
  EXPECT_EQ(snap.model_version, kTwinModelVersion);
  EXPECT_EQ(snap.reason, "update");
  EXPECT_EQ(snap.samples_absorbed, 200u);
  absl::StatusOr<Twin> restored = Twin::Restore(f.model, snap);
  ASSERT_TRUE(restored.ok()) << restored.status();
  // Both continue identically.
  for (const Sample& s : all.subspan(half + 200, 100)) {
    ASSERT_TRUE(twin.Update(s).ok());
    ASSERT_TRUE(restored->Update(s).ok());
  }
  ExpectSameState(restored->Snapshot(), twin.Snapshot());
  EXPECT_EQ(ToTwinPosterior(*restored).source, "calibration:map-laplace+ukf");

  TwinSnapshot foreign = snap;
  foreign.model_version = "other/0";
  absl::StatusOr<Twin> r1 = Twin::Restore(f.model, foreign);
  EXPECT_EQ(r1.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r1.status().message(), HasSubstr("model_version"));
  TwinSnapshot truncated = snap;
  truncated.covariance.pop_back();
  absl::StatusOr<Twin> r2 = Twin::Restore(f.model, truncated);
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r2.status().message(), HasSubstr("covariance"));
}

// The UKF alone (no batch fit) learns from the prior, and after a calibration it follows a
// heart-failure style drift (volume +3 %/day, HR drive +2.5 %/day) that the drift detector reports.
TEST(TwinTest, SequentialUpdatesLearnAndFollowADriftThatRaisesEvents) {
  Fixture fresh = MakeFixture(14, 6);
  Twin learner = MakeTwin(fresh);
  EXPECT_EQ(ToTwinPosterior(learner).source, "prior:models/README.md#identifiability-and-calibration");
  for (const Sample& s : fresh.patient.samples) ASSERT_TRUE(learner.Update(s).ok());
  for (const ParameterEstimate& e : learner.Estimates()) {
    SCOPED_TRACE(e.name);
    if (e.identifiable) {
      EXPECT_LT(e.sd, 0.8 * e.prior_sd);
    }
  }
  EXPECT_EQ(ToTwinPosterior(learner).source, "calibration:ukf");

  Fixture f = MakeFixture(15, 18, /*drift_start=*/10, ParamVector{0.0, 0.03, 0.0, 0.025, 0.0});
  Twin twin = MakeTwin(f);
  const std::int64_t split = f.patient.samples.front().measured_at_unix_s / kDayS * kDayS + 10 * kDayS;
  std::vector<Sample> before, after;
  for (const Sample& s : f.patient.samples) (s.measured_at_unix_s < split ? before : after).push_back(s);
  ASSERT_TRUE(twin.Calibrate(before).ok());
  const double v0 = twin.Estimates()[1].mean;
  for (const Sample& s : after) {
    ASSERT_TRUE(twin.Update(s).ok());
  }
  twin.CloseDay();
  // Eight days at +3 %/day: about +0.24 in log volume; the random walk lets the twin follow most.
  EXPECT_GT(twin.Estimates()[1].mean - v0, 0.1);
  const std::vector<TwinEvent> events = twin.TakeEvents();
  bool weight = false, composite = false;
  for (const TwinEvent& e : events) {
    if (e.type == "weight_rising") {
      weight = true;
      EXPECT_GE(e.start_unix_s, split - kDayS);
      EXPECT_GT(e.magnitude, 0.5);  // kg
    }
    if (e.type == "weight_gain_with_rising_hr") {
      composite = true;
      EXPECT_EQ(e.vitals.size(), 2u);
    }
  }
  EXPECT_TRUE(weight);
  EXPECT_TRUE(composite);
  EXPECT_TRUE(twin.TakeEvents().empty());
}

}  // namespace
}  // namespace healthtwin::models::calibration
