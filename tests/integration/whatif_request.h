// A small what-if request the integration tests share: ten days, six ensemble members, no
// change against amlodipine 10 mg once daily.
#pragma once

#include <string>

#include "healthtwin/simulation/v1/simulation.pb.h"

namespace healthtwin::testing {

inline simulation::v1::WhatIfRequest TwoOptionWhatIf(const std::string& patient_id) {
  simulation::v1::WhatIfRequest req;
  req.set_patient_id(patient_id);
  req.set_days(10);
  req.set_ensemble_size(6);
  req.set_seed(3);
  req.add_options()->set_name("no change");
  auto* amlo = req.add_options();
  amlo->set_name("amlodipine 10");
  auto* d = amlo->add_drugs();
  d->set_drug("amlodipine");
  d->set_dose_mg(10);
  d->set_interval_h(24);
  d->set_adherence_fraction(1.0);
  return req;
}

}  // namespace healthtwin::testing
