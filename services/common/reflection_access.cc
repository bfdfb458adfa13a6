#include "services/common/reflection_access.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/status.h"
#include "services/common/tls/tls.h"

namespace healthtwin::common {

absl::Status CheckReflectionAccess(absl::string_view method_path, const grpc::AuthContext& peer) {
  // Every version of the reflection service (v1alpha today, v1 in later gRPC releases).
  if (!absl::StartsWith(method_path, "/grpc.reflection.")) return absl::OkStatus();
  absl::StatusOr<PeerIdentity> identity = PeerIdentityFromAuthContext(peer);
  if (!identity.ok()) return identity.status();
  if (identity->role == Role::kAdmin || identity->role == Role::kService) return absl::OkStatus();
  const std::string_view role = RoleName(identity->role);
  return absl::PermissionDeniedError(absl::StrCat("server reflection is for admin and service identities; '",
                                                  identity->common_name, "' has role '",
                                                  absl::string_view(role.data(), role.size()), "'"));
}

grpc::Status ReflectionAccessProcessor::Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                                                OutputMetadata* /*consumed_auth_metadata*/,
                                                OutputMetadata* /*response_metadata*/) {
  auto path = auth_metadata.find(":path");
  if (path == auth_metadata.end() || context == nullptr) return grpc::Status::OK;
  return ToGrpcStatus(CheckReflectionAccess(absl::string_view(path->second.data(), path->second.size()), *context));
}

}  // namespace healthtwin::common
