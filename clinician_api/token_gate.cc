#include "clinician_api/token_gate.h"

#include <grpc/grpc_security_constants.h>

#include <iterator>

#include "absl/strings/match.h"
#include "services/common/auth/scopes.h"

namespace healthtwin::clinician {

const TokenGate::ScopeTable& TokenGate::RequiredScopes() {
  // FHIR resource types as the FHIR edge maps them (fhir_api.h): vitals and the twin's state are
  // Observations, alerts are Communications (the alert sent to a clinician), the care-team list
  // is Patient. Reads need r and s (SMART v2: read one, search many); changing an alert or its
  // settings needs u. WhoAmI reveals only the caller's own identity: any valid token may call it.
  // Identifying data is the Patient resource. A break-glass grant only opens reads of a
  // patient's record, so asking for one needs what reading it needs; reviewing grants is
  // reviewing the audit trail (AuditEvent), and marking one reviewed is an update.
  static const ScopeTable kTable = {
      {"WhoAmI", {}},
      {"ListMyPatients", {"user/Patient.rs"}},
      {"GetVitals", {"user/Observation.rs"}},
      {"GetTwin", {"user/Observation.rs"}},
      {"Predict", {"user/Observation.rs"}},
      {"SubscribeAlerts", {"user/Communication.rs"}},
      {"ListAlerts", {"user/Communication.rs"}},
      {"GetAlert", {"user/Communication.rs"}},
      {"GetAlarmBurden", {"user/Communication.rs"}},
      {"GetPatientAlertSettings", {"user/Communication.rs"}},
      {"AcknowledgeAlert", {"user/Communication.rus"}},
      {"ShelveAlert", {"user/Communication.rus"}},
      {"SetPatientAlertSettings", {"user/Communication.rus"}},
      {"GetPatientIdentity", {"user/Patient.rs"}},
      {"BreakGlass", {"user/Patient.rs"}},
      {"ListBreakGlassGrants", {"user/AuditEvent.rs"}},
      {"ReviewBreakGlassGrant", {"user/AuditEvent.rus"}},
      {"WatchSecurityEvents", {"user/AuditEvent.rs"}},
      // De-identified research reads (research.h): a study's subjects are FHIR ResearchSubjects.
      {"ListStudyPatients", {"user/ResearchSubject.rs"}},
      {"GetDeidentifiedVitals", {"user/Observation.rs"}},
      {"GetDeidentifiedTwin", {"user/Observation.rs"}},
      {"RunDeidentifiedWhatIf", {"user/Observation.rs"}},
  };
  return kTable;
}

absl::StatusOr<TokenGate> TokenGate::Create(std::optional<common::auth::TokenVerifier> verifier, bool require_token,
                                            std::function<int64_t()> now_unix_s) {
  if (require_token && !verifier) {
    return absl::InvalidArgumentError("auth.require_token: needs a token public key, issuer and audience");
  }
  TokenGate gate;
  gate.verifier_ = std::move(verifier);
  gate.require_token_ = require_token;
  gate.now_unix_s_ = std::move(now_unix_s);
  return gate;
}

absl::Status TokenGate::Admit(std::string_view method, std::optional<std::string_view> authorization,
                              std::string_view client_cert_der, common::Caller& caller) const {
  if (!authorization) {
    if (require_token_) return absl::UnauthenticatedError("bearer token: required on this server, none sent");
    return absl::OkStatus();
  }
  // RFC 6750 section 2.1: "Bearer" then one space then the token; the scheme is
  // case-insensitive (RFC 9110 section 11.1).
  constexpr std::string_view kScheme = "bearer ";
  if (authorization->size() < kScheme.size() ||
      !absl::EqualsIgnoreCase(absl::string_view(authorization->data(), kScheme.size()),
                              absl::string_view(kScheme.data(), kScheme.size()))) {
    return absl::UnauthenticatedError("bearer token: malformed: the authorization header is not 'Bearer <token>'");
  }
  if (!verifier_) return absl::UnauthenticatedError("bearer token: this server is not configured to accept tokens");
  auto claims = verifier_->Verify(authorization->substr(kScheme.size()), now_unix_s_(), client_cert_der);
  if (!claims.ok()) return claims.status();
  const std::string cert_role(common::RoleName(caller.identity.role));
  if (claims->subject != caller.identity.common_name || claims->role != cert_role) {
    return absl::UnauthenticatedError("bearer token: issued to '" + claims->subject + "' (" + claims->role +
                                      "), but the client certificate is '" + caller.identity.common_name + "' (" +
                                      cert_role + ")");
  }
  // The token is authentic and names this caller: from here on its id is the caller's, so a
  // scope refusal is audited with it.
  caller.token_id = claims->token_id;
  const auto& table = RequiredScopes();
  auto it = table.find(method);
  if (it == table.end()) {
    return absl::PermissionDeniedError("bearer token: no scope rule for " + std::string(method));  // fail closed
  }
  return common::auth::RequireScopes(claims->scopes, it->second, method);
}

absl::Status TokenGate::Admit(const grpc::CallbackServerContext& ctx, std::string_view method,
                              common::Caller& caller) const {
  const auto& md = ctx.client_metadata();
  std::optional<std::string_view> authorization;
  const auto [first, last] = md.equal_range("authorization");
  if (first != last) {
    if (std::next(first) != last)
      return absl::UnauthenticatedError("bearer token: malformed: several authorization headers");
    authorization = std::string_view(first->second.data(), first->second.size());
  }
  std::string cert_der;
  if (authorization) {
    if (auto auth = ctx.auth_context()) {
      const auto pems = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
      if (!pems.empty()) {
        auto der = common::auth::CertificateDerFromPem(std::string_view(pems.front().data(), pems.front().size()));
        if (der.ok()) cert_der = *std::move(der);
      }
    }
  }
  return Admit(method, authorization, cert_der, caller);
}

}  // namespace healthtwin::clinician
