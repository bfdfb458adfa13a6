// Bearer tokens for people (issue 13, item 3; docs/security.md, "Bearer tokens"): compact JWS
// JSON Web Tokens (RFC 7515, RFC 7519) signed with ES256 (ECDSA P-256 and SHA-256, RFC 7518
// section 3.4) by the deployment's token-issuer key, carried as `authorization: Bearer <JWT>` on
// calls that are already mutually authenticated by TLS. A token never replaces the client
// certificate: it names the same person and narrows what a call may do by its scopes.
//
// TokenVerifier checks, in this order, and refuses with UNAUTHENTICATED and a reason:
//   - size: at most VerifierOptions::max_token_bytes (8 KiB) before anything is decoded;
//   - form: three base64url parts (no padding), a JSON object header and payload;
//   - algorithm: "alg" exactly "ES256"; "none" and every other algorithm are refused (RFC 8725
//     section 3.1 and 3.2: the verifier, not the token, decides the algorithm); a "crit" header
//     is refused (RFC 7515 section 4.1.11: no extension is understood);
//   - signature: 64 bytes r||s (RFC 7518 section 3.4) over the signing input, verified with
//     OpenSSL EVP against the configured public key;
//   - claims (RFC 7519 section 4.1; RFC 8725 section 3.8 and 3.9): iss equal to the expected
//     issuer; aud (string or array) containing the expected audience; exp, iat, jti, sub, role
//     and scope present; now < exp + skew; nbf (optional) <= now + skew; iat <= now + skew;
//   - binding (RFC 8705 section 3.1): when the token has cnf, its "x5t#S256" must equal the
//     base64url SHA-256 of the DER of the client certificate of the connection.
// The allowed clock skew is VerifierOptions::clock_skew_s, 60 s by default (RFC 7519 section
// 4.1.4 lets an implementation allow "some small leeway, usually no more than a few minutes").
//
// TokenSigner is the issuer's side, for `healthtwin admin issue-token` and tests.
// Both are immutable after creation and safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace healthtwin::common::auth {

struct TokenClaims {
  std::string issuer = {};
  std::vector<std::string> audiences = {};
  std::string subject = {};   // the person: their certificate's common name
  std::string role = {};      // the person's role, as in their certificate's OU (clinician, nurse, ...)
  std::string token_id = {};  // jti
  int64_t issued_at_unix_s = 0;
  int64_t not_before_unix_s = 0;  // 0: no nbf
  int64_t expires_at_unix_s = 0;
  std::vector<std::string> scopes = {};  // the space-separated "scope" claim, split
  std::string cert_thumbprint = {};      // cnf "x5t#S256"; empty: not bound to a certificate
};

struct VerifierOptions {
  std::string issuer = {};    // required
  std::string audience = {};  // required
  int64_t clock_skew_s = 60;
  std::size_t max_token_bytes = 8192;
};

class TokenVerifier {
 public:
  // InvalidArgument when the file is unreadable or not an EC P-256 public key (PEM), or the
  // issuer or audience is empty.
  static absl::StatusOr<TokenVerifier> FromPublicKeyFile(const std::string& path, VerifierOptions options);
  static absl::StatusOr<TokenVerifier> FromPublicKeyPem(std::string_view pem, VerifierOptions options);

  // The claims of a valid token; UNAUTHENTICATED with the reason otherwise. `client_cert_der`
  // is the DER of the connection's verified client certificate (empty: none), for cnf.
  absl::StatusOr<TokenClaims> Verify(std::string_view token, int64_t now_unix_s,
                                     std::string_view client_cert_der) const;

  const VerifierOptions& options() const { return options_; }

 private:
  TokenVerifier(std::shared_ptr<EVP_PKEY> key, VerifierOptions options)
      : key_(std::move(key)), options_(std::move(options)) {}

  std::shared_ptr<EVP_PKEY> key_;
  VerifierOptions options_;
};

class TokenSigner {
 public:
  // InvalidArgument when the file is unreadable or not an EC P-256 private key (PEM).
  static absl::StatusOr<TokenSigner> FromPrivateKeyFile(const std::string& path);
  static absl::StatusOr<TokenSigner> FromPrivateKeyPem(std::string_view pem);

  // A compact ES256 JWT with header {"alg":"ES256","typ":"JWT"} and these claims (nbf only when
  // not 0, cnf only when cert_thumbprint is set, scope joined by spaces).
  absl::StatusOr<std::string> Sign(const TokenClaims& claims) const;
  // base64url(header) "." base64url(payload) "." base64url(ES256 signature), the JSON texts
  // exactly as given (tests use it to build refused tokens that are otherwise well signed).
  absl::StatusOr<std::string> SignRaw(std::string_view header_json, std::string_view payload_json) const;

 private:
  explicit TokenSigner(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;
};

// RFC 8705 section 3.1 "x5t#S256": base64url (no padding) SHA-256 of a certificate's DER.
std::string CertificateThumbprint(std::string_view cert_der);
// The DER of the first certificate in `pem`; InvalidArgument when there is none.
absl::StatusOr<std::string> CertificateDerFromPem(std::string_view pem);

// A fresh random token id (128 bits from the OpenSSL CSPRNG, base64url).
absl::StatusOr<std::string> NewTokenId();

}  // namespace healthtwin::common::auth
