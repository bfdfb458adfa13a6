// Who may use server reflection.
//
// Reflection describes every method and message a process serves. Operators (admin) and other
// services need it for debugging and tooling; clinicians, nurses, researchers and bridges do
// not, so it is refused to them. grpc.health.v1 and every service method are untouched here
// (they authorise in their handlers), so probes keep working with any certificate from the CA.
//
// gRPC 1.51's reflection plugin has no authorisation hook and interceptors cannot end a call
// with a status of their own, so the check runs as the server credentials' metadata processor:
// it sees each call's ":path" and the peer's verified certificate before any handler runs, and
// a refusal reaches the caller as PERMISSION_DENIED. Thread-safe and stateless.
#pragma once

#include <grpcpp/security/auth_metadata_processor.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace healthtwin::common {

// OK unless `method_path` (e.g. "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
// is a reflection method and the peer's role is neither admin nor service.
absl::Status CheckReflectionAccess(absl::string_view method_path, const grpc::AuthContext& peer);

class ReflectionAccessProcessor final : public grpc::AuthMetadataProcessor {
 public:
  // Cheap (a prefix compare; the certificate is parsed only for reflection calls): run inline.
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata, OutputMetadata* response_metadata) override;
};

}  // namespace healthtwin::common
