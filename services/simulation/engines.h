// The production SimulationEngines: the models/treatment library behind the service, with the
// proto <-> domain mapping in one place (engines.cc). Stateless; safe from any thread.
#pragma once

#include "services/simulation/job_runner.h"
#include "services/simulation/simulation_service.h"

namespace healthtwin::simulation {

// `cohort_threads`: threads a cohort job may use (0 = all cores).
SimulationEngines MakeTreatmentEngines(int cohort_threads = 0);

// The cohort engine for JobRunner.
CohortEngine MakeTreatmentCohortEngine(int threads = 0);

}  // namespace healthtwin::simulation
