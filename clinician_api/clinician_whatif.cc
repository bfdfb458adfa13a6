// ClinicianServiceImpl::StartWhatIfAs: a what-if comparison on a patient's twin, relayed to the
// simulation service for the person (issue 14, the dashboard's what-if).
#include "clinician_api/clinician_service.h"
#include "clinician_api/upstream.h"

namespace healthtwin::clinician {
namespace sim_v1 = healthtwin::simulation::v1;

absl::StatusOr<std::unique_ptr<WhatIfStream>> ClinicianServiceImpl::StartWhatIfAs(const Caller& caller,
                                                                                  const sim_v1::WhatIfRequest& req) {
  if (auto s =
          common::AuthorizeAuditingRefusal(caller, policy_, "RunWhatIf", access_, "twin.whatif", {req.patient_id()});
      !s.ok()) {
    return s;
  }
  if (req.patient_id().empty()) return absl::InvalidArgumentError("patient_id: required");
  if (auto s = access_.CheckAndAudit(caller, "twin.whatif", req.patient_id()); !s.ok()) return s;
  if (up_.simulation == nullptr) {
    return absl::UnimplementedError("what-if: this clinician_api has no simulation service (--simulation-addr)");
  }
  // The simulation service validates the options (drugs, doses, schedules, adherence, sizes).
  return std::make_unique<WhatIfStream>(caller, up_.simulation.get(), &sim_v1::SimulationService::Stub::RunWhatIf, req,
                                        kWhatIfDeadline);
}

}  // namespace healthtwin::clinician
