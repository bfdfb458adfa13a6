#include "services/common/grpc_util.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <iostream>

namespace healthtwin::common {

absl::StatusOr<PeerIdentity> RequireRole(const grpc::CallbackServerContext& ctx, std::initializer_list<Role> allowed) {
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

absl::StatusOr<Caller> CallerOf(const grpc::CallbackServerContext& ctx) {
  auto auth = ctx.auth_context();
  if (!auth) return absl::UnauthenticatedError("no authentication context");
  auto peer = PeerIdentityFromAuthContext(*auth);
  if (!peer.ok()) return peer.status();
  Caller caller{*std::move(peer), ctx.peer(), ""};
  // Only a service relays for someone; a person's own call never speaks for another person.
  if (caller.identity.role != Role::kService) return caller;
  const auto& md = ctx.client_metadata();
  if (auto it = md.find(kOnBehalfOfHeader); it != md.end()) {
    const std::string_view who(it->second.data(), it->second.size());
    const bool valid = !who.empty() && who.size() <= 64 && std::all_of(who.begin(), who.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '@';
    });
    if (!valid) return absl::InvalidArgumentError(std::string(kOnBehalfOfHeader) + ": not a valid identity name");
    caller.on_behalf_of = std::string(who);
  }
  return caller;
}

absl::Status AuthorizeAndAudit(const Caller& caller, const CallerPolicy& policy, std::string_view method,
                               Access& access, std::string_view action, const std::vector<std::string>& patient_ids,
                               std::string_view detail) {
  const absl::Status decision = policy.Check(method, caller.identity);
  const std::string refusal(decision.message());
  if (auto s = access.AuditEach(caller, action, patient_ids, decision.ok() ? "allowed" : "denied",
                                decision.ok() ? detail : std::string_view(refusal));
      !s.ok()) {
    return absl::UnavailableError("access refused: the audit record could not be written");
  }
  return decision;
}

absl::StatusOr<Caller> AuthorizeAndAudit(const grpc::CallbackServerContext& ctx, const CallerPolicy& policy,
                                         std::string_view method, Access& access, std::string_view action,
                                         const std::vector<std::string>& patient_ids, std::string_view detail) {
  auto caller = CallerOf(ctx);
  if (!caller.ok()) return caller.status();
  if (auto s = AuthorizeAndAudit(*caller, policy, method, access, action, patient_ids, detail); !s.ok()) return s;
  return caller;
}

absl::StatusOr<Caller> AuthorizeAuditingRefusal(const grpc::CallbackServerContext& ctx, const CallerPolicy& policy,
                                                std::string_view method, Access& access, std::string_view action,
                                                const std::vector<std::string>& patient_ids) {
  auto caller = CallerOf(ctx);
  if (!caller.ok()) return caller.status();
  if (auto s = AuthorizeAuditingRefusal(*caller, policy, method, access, action, patient_ids); !s.ok()) return s;
  return caller;
}

absl::Status AuthorizeAuditingRefusal(const Caller& caller, const CallerPolicy& policy, std::string_view method,
                                      Access& access, std::string_view action,
                                      const std::vector<std::string>& patient_ids) {
  absl::Status s = policy.Check(method, caller.identity);
  if (s.ok()) return s;
  // A refused caller chooses how many ids it sends: the record names the first ones and
  // says how many there were, so a refusal cannot be made to write without bound.
  constexpr size_t kMaxNamed = 100;
  std::string detail(s.message());
  std::vector<std::string> named(patient_ids.begin(),
                                 patient_ids.begin() + static_cast<long>(std::min(patient_ids.size(), kMaxNamed)));
  if (patient_ids.size() > kMaxNamed) {
    detail += " (" + std::to_string(patient_ids.size()) + " patients asked for; the first " +
              std::to_string(kMaxNamed) + " recorded)";
  }
  if (auto a = access.AuditEach(caller, action, named, "denied", detail); !a.ok()) {
    return absl::UnavailableError("access refused: the audit record could not be written");
  }
  return s;
}

CallerPolicy PolicyOrExit(std::string_view service_name, const CallerPolicy::Rules& defaults,
                          const CallerPolicy::Rules& overrides) {
  auto policy = CallerPolicy::Create(defaults, overrides);
  if (!policy.ok()) {
    std::cerr << "healthtwin-" << service_name << ": " << policy.status().message() << "\n";
    std::exit(2);
  }
  return *std::move(policy);
}

absl::Status ServerBusyError() {
  return absl::ResourceExhaustedError("server busy: too many requests are waiting; retry later");
}

bool IsTlsHandshakeFailure(const grpc::Status& status) {
  // gRPC 1.51 reports a refused handshake only as UNAVAILABLE with this text.
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         status.error_message().find("andshake failed") != std::string::npos;
}

}  // namespace healthtwin::common
