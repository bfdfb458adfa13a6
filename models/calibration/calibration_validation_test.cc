#include "models/calibration/calibration_validation.h"

#include <gtest/gtest.h>

namespace healthtwin::models::calibration {
namespace {

// The reduced validation of `make test`: 12 standard adults (9 static, 3 with a heart-failure
// drift), HR thinned to every 10 minutes. Tolerances are wide enough for 9 patients yet fail on
// a broken fit (e.g. a posterior that ignores the day effects covers ~20 %, one that ignores the
// data has no shrinkage): pooled 90 % coverage of the identifiable parameters >= 70 % (27
// intervals), recovery errors consistent with the stated uncertainty (MAE below 1.5 x the 0.8
// posterior SD a calibrated Gaussian gives) and well below the prior SD, held-back reading
// coverage 80-99 %, the
// drift found in at least 2 of 3 drifting patients and at most 2 false alarms.
TEST(CalibrationValidationTest, TwelveSyntheticPatientsRecoverTheirParameters) {
  CalibrationValidationOptions o;
  o.archetypes = {{}};
  o.hr_every_minutes = 10;
  absl::StatusOr<CalibrationValidationResult> r = RunCalibrationValidation(12, 2026, o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->patients, 12);
  EXPECT_EQ(r->static_patients, 9);
  double covered = 0.0;
  for (int k = 0; k < kNumIdentifiableParams; ++k) {
    SCOPED_TRACE(std::string(ParamName(kTwinParams[k])));
    const ParamValidation& p = r->params[k];
    covered += p.coverage90 / kNumIdentifiableParams;
    EXPECT_LT(p.mae, 1.5 * 0.8 * p.posterior_sd);
    EXPECT_LT(p.posterior_sd, 0.8 * p.prior_sd);
  }
  EXPECT_GE(covered, 0.70);
  for (int v = 0; v < 3; ++v) {
    SCOPED_TRACE(v);
    EXPECT_GT(r->prediction[v].reading_coverage90, 0.80);
    EXPECT_LT(r->prediction[v].reading_coverage90, 0.99);
  }
  EXPECT_GE(r->drift_detected_weight, 2);
  EXPECT_LE(r->false_alarm_events, 2);
  const std::string md = RenderCalibrationValidationMarkdown(*r, 12, 2026, o);
  EXPECT_EQ(md.rfind("## Twin calibration", 0), 0u);
}

TEST(CalibrationValidationTest, RejectsBadOptions) {
  CalibrationValidationOptions o;
  o.fit_days = 40;
  EXPECT_EQ(RunCalibrationValidation(3, 1, o).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunCalibrationValidation(0, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace healthtwin::models::calibration
