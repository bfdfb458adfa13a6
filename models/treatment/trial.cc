#include "models/treatment/trial.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace healthtwin::models::treatment {
namespace {

absl::Status Range(double v, double lo, double hi, const char* field) {
  if (v >= lo && v <= hi) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("trial.", field, ": must be in ", lo, "-", hi, ", got ", v));
}

}  // namespace

TrialSpec TrialSpec::Off() {
  TrialSpec t;
  t.measurement_noise = t.visit_schedule = t.screening = t.placebo_response = t.dropout = false;
  t.response_heterogeneity = t.adherence = false;
  return t;
}

absl::Status ValidateTrialSpec(const TrialSpec& t) {
  for (auto [v, lo, hi, field] : {std::tuple{t.sbp_within_visit_sd_mmhg, 0.0, 30.0, "sbp_within_visit_sd_mmhg"},
                                  {t.dbp_within_visit_sd_mmhg, 0.0, 30.0, "dbp_within_visit_sd_mmhg"},
                                  {t.sbp_visit_sd_mmhg, 0.0, 30.0, "sbp_visit_sd_mmhg"},
                                  {t.dbp_visit_sd_mmhg, 0.0, 30.0, "dbp_visit_sd_mmhg"},
                                  {static_cast<double>(t.readings_per_visit), 1.0, 10.0, "readings_per_visit"},
                                  {static_cast<double>(t.visit_interval_days), 1.0, 365.0, "visit_interval_days"},
                                  {t.screen_sbp_min_mmhg, 90.0, 220.0, "screen_sbp_min_mmhg"},
                                  {t.placebo_sbp_mmhg, -30.0, 30.0, "placebo_sbp_mmhg"},
                                  {t.placebo_dbp_mmhg, -30.0, 30.0, "placebo_dbp_mmhg"},
                                  {t.dropout_per_30_days, 0.0, 0.99, "dropout_per_30_days"},
                                  {t.response_log_sd, 0.0, 1.0, "response_log_sd"},
                                  {t.adherence_mean, 0.01, 1.0, "adherence_mean"},
                                  {t.adherence_concentration, 1.0, 1000.0, "adherence_concentration"},
                                  {t.stop_per_year, 0.0, 0.99, "stop_per_year"}}) {
    if (absl::Status s = Range(v, lo, hi, field); !s.ok()) return s;
  }
  return absl::OkStatus();
}

OfficeBp MeasureVisit(const TrialSpec& t, Rng& rng, double sbp_mmhg, double dbp_mmhg) {
  if (!t.measurement_noise) return {sbp_mmhg, dbp_mmhg};
  const int k = t.readings_per_visit;
  OfficeBp v{sbp_mmhg + t.sbp_visit_sd_mmhg * rng.Normal(), dbp_mmhg + t.dbp_visit_sd_mmhg * rng.Normal()};
  double sbp_err = 0.0, dbp_err = 0.0;
  for (int i = 0; i < k; ++i) {
    sbp_err += t.sbp_within_visit_sd_mmhg * rng.Normal();
    dbp_err += t.dbp_within_visit_sd_mmhg * rng.Normal();
  }
  v.sbp_mmhg += sbp_err / k;
  v.dbp_mmhg += dbp_err / k;
  return v;
}

std::vector<int> VisitDays(const TrialSpec& t, int days) {
  std::vector<int> out;
  if (t.visit_schedule) {
    for (int d = t.visit_interval_days; d < days; d += t.visit_interval_days) out.push_back(d);
  }
  out.push_back(days);
  return out;
}

TrialMeasures MeasureTrial(const TrialSpec& t, const Course& course, int days, OfficeBp baseline_noise, Rng arm_rng) {
  TrialMeasures m;
  m.baseline = {course.baseline.sbp_mmhg + baseline_noise.sbp_mmhg, course.baseline.dbp_mmhg + baseline_noise.dbp_mmhg};
  m.end = m.baseline;
  // Dropout time first, so the visit draws do not depend on it.
  double dropout_day = days + 1.0;
  if (t.dropout && t.dropout_per_30_days > 0.0) {
    const double hazard_per_day = -std::log1p(-t.dropout_per_30_days) / 30.0;
    dropout_day = -std::log(arm_rng.Uniform()) / hazard_per_day;
  }
  const double placebo_sbp = t.placebo_response ? t.placebo_sbp_mmhg : 0.0;
  const double placebo_dbp = t.placebo_response ? t.placebo_dbp_mmhg : 0.0;
  for (int day : VisitDays(t, days)) {
    // Draw every visit's noise, attended or not, so a visit's value does not depend on dropout.
    const Vitals& v = course.days[static_cast<std::size_t>(std::clamp(day, 1, days) - 1)].trough;
    const OfficeBp bp = MeasureVisit(t, arm_rng, v.sbp_mmhg + placebo_sbp, v.dbp_mmhg + placebo_dbp);
    if (day <= dropout_day) {
      m.end = bp;
      m.last_visit_day = day;
    }
  }
  m.completed = m.last_visit_day == days;
  return m;
}

}  // namespace healthtwin::models::treatment
