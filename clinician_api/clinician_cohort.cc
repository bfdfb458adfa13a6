// ClinicianServiceImpl's cohort reads for the dashboard's researcher view (issue 14): the
// person's own cohort jobs, relayed to the simulation service naming the person. Cohort jobs
// hold virtual patients only, so a researcher sees their own jobs in full.
#include "clinician_api/clinician_service.h"
#include "clinician_api/upstream.h"

namespace healthtwin::clinician {
namespace {
namespace sim_v1 = healthtwin::simulation::v1;
}  // namespace

absl::Status ClinicianServiceImpl::ListCohortJobsAs(const Caller& caller, const sim_v1::ListCohortJobsRequest& req,
                                                    sim_v1::ListCohortJobsResponse* resp) {
  if (auto s = common::AuthorizeAndAudit(caller, policy_, "ListCohortJobs", access_, "cohort.list", {}); !s.ok()) {
    return s;
  }
  if (up_.simulation == nullptr) {
    return absl::UnimplementedError("cohort jobs: this clinician_api has no simulation service (--simulation-addr)");
  }
  return CallUpstream(caller, up_.simulation.get(), &sim_v1::SimulationService::Stub::ListCohortJobs, req, resp);
}

absl::Status ClinicianServiceImpl::GetCohortResultsAs(const Caller& caller, const sim_v1::JobRequest& req,
                                                      sim_v1::CohortResults* resp) {
  if (auto s = common::AuthorizeAndAudit(caller, policy_, "GetCohortResults", access_, "cohort.results", {},
                                         "job " + req.job_id());
      !s.ok()) {
    return s;
  }
  if (up_.simulation == nullptr) {
    return absl::UnimplementedError("cohort jobs: this clinician_api has no simulation service (--simulation-addr)");
  }
  return CallUpstream(caller, up_.simulation.get(), &sim_v1::SimulationService::Stub::GetCohortResults, req, resp);
}

}  // namespace healthtwin::clinician
