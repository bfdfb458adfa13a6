#include "services/common/auth/bearer_token.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace healthtwin::common::auth {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kCoordinateBytes = 32;  // P-256 (RFC 7518 section 3.4)

absl::Status Refuse(std::string_view reason) {
  return absl::UnauthenticatedError("bearer token: " + std::string(reason));
}

std::shared_ptr<EVP_PKEY> Own(EVP_PKEY* key) { return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free); }

absl::Status CheckP256(const EVP_PKEY* key, std::string_view what) {
  char group[64] = {0};
  std::size_t len = 0;
  if (key == nullptr || !EVP_PKEY_is_a(key, "EC") ||
      EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len) != 1 ||
      std::string_view(group, len) != "prime256v1") {
    return absl::InvalidArgumentError(std::string(what) + ": not an EC P-256 key (ES256 needs one)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(std::string(what) + ": cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Base64Url(std::string_view bytes) {
  return absl::WebSafeBase64Escape(absl::string_view(bytes.data(), bytes.size()));
}

// Strict base64url without padding (RFC 7515 section 2): anything else is malformed.
bool FromBase64Url(std::string_view text, std::string* out) {
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  if (text.size() % 4 == 1) return false;
  return absl::WebSafeBase64Unescape(absl::string_view(text.data(), text.size()), out);
}

absl::StatusOr<Json> DecodeObject(std::string_view part, std::string_view name) {
  std::string text;
  if (!FromBase64Url(part, &text)) return Refuse("malformed: the " + std::string(name) + " is not base64url");
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Refuse("malformed: the " + std::string(name) + " is not a JSON object");
  }
  return doc;
}

// A NumericDate (RFC 7519 section 2): seconds since the epoch, possibly fractional.
absl::StatusOr<int64_t> NumericDate(const Json& payload, const char* name, bool required) {
  auto it = payload.find(name);
  if (it == payload.end()) {
    if (required) return Refuse(std::string("malformed: no '") + name + "' claim");
    return int64_t{0};
  }
  if (!it->is_number()) return Refuse(std::string("malformed: '") + name + "' is not a number");
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < 0 || v > 1e12) return Refuse(std::string("malformed: '") + name + "' is out of range");
  return static_cast<int64_t>(std::floor(v));
}

absl::StatusOr<std::string> StringClaim(const Json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
    return Refuse(std::string("malformed: '") + name + "' must be a non-empty string");
  }
  return it->get<std::string>();
}

absl::StatusOr<std::string> RawToDer(std::string_view raw) {
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), kCoordinateBytes, nullptr);
  BIGNUM* s =
      BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + kCoordinateBytes, kCoordinateBytes, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return absl::InternalError("bearer token: cannot build an ECDSA signature");
  }
  const int len = i2d_ECDSA_SIG(sig, nullptr);
  std::string der(len > 0 ? static_cast<std::size_t>(len) : 0, '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  const bool ok = len > 0 && i2d_ECDSA_SIG(sig, &p) == len;
  ECDSA_SIG_free(sig);
  if (!ok) return absl::InternalError("bearer token: cannot encode an ECDSA signature");
  return der;
}

absl::StatusOr<std::string> DerToRaw(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) return absl::InternalError("token signing: OpenSSL returned an undecodable signature");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string raw(2 * kCoordinateBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  const bool ok = BN_bn2binpad(r, out, kCoordinateBytes) == static_cast<int>(kCoordinateBytes) &&
                  BN_bn2binpad(s, out + kCoordinateBytes, kCoordinateBytes) == static_cast<int>(kCoordinateBytes);
  ECDSA_SIG_free(sig);
  if (!ok) return absl::InternalError("token signing: signature coordinates too large");
  return raw;
}

bool VerifyEs256(EVP_PKEY* key, std::string_view signing_input, std::string_view der) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace

std::string CertificateThumbprint(std::string_view cert_der) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(cert_der.data(), cert_der.size(), digest, &len, EVP_sha256(), nullptr) != 1) return "";
  return Base64Url(std::string_view(reinterpret_cast<const char*>(digest), len));
}

absl::StatusOr<std::string> CertificateDerFromPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (cert == nullptr) return absl::InvalidArgumentError("certificate: not a PEM certificate");
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  X509_free(cert);
  if (len <= 0) return absl::InvalidArgumentError("certificate: cannot encode as DER");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<std::string> NewTokenId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return absl::InternalError("token id: the random generator failed");
  return Base64Url(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

absl::StatusOr<TokenVerifier> TokenVerifier::FromPublicKeyFile(const std::string& path, VerifierOptions options) {
  auto pem = ReadFile(path, "token public key");
  if (!pem.ok()) return pem.status();
  auto verifier = FromPublicKeyPem(*pem, std::move(options));
  if (!verifier.ok()) return absl::InvalidArgumentError(std::string(verifier.status().message()) + " ('" + path + "')");
  return verifier;
}

absl::StatusOr<TokenVerifier> TokenVerifier::FromPublicKeyPem(std::string_view pem, VerifierOptions options) {
  if (options.issuer.empty()) return absl::InvalidArgumentError("token issuer: required");
  if (options.audience.empty()) return absl::InvalidArgumentError("token audience: required");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  auto key = Own(bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr);
  BIO_free(bio);
  if (!key) return absl::InvalidArgumentError("token public key: not a PEM public key");
  if (auto s = CheckP256(key.get(), "token public key"); !s.ok()) return s;
  return TokenVerifier(std::move(key), std::move(options));
}

absl::StatusOr<TokenClaims> TokenVerifier::Verify(std::string_view token, int64_t now_unix_s,
                                                  std::string_view client_cert_der) const {
  if (token.size() > options_.max_token_bytes) {
    return Refuse("oversized: " + std::to_string(token.size()) + " bytes, at most " +
                  std::to_string(options_.max_token_bytes));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(absl::string_view(token.data(), token.size()), '.');
  if (parts.size() != 3) return Refuse("malformed: not three dot-separated parts");
  auto header = DecodeObject(std::string_view(parts[0].data(), parts[0].size()), "header");
  if (!header.ok()) return header.status();
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return Refuse("malformed: the header has no 'alg'");
  if (*alg != "ES256") return Refuse("algorithm '" + alg->get<std::string>() + "' is not accepted (only ES256)");
  if (header->contains("crit")) return Refuse("the header's 'crit' names extensions this verifier does not support");
  std::string raw_signature;
  if (!FromBase64Url(std::string_view(parts[2].data(), parts[2].size()), &raw_signature))
    return Refuse("malformed: the signature is not base64url");
  if (raw_signature.size() != 2 * kCoordinateBytes) return Refuse("bad signature: not 64 bytes (ES256 r||s)");
  auto der = RawToDer(raw_signature);
  if (!der.ok()) return der.status();
  const std::string_view signing_input = token.substr(0, parts[0].size() + 1 + parts[1].size());
  if (!VerifyEs256(key_.get(), signing_input, *der)) return Refuse("bad signature");

  auto payload = DecodeObject(std::string_view(parts[1].data(), parts[1].size()), "payload");
  if (!payload.ok()) return payload.status();
  TokenClaims claims;
  auto iss = StringClaim(*payload, "iss");
  if (!iss.ok()) return iss.status();
  if (*iss != options_.issuer) return Refuse("wrong issuer '" + *iss + "'");
  claims.issuer = *iss;
  auto aud = payload->find("aud");
  if (aud != payload->end() && aud->is_string()) {
    claims.audiences.push_back(aud->get<std::string>());
  } else if (aud != payload->end() && aud->is_array()) {
    for (const auto& a : *aud) {
      if (!a.is_string()) return Refuse("malformed: 'aud' must hold strings");
      claims.audiences.push_back(a.get<std::string>());
    }
  } else {
    return Refuse("malformed: 'aud' must be a string or an array of strings");
  }
  if (std::find(claims.audiences.begin(), claims.audiences.end(), options_.audience) == claims.audiences.end()) {
    return Refuse("wrong audience (expected '" + options_.audience + "')");
  }
  auto exp = NumericDate(*payload, "exp", true);
  if (!exp.ok()) return exp.status();
  auto nbf = NumericDate(*payload, "nbf", false);
  if (!nbf.ok()) return nbf.status();
  auto iat = NumericDate(*payload, "iat", true);
  if (!iat.ok()) return iat.status();
  if (now_unix_s >= *exp + options_.clock_skew_s) return Refuse("expired");
  if (*nbf > now_unix_s + options_.clock_skew_s) return Refuse("not yet valid (nbf)");
  if (*iat > now_unix_s + options_.clock_skew_s) return Refuse("not yet valid (issued in the future)");
  claims.expires_at_unix_s = *exp;
  claims.not_before_unix_s = *nbf;
  claims.issued_at_unix_s = *iat;
  for (auto [field, name] :
       {std::pair{&claims.subject, "sub"}, std::pair{&claims.role, "role"}, std::pair{&claims.token_id, "jti"}}) {
    auto v = StringClaim(*payload, name);
    if (!v.ok()) return v.status();
    *field = *v;
  }
  if (claims.token_id.size() > 128) return Refuse("malformed: 'jti' longer than 128 characters");
  auto scope = payload->find("scope");
  if (scope == payload->end() || !scope->is_string()) return Refuse("malformed: 'scope' must be a string");
  claims.scopes = absl::StrSplit(scope->get<std::string>(), ' ', absl::SkipEmpty());

  if (auto cnf = payload->find("cnf"); cnf != payload->end()) {
    auto x5t = cnf->is_object() ? cnf->find("x5t#S256") : cnf->end();
    if (!cnf->is_object() || x5t == cnf->end() || !x5t->is_string()) {
      return Refuse("malformed: 'cnf' must hold 'x5t#S256' (RFC 8705)");
    }
    claims.cert_thumbprint = x5t->get<std::string>();
    if (client_cert_der.empty()) return Refuse("bound to a certificate (cnf) but the connection presented none");
    if (CertificateThumbprint(client_cert_der) != claims.cert_thumbprint) {
      return Refuse("bound to another certificate (cnf x5t#S256 does not match the client certificate)");
    }
  }
  return claims;
}

absl::StatusOr<TokenSigner> TokenSigner::FromPrivateKeyFile(const std::string& path) {
  auto pem = ReadFile(path, "token signing key");
  if (!pem.ok()) return pem.status();
  auto signer = FromPrivateKeyPem(*pem);
  if (!signer.ok()) return absl::InvalidArgumentError(std::string(signer.status().message()) + " ('" + path + "')");
  return signer;
}

absl::StatusOr<TokenSigner> TokenSigner::FromPrivateKeyPem(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  auto key = Own(bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr);
  BIO_free(bio);
  if (!key) return absl::InvalidArgumentError("token signing key: not a PEM private key");
  if (auto s = CheckP256(key.get(), "token signing key"); !s.ok()) return s;
  return TokenSigner(std::move(key));
}

absl::StatusOr<std::string> TokenSigner::SignRaw(std::string_view header_json, std::string_view payload_json) const {
  const std::string signing_input = Base64Url(header_json) + "." + Base64Url(payload_json);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  std::string der;
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
            EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()) == 1;
  if (ok) {
    der.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len,
                        reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
    der.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return absl::InternalError("token signing: OpenSSL could not sign");
  auto raw = DerToRaw(der);
  if (!raw.ok()) return raw.status();
  return signing_input + "." + Base64Url(*raw);
}

absl::StatusOr<std::string> TokenSigner::Sign(const TokenClaims& claims) const {
  Json payload = {{"iss", claims.issuer},
                  {"sub", claims.subject},
                  {"role", claims.role},
                  {"jti", claims.token_id},
                  {"iat", claims.issued_at_unix_s},
                  {"exp", claims.expires_at_unix_s},
                  {"scope", absl::StrJoin(claims.scopes, " ")}};
  payload["aud"] = claims.audiences.size() == 1 ? Json(claims.audiences[0]) : Json(claims.audiences);
  if (claims.not_before_unix_s != 0) payload["nbf"] = claims.not_before_unix_s;
  if (!claims.cert_thumbprint.empty()) payload["cnf"] = {{"x5t#S256", claims.cert_thumbprint}};
  return SignRaw(R"({"alg":"ES256","typ":"JWT"})", payload.dump());
}

}  // namespace healthtwin::common::auth
