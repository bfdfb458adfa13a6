#include "models/treatment/treatment_test_util.h"

#include <cstdlib>
#include <iostream>

namespace healthtwin::models::treatment::testing {

const WhatIfPatient& HypertensivePatient() {
  static const WhatIfPatient* patient = [] {
    // The standard adult made hypertensive directly (no FitToTargets, to keep the tests fast):
    // systemic resistance x 1.35 and a reflex reset by +22 mmHg, resting near 139/102 mmHg, HR 73.
    ModelParams p = StandardAdult();
    for (double* r : {&p.circulation.r_sp0_mmhg_s_per_ml, &p.circulation.r_ep0_mmhg_s_per_ml, &p.baroreflex.r_sp.gain,
                      &p.baroreflex.r_ep.gain}) {
      *r *= 1.35;
    }
    p.baroreflex.set_point_mmhg += 22.0;
    absl::StatusOr<SteadyStateMap> map = SteadyStateMap::Build(p);
    if (!map.ok()) {
      std::cerr << "test patient map: " << map.status() << "\n";
      std::abort();
    }
    const Demographics d{.age_years = 60, .sex = Sex::kMale, .height_cm = 175, .weight_kg = 80};
    auto* w = new WhatIfPatient;
    w->params = p;
    w->long_horizon = LongHorizonParamsFor(d);
    w->demographics = d;
    w->map = std::make_shared<const SteadyStateMap>(*std::move(map));
    return w;
  }();
  return *patient;
}

VirtualPerson HypertensivePerson() {
  const WhatIfPatient& w = HypertensivePatient();
  VirtualPerson p;
  p.map = w.map;
  p.params = w.params;
  p.long_horizon = w.long_horizon;
  p.covariates.weight_kg = w.demographics.weight_kg;
  p.covariates.age_years = w.demographics.age_years;
  return p;
}

CohortSpec SmallCohortSpec() {
  CohortSpec s;
  s.seed = 5;
  s.patients = 20;
  s.days = 7;
  s.population.sbp_mmhg = {147.0, 2.0};
  s.population.dbp_mmhg = {90.0, 4.0};
  s.population.heart_rate_bpm = {72.0, 8.0};
  s.population.female_fraction = 0.0;
  s.arms = {{"placebo", {}}, {"amlodipine 10", {{"amlodipine", 10.0, 24.0, false}}}};
  return s;
}

}  // namespace healthtwin::models::treatment::testing
