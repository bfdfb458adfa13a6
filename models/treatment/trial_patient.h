// Per-patient draws of the trial layer (trial.h, issue 17 item 3): how strongly a patient responds
// to drugs and how they take them. Both are traits of the patient, drawn once per enrolled slot
// and the same in every arm; each comes from the patient's own keyed stream, so shards and thread
// counts give identical rows.
//
// Response heterogeneity (`response_heterogeneity`, off by default): a patient-level factor
//   exp(response_log_sd × z), z a standard normal truncated at ±3, from stream (seed, patient, 7),
// multiplies the patient's sensitivity for every drug class (the multiplier on the class's maximal
// effect, pharmacology.h), on top of the per-class sensitivity every cohort patient already draws
// (log-normal, SD of log 0.45, whatif.h). It makes responses to different classes correlate within
// a patient, as responses to the four classes of the PHYSIC rotation trial did (Sundström et al.,
// JAMA 2023;329:1160). Off by default because the per-class spread alone already gives a true
// between-patient SD of the SBP response at or above the published one: 3.5 mmHg for lisinopril
// 20 mg against 2.6 mmHg for ACE inhibitors in 28,281 patients of 7 placebo-controlled trials
// (Bell et al., Hypertension 2010;56:533; models/VALIDATION.md, "Virtual trial"). The default
// response_log_sd of 0.25 used when it is switched on is a choice, not a published figure.
//
// Adherence (`adherence`, off by default: the drug effects are calibrated to intention-to-treat
// trial means, which already include trial adherence; switched on it gives phase-IV-like
// adherence, with a mean fall about 20 % below Law 2003's), from electronically monitored dosing
// histories of 4,783 patients in 21 phase IV studies (Vrijens et al., BMJ 2008;336:1114): about
// half stopped taking their antihypertensive within a year, and on any day about 10 % of those
// still taking it missed the dose. Each patient draws, from stream (seed, patient, 8):
//   - implementation: the fraction of scheduled doses taken while persisting, Beta with mean
//     `adherence_mean` (0.9, Vrijens) and concentration a + b = `adherence_concentration` (10: an
//     assumption, giving a between-patient SD of 0.09); each dose is then taken with that
//     probability (the pharmacology library's per-dose draw, pkpd.cc);
//   - persistence: the day the patient stops taking the drug for good, exponential with
//     `stop_per_year` (0.5, Vrijens) probability of stopping within 365 days. A constant hazard is
//     our simplification: Vrijens's persistence curve falls fastest in the first months.
// Non-persistent patients keep attending visits (dropout, trial.h, is separate).
#pragma once

#include <cstdint>
#include <vector>

#include "models/pharmacology/pharmacology.h"
#include "models/treatment/random.h"
#include "models/treatment/trial.h"

namespace healthtwin::models::treatment {

struct TrialPatient {
  double response_factor = 1.0;  // multiplies every class's sensitivity
  double adherence = 1.0;        // fraction of scheduled doses taken while persisting, (0, 1]
  double stop_day = -1.0;        // the day the patient stops taking drugs; < 0: never
};

// The draws of patient `patient` under `t` (1, 1, never when both features are off: no draw made).
TrialPatient DrawTrialPatient(const TrialSpec& t, std::uint64_t seed, int patient);

// `sensitivity` scaled by the patient's response factor (capped at 5, the pharmacology library's
// limit).
pharma::ResponseSensitivity ScaleSensitivity(const pharma::ResponseSensitivity& sensitivity, const TrialPatient& p);

// The arm's regimens as this patient takes them: adherence and the stop time set (unchanged when
// the patient takes every dose and never stops).
std::vector<pharma::Regimen> AsTaken(const std::vector<pharma::Regimen>& regimens, const TrialPatient& p);

// Gamma(shape, 1) and Beta(a, b) draws from `rng` (Marsaglia and Tsang, ACM TOMS 26:363, 2000,
// with the shape < 1 boost); shape, a, b > 0.
double GammaDraw(Rng& rng, double shape);
double BetaDraw(Rng& rng, double a, double b);

}  // namespace healthtwin::models::treatment
