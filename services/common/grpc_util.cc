#include "services/common/grpc_util.h"

#include <algorithm>

namespace healthtwin::common {

absl::StatusOr<PeerIdentity> RequireRole(const grpc::CallbackServerContext& ctx,
                                         std::initializer_list<Role> allowed) {
  auto auth = ctx.auth_context();
  if (!auth) return absl::UnauthenticatedError("no authentication context");
  auto peer = PeerIdentityFromAuthContext(*auth);
  if (!peer.ok()) return peer.status();
  if (std::find(allowed.begin(), allowed.end(), peer->role) == allowed.end()) {
    return absl::PermissionDeniedError("role '" + std::string(RoleName(peer->role)) + "' of '" + peer->common_name +
                                       "' may not call this method");
  }
  return peer;
}

bool IsTlsHandshakeFailure(const grpc::Status& status) {
  // gRPC 1.51 reports a refused handshake only as UNAVAILABLE with this text.
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         status.error_message().find("andshake failed") != std::string::npos;
}

}  // namespace healthtwin::common
