// Treatment options: what a clinician or a researcher asks the simulator to try, as plain
// values (the concepts of healthtwin.simulation.v1: DrugRegimen, TreatmentOption, Target), with
// validation that names the offending field.
//
// Time convention for every simulation in models/treatment: t = 0 h is the start of day 1, the
// first simulated day; day d covers t in [24(d-1), 24d) h. Doses of a regimen fall at
// t = 24(start_day-1) + k * interval_h, k = 0, 1, ..., while t < 24 * stop_day (stop_day 0: to the
// end of the simulation).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/pharmacology/pharmacology.h"

namespace healthtwin::models::treatment {

struct DrugRegimen {
  std::string drug;                 // generic, lower case, one of pharma::DrugLibrary()
  double dose_mg = 0.0;             // per administration
  double interval_h = 24.0;         // 24: once daily
  double adherence_fraction = 1.0;  // fraction of doses taken, (0, 1]; missed doses are random, seeded
  int start_day = 1;                // the first dose is at the start of this day (1 = the first day)
  int stop_day = 0;                 // the last day with doses; 0 = until the end
  bool off_label = false;           // required to accept a dose outside the label range
  std::vector<int> missed_doses;    // 0-based indices of scheduled doses that are skipped
};

struct TreatmentOption {
  std::string name;
  std::vector<DrugRegimen> drugs;  // empty: no drug (e.g. a diet-only option, or placebo)
  // Unset: the patient's reference intake (LongHorizonParams::reference_*).
  std::optional<double> sodium_intake_mmol_per_day;
  std::optional<double> fluid_intake_l_per_day;
};

// At target when the end-of-study trough SBP and DBP are both below these.
struct Target {
  double systolic_below_mmhg = 130.0;
  double diastolic_below_mmhg = 80.0;
};

// InvalidArgument naming the field, which `field` prefixes, e.g. "options[1].drugs[0].dose_mg:
// 500 mg is outside the label range 25-400 mg for metoprolol; set off_label to accept". An
// unknown drug lists the known ones. `days` is the simulation length (start_day must fall in it).
absl::Status ValidateRegimen(const DrugRegimen& r, int days, std::string_view field);
absl::Status ValidateOption(const TreatmentOption& o, int days, std::string_view field);
absl::Status ValidateTarget(const Target& t, std::string_view field);

// The pharmacology library's schedule for a validated regimen.
pharma::Regimen ToPharmaRegimen(const DrugRegimen& r);
std::vector<pharma::Regimen> ToPharmaRegimens(const std::vector<DrugRegimen>& drugs);

}  // namespace healthtwin::models::treatment
