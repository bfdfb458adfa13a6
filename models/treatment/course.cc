#include "models/treatment/course.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace healthtwin::models::treatment {
namespace {

constexpr int kHoursPerDay = 24;

// The person's vitals now; ORs the map's extrapolation flag into *extrapolated.
Vitals Observe(const LongHorizonModel& model, const VirtualPerson& p, bool* extrapolated) {
  const LongHorizonState s = model.state();
  const Haemodynamics& h = s.haemodynamics;
  *extrapolated |= h.extrapolated;
  Vitals v;
  v.map_mmhg = h.map_mmhg;
  v.sbp_mmhg = h.map_mmhg + p.pulse_pressure_scale * (h.sbp_mmhg - h.map_mmhg);
  v.dbp_mmhg = h.map_mmhg - p.pulse_pressure_scale * (h.map_mmhg - h.dbp_mmhg);
  v.heart_rate_bpm = h.heart_rate_bpm;
  v.cardiac_output_l_per_min = h.cardiac_output_l_per_min * p.flow_scale;
  v.weight_kg = p.long_horizon.body_weight_kg + s.weight_change_kg;
  return v;
}

}  // namespace

CourseFlags FlagsOf(const Course& c) {
  CourseFlags f;
  const Vitals& b = c.baseline;
  for (const CourseDay& d : c.days) {
    f.hypotension |= d.min_sbp_mmhg < kHypotensionSbpMmhg && d.min_sbp_mmhg <= b.sbp_mmhg - kFlagMargin;
    f.bradycardia |= d.min_heart_rate_bpm < kBradycardiaBpm && d.min_heart_rate_bpm <= b.heart_rate_bpm - kFlagMargin;
    f.volume_loss |= d.min_weight_kg < b.weight_kg * (1.0 - kVolumeLossFraction);
  }
  return f;
}

absl::StatusOr<Course> SimulateCourse(const VirtualPerson& person, const std::vector<pharma::Regimen>& regimens,
                                      const Intake& intake, int days, std::uint64_t seed) {
  if (days < 1) return absl::InvalidArgumentError(absl::StrCat("days: must be >= 1, got ", days));
  for (std::size_t i = 0; i < regimens.size(); ++i) {
    if (absl::Status s = pharma::ValidateRegimen(regimens[i], absl::StrCat("regimens[", i, "]")); !s.ok()) return s;
  }
  absl::StatusOr<LongHorizonModel> model =
      LongHorizonModel::CreateAtRest(person.map, person.params, person.long_horizon, person.rest);
  if (!model.ok()) return model.status();
  pharma::PkCovariates cov = person.covariates;
  if (cov.baseline_map_mmhg <= 0.0) cov.baseline_map_mmhg = model->reference_map_mmhg();
  absl::StatusOr<pharma::TreatmentPkPd> pk = pharma::TreatmentPkPd::Create(regimens, cov, person.sensitivity, seed);
  if (!pk.ok()) return pk.status();

  LongHorizonModifiers rest;
  rest.effectors = person.rest.effectors;
  model->SetIntake(intake);

  Course course;
  course.days.reserve(static_cast<std::size_t>(days));
  for (int day = 1; day <= days; ++day) {
    CourseDay d;
    d.day = day;
    double lowest_map = 0.0;
    for (int hour = 0; hour < kHoursPerDay; ++hour) {
      const int t_h = (day - 1) * kHoursPerDay + hour;
      model->SetModifiers(pharma::Combine(rest, pk->AdvanceTo(t_h)));
      if (t_h == 0) {
        course.baseline = Observe(*model, person, &d.extrapolated);
      } else if (hour > 0) {
        // Samples at t = 24(d-1)+1 ... 24d-1 here; the last one (t = 24d) after the loop.
        const Vitals v = Observe(*model, person, &d.extrapolated);
        if (hour == 1 || v.map_mmhg < lowest_map) {
          lowest_map = v.map_mmhg;
          d.peak = v;
        }
        d.min_sbp_mmhg = hour == 1 ? v.sbp_mmhg : std::min(d.min_sbp_mmhg, v.sbp_mmhg);
        d.min_heart_rate_bpm = hour == 1 ? v.heart_rate_bpm : std::min(d.min_heart_rate_bpm, v.heart_rate_bpm);
        d.min_weight_kg = hour == 1 ? v.weight_kg : std::min(d.min_weight_kg, v.weight_kg);
      }
      model->AdvanceHours(1.0);
    }
    // t = 24·day: the trough, before day+1's doses are absorbed.
    model->SetModifiers(pharma::Combine(rest, pk->AdvanceTo(day * kHoursPerDay)));
    d.trough = Observe(*model, person, &d.extrapolated);
    if (d.trough.map_mmhg < lowest_map) d.peak = d.trough;
    d.min_sbp_mmhg = std::min(d.min_sbp_mmhg, d.trough.sbp_mmhg);
    d.min_heart_rate_bpm = std::min(d.min_heart_rate_bpm, d.trough.heart_rate_bpm);
    d.min_weight_kg = std::min(d.min_weight_kg, d.trough.weight_kg);
    course.days.push_back(d);
  }
  course.doses_taken = pk->doses_taken();
  course.doses_scheduled = pk->doses_scheduled();
  return course;
}

}  // namespace healthtwin::models::treatment
