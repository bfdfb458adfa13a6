// One course of treatment for one (virtual) person: the long-horizon twin driven hour by hour by
// the pharmacology library, summarised per day. The building block of what-if and cohorts.
//
// Per day d (t = 0 h is the start of day 1; see treatment_option.h):
//   trough  the state at t = 24·d h, i.e. at the end of day d, immediately before the first dose
//           of day d+1. With intervals that divide 24 h (24, 12, 8, 6 h: every label schedule)
//           the doses fall on whole days, so this is the pre-dose trough; the end-of-study value
//           is the trough of the last day. A dose scheduled exactly at t has not been absorbed
//           yet at t (first-order absorption), so it does not change the trough.
//   peak    the state at the hourly sample of day d (t = 24(d-1)+1 ... 24d h) with the lowest MAP:
//           the peak blood-pressure-lowering effect; SBP, DBP, HR, CO and weight are all taken at
//           that hour.
//   min_*   the lowest SBP, HR and weight over the day's hourly samples (for safety flags).
// Samples use the modifiers in force at the sampled instant (pk.AdvanceTo(t) then state()).
//
// Thread-safe as a function: everything is local, the shared map is immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "models/long_horizon.h"
#include "models/pharmacology/pharmacology.h"
#include "models/steady_state_map.h"

namespace healthtwin::models::treatment {

struct VirtualPerson {
  std::shared_ptr<const SteadyStateMap> map;  // built for `params`; shared, immutable
  ModelParams params;
  LongHorizonParams long_horizon;
  RestingState rest;  // the person's resting state relative to `params`
  // Reported pulse pressure = this × the map's, around the same MAP (SBP = MAP + s·(SBP_map − MAP),
  // DBP = MAP − s·(MAP − DBP_map)): arterial stiffness, which the map does not carry (cohort
  // personalisation and TwinPosterior's log_arterial_compliance).
  double pulse_pressure_scale = 1.0;
  double flow_scale = 1.0;          // reported CO = this × the map's (body size vs the map's patient)
  pharma::PkCovariates covariates;  // baseline_map_mmhg <= 0: taken from the resting state
  pharma::ResponseSensitivity sensitivity;
};

struct Vitals {
  double sbp_mmhg = 0.0;
  double dbp_mmhg = 0.0;
  double map_mmhg = 0.0;
  double heart_rate_bpm = 0.0;
  double cardiac_output_l_per_min = 0.0;
  double weight_kg = 0.0;
};

struct CourseDay {
  int day = 0;  // 1-based
  Vitals trough;
  Vitals peak;
  double min_sbp_mmhg = 0.0;
  double min_heart_rate_bpm = 0.0;
  double min_weight_kg = 0.0;
  bool extrapolated = false;  // the steady-state map was left during the day
};

struct Course {
  Vitals baseline;  // at t = 0, the resting state before any dose
  std::vector<CourseDay> days;
  int doses_taken = 0;
  int doses_scheduled = 0;
};

// Safety flags of one course. A flag is raised when, on some day, the value goes below the
// threshold and at least kFlagMargin below the person's own baseline, i.e. the treatment took it
// there (a person already below the threshold at rest is flagged only if it falls further):
//   hypotension  lowest hourly SBP < 90 mmHg
//   bradycardia  lowest hourly HR < 50 /min
//   volume loss  lowest hourly weight more than 3 % below baseline
inline constexpr double kHypotensionSbpMmhg = 90.0;
inline constexpr double kBradycardiaBpm = 50.0;
inline constexpr double kVolumeLossFraction = 0.03;
inline constexpr double kFlagMargin = 1.0;  // mmHg or /min
struct CourseFlags {
  bool hypotension = false;
  bool bradycardia = false;
  bool volume_loss = false;
};
CourseFlags FlagsOf(const Course& course);

// `regimens` must have passed validation (InvalidArgument otherwise, from the pharmacology
// library); `seed` drives the adherence draws. days >= 1.
absl::StatusOr<Course> SimulateCourse(const VirtualPerson& person, const std::vector<pharma::Regimen>& regimens,
                                      const Intake& intake, int days, std::uint64_t seed);

}  // namespace healthtwin::models::treatment
