// Shared fixtures for the treatment tests: patients whose maps are built once per process.
#pragma once

#include <memory>

#include "models/long_horizon.h"
#include "models/patient.h"
#include "models/steady_state_map.h"
#include "models/treatment/cohort.h"
#include "models/treatment/course.h"
#include "models/treatment/whatif.h"

namespace healthtwin::models::treatment::testing {

// A hypertensive 60-year-old man of 80 kg (about 139/102 mmHg), with his map (built once per
// process; each gtest case runs in its own process under ctest, so use it only where needed).
const WhatIfPatient& HypertensivePatient();

// That patient as a VirtualPerson at his nominal resting state.
VirtualPerson HypertensivePerson();

// A small cohort of 20 men around 147/90 mmHg (one archetype map), placebo and amlodipine 10 mg,
// seed 5, 7 days.
CohortSpec SmallCohortSpec();

}  // namespace healthtwin::models::treatment::testing
