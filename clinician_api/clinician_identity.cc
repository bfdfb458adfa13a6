// ClinicianService.GetPatientIdentity: the care team's (and a break-glass holder's) view of a
// patient's identifying data. The care-team check and its audit row are Access::CheckAndAudit's;
// the registry decrypts and audits the relay with the person named. Identifiers pass through
// memory only: nothing here logs them.
#include "clinician_api/clinician_service.h"
#include "clinician_api/upstream.h"
#include "services/common/grpc_util.h"

namespace healthtwin::clinician {

grpc::ServerUnaryReactor* ClinicianServiceImpl::GetPatientIdentity(
    grpc::CallbackServerContext* ctx, const healthtwin::registry::v1::GetPatientIdentityRequest* req,
    healthtwin::registry::v1::PatientIdentity* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    constexpr std::string_view kAction = "patient.identity.read";
    auto caller = Identify(*ctx, "GetPatientIdentity", kAction, {req->patient_id()});
    if (!caller.ok()) return caller.status();
    if (req->patient_id().empty()) return absl::InvalidArgumentError("patient_id: required");
    if (auto s = access_.CheckAndAudit(*caller, kAction, req->patient_id()); !s.ok()) return s;
    if (!up_.registry) return absl::UnimplementedError("this clinician_api has no registry upstream");
    return CallUpstream(*caller, up_.registry.get(),
                        &healthtwin::registry::v1::RegistryService::Stub::GetPatientIdentity, *req, resp);
  });
}

}  // namespace healthtwin::clinician
