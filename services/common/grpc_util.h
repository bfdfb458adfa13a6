// Helpers for the thin gRPC adapters: run blocking domain work off gRPC's callback threads,
// and check the caller's mutual-TLS identity.
#pragma once

#include <initializer_list>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "services/common/executor.h"
#include "services/common/status.h"
#include "services/common/tls/tls.h"

namespace healthtwin::common {

// The caller's identity, or PERMISSION_DENIED unless its role is one of `allowed`.
absl::StatusOr<PeerIdentity> RequireRole(const grpc::CallbackServerContext& ctx, std::initializer_list<Role> allowed);

// Runs `fn` (returning absl::Status) on `executor` and finishes the unary call with its
// status. `fn` fills the response itself.
template <typename Fn>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx, Executor& executor, Fn fn) {
  auto* reactor = ctx->DefaultReactor();
  executor.Submit([reactor, fn = std::move(fn)]() mutable { reactor->Finish(ToGrpcStatus(fn())); });
  return reactor;
}

// True when a call failed because the TLS handshake was refused (a certificate from another
// CA on either side), as opposed to the peer being down.
bool IsTlsHandshakeFailure(const grpc::Status& status);

}  // namespace healthtwin::common
