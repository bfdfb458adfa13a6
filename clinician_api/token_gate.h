// Bearer tokens on the clinician API's gRPC calls (issue 13, item 3; docs/security.md, "Bearer
// tokens"). Mutual TLS authenticates every connection as before; a call may also carry
// `authorization: Bearer <JWT>` (services/common/auth/bearer_token.h). The rule:
//   - the token must name the same person as the client certificate (sub = the certificate's
//     CN, role = its OU); it never lends one person's rights to another;
//   - its scopes must cover the RPC's required scopes (RequiredScopes(), one table for every
//     ClinicianService RPC), so a token narrows what the certificate's holder may do with it;
//   - the role allow-list (CallerPolicy) and the care team are checked afterwards as for any
//     call, so no scope widens access.
// Without a token a call is admitted on its certificate alone, unless require_token is set
// ([auth] require_token / --require-token). A token sent to a server configured without a
// token key is refused, not ignored.
//
// Refusals: UNAUTHENTICATED with the reason for a missing (when required), malformed, invalid
// or foreign token; PERMISSION_DENIED naming the missing scopes. Immutable; thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/access.h"
#include "services/common/auth/bearer_token.h"

namespace healthtwin::clinician {

class TokenGate {
 public:
  // RPC name (as in the proto) to the SMART v2 scopes a token must cover to call it.
  using ScopeTable = std::map<std::string, std::vector<std::string>, std::less<>>;
  static const ScopeTable& RequiredScopes();

  // Tokens refused, certificates alone admitted: the server has no [auth] settings.
  TokenGate() = default;
  // InvalidArgument when require_token is set without a verifier.
  static absl::StatusOr<TokenGate> Create(std::optional<common::auth::TokenVerifier> verifier, bool require_token,
                                          std::function<int64_t()> now_unix_s);

  // For a caller identified by its certificate: OK (setting caller.token_id when a token was
  // verified) or the refusal described above. `authorization` is the value of the
  // authorization header (nullopt: none sent); `client_cert_der` that of the verified client
  // certificate, for a certificate-bound token.
  absl::Status Admit(std::string_view method, std::optional<std::string_view> authorization,
                     std::string_view client_cert_der, common::Caller& caller) const;
  // The same, reading both from the call.
  absl::Status Admit(const grpc::CallbackServerContext& ctx, std::string_view method, common::Caller& caller) const;

  bool require_token() const { return require_token_; }

 private:
  std::optional<common::auth::TokenVerifier> verifier_;
  bool require_token_ = false;
  std::function<int64_t()> now_unix_s_;
};

}  // namespace healthtwin::clinician
