// Population priors of the twin parameters, by age, sex and conditions.
//
// The patient's nominal model (PatientFromDemographics + ApplyCondition) is already the
// population centre for its demographics and conditions, so every prior mean is 0 (no change
// from the nominal patient) and the information is in the spread. Parameters that the
// identifiability analysis leaves unestimated keep these priors: they are what the what-if
// engine draws for them, and the posterior of the estimated ones is conditional on them.
// Sources are beside each number in prior.cc and in models/README.md.
//
// Stateless; thread-safe.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "models/calibration/parameters.h"
#include "models/patient.h"

namespace healthtwin::models::calibration {

struct PriorInputs {
  double age_years = 40.0;
  Sex sex = Sex::kMale;
  std::vector<Condition> conditions;
};

struct ParamPrior {
  double mean = 0.0;
  double sd = 0.0;
  std::string source;
};

struct PopulationPrior {
  std::array<ParamPrior, kNumCandidateParams> params;  // indexed by static_cast<int>(Param)
  const ParamPrior& of(Param p) const { return params[static_cast<int>(p)]; }
};

PopulationPrior PriorFor(const PriorInputs& inputs);

}  // namespace healthtwin::models::calibration
