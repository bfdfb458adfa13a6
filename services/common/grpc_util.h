// Helpers for the thin gRPC adapters: run blocking domain work off gRPC's callback threads,
// and check the caller's mutual-TLS identity.
#pragma once

#include <grpcpp/grpcpp.h>

#include <initializer_list>

#include "absl/status/statusor.h"
#include "services/common/access.h"
#include "services/common/caller_policy.h"
#include "services/common/executor.h"
#include "services/common/status.h"
#include "services/common/tls/tls.h"

namespace healthtwin::common {

// The caller's identity, or PERMISSION_DENIED unless its role is one of `allowed`.
absl::StatusOr<PeerIdentity> RequireRole(const grpc::CallbackServerContext& ctx, std::initializer_list<Role> allowed);

// Request metadata by which a relaying service names the person it acts for. Set by
// clinician_api from the person's verified identity; read only on methods whose allow-list
// admits nothing but relays, so no one else can assert it.
inline constexpr char kOnBehalfOfHeader[] = "x-healthtwin-on-behalf-of";

// The verified peer of the call, with the person named in kOnBehalfOfHeader (if any).
absl::StatusOr<Caller> CallerOf(const grpc::CallbackServerContext& ctx);

// Authorises a call against `policy` for `method` and audits the decision (fail closed: when
// the record cannot be written the call is refused): one audit record per patient in
// `patient_ids` (one without a patient when empty), "allowed" with `detail` or "denied" with the
// reason.
// Returns the caller, or the refusal.
absl::StatusOr<Caller> AuthorizeAndAudit(const grpc::CallbackServerContext& ctx, const CallerPolicy& policy,
                                         std::string_view method, Access& access, std::string_view action,
                                         const std::vector<std::string>& patient_ids, std::string_view detail = "");

// The same for a caller identified earlier (e.g. on the gRPC thread, before work moved to an
// executor where the server context may no longer be used).
absl::Status AuthorizeAndAudit(const Caller& caller, const CallerPolicy& policy, std::string_view method,
                               Access& access, std::string_view action, const std::vector<std::string>& patient_ids,
                               std::string_view detail = "");

// Authorises against `policy` for `method` and audits only a refusal (under `action`, one row
// per patient in `patient_ids`, or one naming none), fail closed: for calls whose allowed
// outcome is audited later with more detail, or not at all because it reveals no patient data.
absl::StatusOr<Caller> AuthorizeAuditingRefusal(const grpc::CallbackServerContext& ctx, const CallerPolicy& policy,
                                                std::string_view method, Access& access, std::string_view action,
                                                const std::vector<std::string>& patient_ids = {});
// The same for a caller identified elsewhere (another edge, e.g. the HTTPS listener).
absl::Status AuthorizeAuditingRefusal(const Caller& caller, const CallerPolicy& policy, std::string_view method,
                                      Access& access, std::string_view action,
                                      const std::vector<std::string>& patient_ids = {});

// A service's policy built from its defaults and the `[access]` overrides of its config; exits
// the process with code 2 and one line naming the bad entry, like every other config error.
CallerPolicy PolicyOrExit(std::string_view service_name, const CallerPolicy::Rules& defaults,
                          const CallerPolicy::Rules& overrides);
// What a call gets when its executor's queue is full (RESOURCE_EXHAUSTED, retryable later).
absl::Status ServerBusyError();

// Runs `fn` (returning absl::Status) on `executor` and finishes the unary call with its
// status. `fn` fills the response itself. When the executor's queue is full, `fn` never runs
// and the call finishes at once with ServerBusyError().
template <typename Fn>
grpc::ServerUnaryReactor* RunUnary(grpc::CallbackServerContext* ctx, Executor& executor, Fn fn) {
  auto* reactor = ctx->DefaultReactor();
  if (!executor.TrySubmit([reactor, fn = std::move(fn)]() mutable { reactor->Finish(ToGrpcStatus(fn())); })) {
    reactor->Finish(ToGrpcStatus(ServerBusyError()));
  }
  return reactor;
}

// True when a call failed because the TLS handshake was refused (a certificate from another
// CA on either side), as opposed to the peer being down.
bool IsTlsHandshakeFailure(const grpc::Status& status);

}  // namespace healthtwin::common
