// ClinicianServiceImpl::Authenticate: the certificate's identity, then the bearer token
// (token_gate.h). Kept apart from the RPC handlers so that authentication has one place.
#include "clinician_api/clinician_service.h"
#include "services/common/grpc_util.h"

namespace healthtwin::clinician {

absl::StatusOr<Caller> ClinicianServiceImpl::Authenticate(const grpc::CallbackServerContext& ctx,
                                                          std::string_view method) {
  auto caller = common::CallerOf(ctx);
  if (!caller.ok()) return caller.status();
  if (auto refused = tokens_.Admit(ctx, method, *caller); !refused.ok()) {
    // A refused token is an access attempt by the certificate's holder: audited (with the token
    // id when the token was authentic), fail closed.
    if (auto s = access_.Audit(*caller, "auth.token", "", "denied",
                               std::string(method) + ": " + std::string(refused.message()));
        !s.ok()) {
      return absl::UnavailableError("access refused: the audit record could not be written");
    }
    return refused;
  }
  return caller;
}

}  // namespace healthtwin::clinician
