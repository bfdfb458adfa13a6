#include "clinician_api/cli/token_commands.h"

#include <fstream>
#include <ostream>
#include <sstream>

#include "absl/strings/str_split.h"
#include "clinician_api/cli/time_args.h"
#include "services/common/auth/bearer_token.h"
#include "services/common/auth/scopes.h"
#include "services/common/tls/tls.h"

namespace healthtwin::cli {
namespace {

// A development token lives minutes; a day is already generous (RFC 8725 section 3.10 asks
// for short-lived tokens where they cannot be revoked, and these cannot).
constexpr absl::Duration kMaxTtl = absl::Hours(24);

int Bad(std::ostream& err, std::string_view message) {
  err << "healthtwin admin issue-token: " << message << "\n";
  return 2;
}

}  // namespace

TokenCommands::TokenCommands(CLI::App& admin) {
  issue_ = admin.add_subcommand("issue-token", "print a bearer token (ES256 JWT) signed with the issuer's key");
  issue_->add_option("--subject", subject_, "the person: their certificate's common name, e.g. dr-alice")->required();
  issue_->add_option("--role", role_, "their role, as in their certificate: clinician, nurse, researcher or admin")
      ->required();
  issue_->add_option("--scopes", scopes_, "space-separated SMART v2 scopes, e.g. \"user/Observation.rs user/*.rs\"")
      ->required();
  issue_->add_option("--ttl", ttl_, "lifetime, e.g. 90s, 15m, 2h (default 15m, at most 24h)");
  issue_->add_option("--issuer-key", key_, "PEM EC P-256 private key of the token issuer (HEALTHTWIN_TOKEN_KEY)")
      ->envname("HEALTHTWIN_TOKEN_KEY");
  issue_->add_option("--issuer", issuer_, "the iss claim (HEALTHTWIN_TOKEN_ISSUER)")
      ->envname("HEALTHTWIN_TOKEN_ISSUER");
  issue_->add_option("--audience", audience_, "the aud claim (HEALTHTWIN_TOKEN_AUDIENCE)")
      ->envname("HEALTHTWIN_TOKEN_AUDIENCE");
  issue_->add_option("--bind-cert", bind_cert_, "bind the token to this PEM client certificate (RFC 8705)");
}

bool TokenCommands::parsed() const { return issue_->parsed(); }

int TokenCommands::Run(std::ostream& out, std::ostream& err, int64_t now_unix_s) const {
  if (key_.empty()) return Bad(err, "--issuer-key: required (or HEALTHTWIN_TOKEN_KEY)");
  if (issuer_.empty()) return Bad(err, "--issuer: required (or HEALTHTWIN_TOKEN_ISSUER)");
  if (audience_.empty()) return Bad(err, "--audience: required (or HEALTHTWIN_TOKEN_AUDIENCE)");
  if (subject_.empty()) return Bad(err, "--subject: must not be empty");
  const bool person_role = role_ == "clinician" || role_ == "nurse" || role_ == "researcher" || role_ == "admin";
  if (!person_role) return Bad(err, "--role: '" + role_ + "' is not clinician, nurse, researcher or admin");
  std::vector<std::string> scopes = absl::StrSplit(scopes_, ' ', absl::SkipEmpty());
  for (const auto& scope : scopes) {
    if (!common::auth::IsUserScope(scope)) {
      return Bad(err, "--scopes: '" + scope + "' is not a SMART v2 user scope (user/<Type or *>.<cruds>)");
    }
  }
  auto ttl = ParseSpanArg("--ttl", ttl_);
  if (!ttl.ok()) return Bad(err, std::string(ttl.status().message()));
  if (*ttl > kMaxTtl) return Bad(err, "--ttl: at most 24h");

  common::auth::TokenClaims claims;
  if (!bind_cert_.empty()) {
    std::ifstream in(bind_cert_, std::ios::binary);
    if (!in) return Bad(err, "--bind-cert: cannot read '" + bind_cert_ + "'");
    std::ostringstream pem;
    pem << in.rdbuf();
    auto der = common::auth::CertificateDerFromPem(pem.str());
    if (!der.ok()) return Bad(err, "--bind-cert: '" + bind_cert_ + "' is not a PEM certificate");
    claims.cert_thumbprint = common::auth::CertificateThumbprint(*der);
  }
  auto signer = common::auth::TokenSigner::FromPrivateKeyFile(key_);
  if (!signer.ok()) return Bad(err, "--issuer-key: " + std::string(signer.status().message()));
  auto jti = common::auth::NewTokenId();
  if (!jti.ok()) return Bad(err, std::string(jti.status().message()));
  claims.issuer = issuer_;
  claims.audiences = {audience_};
  claims.subject = subject_;
  claims.role = role_;
  claims.token_id = *jti;
  claims.issued_at_unix_s = now_unix_s;
  claims.not_before_unix_s = now_unix_s;
  claims.expires_at_unix_s = now_unix_s + absl::ToInt64Seconds(*ttl);
  claims.scopes = std::move(scopes);
  auto token = signer->Sign(claims);
  if (!token.ok()) return Bad(err, std::string(token.status().message()));
  out << *token << "\n";
  return 0;
}

}  // namespace healthtwin::cli
