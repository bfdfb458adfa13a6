// The trial layer of a virtual cohort (issue 17, item 3): what turns simulated physiology into
// what a trial measures. Each feature can be switched off; all are on by default. With all off
// (TrialSpec::Off()) a cohort's rows, CSV and summaries are exactly those of the plain cohort.
//
// Measurement (office BP, SBP and DBP drawn independently): a visit's value is the mean of
// `readings_per_visit` readings, reading = usual BP + visit effect + reading error, with
//   visit effect  ~ N(0, visit SD): SBP 9.0, DBP 5.0 mmHg. Within-person SD of visit means was
//                 5.6 mmHg SBP over 3 consecutive visits in the TROPHY placebo arm (Muntner et al.,
//                 J Clin Hypertens 2012;14:744) and 13.5 mmHg over 7 routine-care visits (Muntner
//                 et al., J Hypertens 2011;29:2332); 9.0 is chosen inside that range so that the
//                 simulated 8-week trial's SD of SBP change (VALIDATION.md, "Virtual trial") is in
//                 the range of published placebo arms; DBP 5.0 is an assumption.
//   reading error ~ N(0, within-visit SD): SBP 4.0 mmHg (NHANES III, three readings: quintile
//                 cut points of the within-visit SD 2.0, 3.0, 4.0, 5.3 mmHg, Muntner et al.,
//                 J Clin Hypertens 2012;14:165), DBP 3.0 mmHg (an assumption).
// Visit schedule: baseline on day 0, follow-up every `visit_interval_days` and on the last day
// (the outcome visit); switched off, only the last day. HR is not measured with noise.
// Screening (regression to the mean): a screening visit before day 0 measured with the same
// noise; a candidate enrols only if the screening SBP is at least `screen_sbp_min_mmhg` and, with
// `confirm_at_baseline` (default, as trials that require the entry BP at randomisation too), the
// baseline visit's SBP as well; else the slot draws the next candidate from the population (up to
// kMaxCandidates). The baseline visit is a separate visit with fresh noise, so RTM emerges from
// the noise, not from a constant: from screening to baseline, and (when confirmed at baseline)
// from baseline to follow-up, the change a trial reports.
// Placebo response: added to every follow-up visit in every arm (it is non-specific): SBP -5.9
// mmHg (52 blinded trials, 7451 placebo patients, -5.92 [-6.71, -5.14]; Patel et al.,
// Hypertension 2015;65:401), DBP -4.4 mmHg (clinic BP after 6-8 weeks of placebo, 116 patients,
// -5.3/-4.4 mmHg; Mancia et al., Am J Hypertens 1995;8:311). Full size from the first follow-up.
// Dropout: each patient and arm draws an exponential dropout time with `dropout_per_30_days`
// probability of dropping out in 30 days (default 0.02: an assumption, not a published figure);
// visits after it are missed. Analysis: LOCF (default; the last attended visit, the baseline visit
// if none) or completers (patients who attended the last visit).
//
// Response heterogeneity and adherence (per-patient traits, trial_patient.h): a patient-level
// factor on every class's drug sensitivity (off by default) and the fraction of doses taken with
// the day the patient stops taking them (off by default; Vrijens et al., BMJ 2008;336:1114).
//
// Every draw comes from the patient's own keyed streams (random.h): candidate c from (seed,
// patient, 1, c) for the population (c = 0: (seed, patient, 1), the plain cohort's), (seed,
// patient, 4, c) for the screening readings and (seed, patient, 6, c) for the baseline visit
// (the same in every arm); dropout and follow-up visits from (seed, patient, arm, 5); the response
// factor from (seed, patient, 7) and adherence from (seed, patient, 8).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "models/treatment/course.h"
#include "models/treatment/random.h"

namespace healthtwin::models::treatment {

enum class DropoutAnalysis { kLocf, kCompleters };

inline constexpr int kMaxCandidates = 1000;

struct TrialSpec {
  bool measurement_noise = true;
  double sbp_within_visit_sd_mmhg = 4.0, dbp_within_visit_sd_mmhg = 3.0;
  double sbp_visit_sd_mmhg = 9.0, dbp_visit_sd_mmhg = 5.0;
  int readings_per_visit = 3;  // 1..10
  bool visit_schedule = true;
  int visit_interval_days = 14;  // 1..365
  bool screening = true;
  double screen_sbp_min_mmhg = 140.0;
  bool confirm_at_baseline = true;  // the baseline visit must reach the threshold too
  bool placebo_response = true;
  double placebo_sbp_mmhg = -5.9, placebo_dbp_mmhg = -4.4;
  bool dropout = true;
  double dropout_per_30_days = 0.02;  // 0 <= p < 1
  DropoutAnalysis analysis = DropoutAnalysis::kLocf;
  bool response_heterogeneity = false;  // off by default: see trial_patient.h
  double response_log_sd = 0.25;        // 0..1; a choice, not a published figure
  // Off by default: the drug effects are calibrated to intention-to-treat trial means (Law 2003),
  // which already include the trials' own adherence, so the default adds no non-adherence on top.
  // Switch it on to study phase-IV-like adherence (Vrijens 2008); the mean fall is then about 20 %
  // below Law's (lisinopril 20 mg, 12 weeks: -5.8 against -7.4 mmHg trough SBP).
  bool adherence = false;
  double adherence_mean = 0.9;          // (0, 1]; Vrijens 2008: ~10 % of doses missed
  double adherence_concentration = 10;  // 1..1000, a + b of the Beta; an assumption
  double stop_per_year = 0.5;           // 0 <= p < 1; Vrijens 2008: about half stopped within a year

  // Everything off: the plain cohort.
  static TrialSpec Off();
  bool AnyOn() const {
    return measurement_noise || visit_schedule || screening || placebo_response || dropout || response_heterogeneity ||
           adherence;
  }
};

// InvalidArgument naming the field ("trial.readings_per_visit: ...").
absl::Status ValidateTrialSpec(const TrialSpec& t);

struct OfficeBp {
  double sbp_mmhg = 0.0, dbp_mmhg = 0.0;
};

// One visit's value (mean of the readings) for a usual BP; the usual BP itself without noise.
OfficeBp MeasureVisit(const TrialSpec& t, Rng& rng, double sbp_mmhg, double dbp_mmhg);

// The follow-up visit days of a `days`-day study, ascending, ending with `days`.
std::vector<int> VisitDays(const TrialSpec& t, int days);

// What the trial measured for one patient in one arm.
struct TrialMeasures {
  OfficeBp baseline, end;  // end: the last attended visit (LOCF), the baseline visit if none
  int last_visit_day = 0;  // 0: no follow-up visit attended
  bool completed = true;   // attended the last visit
};

// Measures `course` (the arm's simulated course): the baseline visit is the course's baseline plus
// `baseline_noise` (drawn at enrolment, the same in every arm; 0 without measurement noise), the
// rest from `arm_rng`.
TrialMeasures MeasureTrial(const TrialSpec& t, const Course& course, int days, OfficeBp baseline_noise, Rng arm_rng);

}  // namespace healthtwin::models::treatment
