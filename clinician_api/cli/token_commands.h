// `healthtwin admin issue-token`: a bearer token for development and tests (issue 13, item 3;
// docs/security.md, "Bearer tokens"). Signs locally with the token issuer's private key; no
// server is contacted.
//
//   healthtwin admin issue-token --subject S --role R --scopes "user/Observation.rs ..." --ttl 15m
//       --issuer-key PEM --issuer ISS --audience AUD [--bind-cert PEM]
//
// --issuer-key, --issuer and --audience default to HEALTHTWIN_TOKEN_KEY, HEALTHTWIN_TOKEN_ISSUER and
// HEALTHTWIN_TOKEN_AUDIENCE. Prints the compact JWT (ES256) and a newline. iat and nbf are now,
// exp now + ttl (at most 24 h), jti 128 random bits; --bind-cert binds it to that client
// certificate (RFC 8705 cnf x5t#S256). Exit codes: 0 printed, 2 a bad argument or an unreadable
// key or certificate (one line naming it).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace healthtwin::cli {

class TokenCommands {
 public:
  explicit TokenCommands(CLI::App& admin);
  TokenCommands(const TokenCommands&) = delete;
  TokenCommands& operator=(const TokenCommands&) = delete;

  bool parsed() const;
  // `now_unix_s`: the clock (iat, nbf, exp).
  int Run(std::ostream& out, std::ostream& err, int64_t now_unix_s) const;

 private:
  CLI::App* issue_ = nullptr;
  std::string subject_, role_, scopes_, ttl_ = "15m", key_, issuer_, audience_, bind_cert_;
};

}  // namespace healthtwin::cli
