#include "services/common/auth/bearer_token.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "services/common/auth/test_keys.h"

namespace healthtwin::common::auth {
namespace {

using Json = nlohmann::json;

constexpr int64_t kNow = 1'800'000'000;
using testing::kAudience;
using testing::kIssuer;

class BearerTokenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto issuer = testing::NewIssuer({kIssuer, kAudience});
    signer_.emplace(std::move(issuer.signer));
    verifier_.emplace(std::move(issuer.verifier));
  }

  static TokenClaims Claims() {
    TokenClaims c;
    c.issuer = kIssuer;
    c.audiences = {kAudience};
    c.subject = "dr-alice";
    c.role = "clinician";
    c.token_id = "jti-1";
    c.issued_at_unix_s = kNow - 10;
    c.expires_at_unix_s = kNow + 900;
    c.scopes = {"user/Observation.rs", "user/Communication.cu"};
    return c;
  }
  static Json Payload() {
    return {{"iss", kIssuer}, {"aud", kAudience}, {"sub", "dr-alice"}, {"role", "clinician"},
            {"jti", "jti-1"}, {"iat", kNow - 10}, {"exp", kNow + 900}, {"scope", "user/Observation.rs"}};
  }

  std::string Sign(const TokenClaims& c) {
    auto t = signer_->Sign(c);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : "";
  }
  std::string SignRaw(const Json& header, const Json& payload) {
    auto t = signer_->SignRaw(header.dump(), payload.dump());
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? *t : "";
  }
  // UNAUTHENTICATED whose message contains `reason`.
  void ExpectRefused(const std::string& token, std::string_view reason, std::string_view cert_der = "") {
    auto claims = verifier_->Verify(token, kNow, cert_der);
    ASSERT_FALSE(claims.ok()) << "accepted: " << token;
    EXPECT_EQ(claims.status().code(), absl::StatusCode::kUnauthenticated) << claims.status();
    EXPECT_NE(std::string(claims.status().message()).find(reason), std::string::npos) << claims.status();
  }

  std::optional<TokenSigner> signer_;
  std::optional<TokenVerifier> verifier_;
};

TEST_F(BearerTokenTest, AcceptsAValidTokenAndReturnsItsClaims) {
  auto claims = verifier_->Verify(Sign(Claims()), kNow, "");
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->subject, "dr-alice");
  EXPECT_EQ(claims->role, "clinician");
  EXPECT_EQ(claims->token_id, "jti-1");
  EXPECT_EQ(claims->expires_at_unix_s, kNow + 900);
  EXPECT_EQ(claims->scopes, (std::vector<std::string>{"user/Observation.rs", "user/Communication.cu"}));
  EXPECT_TRUE(claims->cert_thumbprint.empty());
}

TEST_F(BearerTokenTest, AcceptsAnAudienceArrayThatContainsOurs) {
  auto payload = Payload();
  payload["aud"] = {"someone-else", kAudience};
  EXPECT_TRUE(verifier_->Verify(SignRaw({{"alg", "ES256"}}, payload), kNow, "").ok());
}

TEST_F(BearerTokenTest, RefusesExpired) {
  auto c = Claims();
  c.expires_at_unix_s = kNow - 61;
  ExpectRefused(Sign(c), "expired");
}

TEST_F(BearerTokenTest, AllowsSixtySecondsOfClockSkewOnExpiry) {
  auto c = Claims();
  c.expires_at_unix_s = kNow - 59;
  EXPECT_TRUE(verifier_->Verify(Sign(c), kNow, "").ok());
}

TEST_F(BearerTokenTest, RefusesNotYetValid) {
  auto c = Claims();
  c.not_before_unix_s = kNow + 61;
  ExpectRefused(Sign(c), "not yet valid");
}

TEST_F(BearerTokenTest, AllowsSixtySecondsOfClockSkewOnNotBefore) {
  auto c = Claims();
  c.not_before_unix_s = kNow + 59;
  EXPECT_TRUE(verifier_->Verify(Sign(c), kNow, "").ok());
}

TEST_F(BearerTokenTest, RefusesIssuedInTheFuture) {
  auto c = Claims();
  c.issued_at_unix_s = kNow + 3600;
  c.expires_at_unix_s = kNow + 7200;
  ExpectRefused(Sign(c), "issued in the future");
}

TEST_F(BearerTokenTest, RefusesWrongAudience) {
  auto c = Claims();
  c.audiences = {"healthtwin-ingest"};
  ExpectRefused(Sign(c), "wrong audience");
}

TEST_F(BearerTokenTest, RefusesWrongIssuer) {
  auto c = Claims();
  c.issuer = "https://evil.example";
  ExpectRefused(Sign(c), "wrong issuer");
}

TEST_F(BearerTokenTest, RefusesATokenSignedByAnotherKey) {
  auto other = TokenSigner::FromPrivateKeyPem(testing::NewP256KeyPair().private_pem);
  ASSERT_TRUE(other.ok());
  auto token = other->Sign(Claims());
  ASSERT_TRUE(token.ok());
  ExpectRefused(*token, "bad signature");
}

TEST_F(BearerTokenTest, RefusesATamperedPayload) {
  const std::string token = Sign(Claims());
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  auto payload = Payload();
  payload["role"] = "admin";
  const std::string forged =
      token.substr(0, first + 1) + absl::WebSafeBase64Escape(payload.dump()) + token.substr(second);
  ExpectRefused(forged, "bad signature");
}

TEST_F(BearerTokenTest, RefusesAlgNone) {
  const std::string unsigned_token = absl::WebSafeBase64Escape(R"({"alg":"none","typ":"JWT"})") + "." +
                                     absl::WebSafeBase64Escape(Payload().dump()) + ".";
  ExpectRefused(unsigned_token, "algorithm 'none' is not accepted");
}

TEST_F(BearerTokenTest, RefusesEveryAlgorithmButES256EvenWhenSignedWithTheRightKey) {
  for (const char* alg : {"HS256", "RS256", "ES384", "EdDSA", "es256"}) {
    ExpectRefused(SignRaw({{"alg", alg}}, Payload()), "is not accepted");
  }
}

TEST_F(BearerTokenTest, RefusesCriticalHeaderExtensions) {
  ExpectRefused(SignRaw({{"alg", "ES256"}, {"crit", {"exp"}}}, Payload()), "crit");
}

TEST_F(BearerTokenTest, RefusesMalformedTokens) {
  const std::string good = Sign(Claims());
  ExpectRefused("", "malformed");
  ExpectRefused("abc", "malformed");
  ExpectRefused("a.b", "malformed");
  ExpectRefused(good + ".extra", "malformed");
  ExpectRefused("!!!." + good.substr(good.find('.') + 1), "malformed");
  ExpectRefused(absl::WebSafeBase64Escape("[1,2]") + ".e30.AAAA", "malformed");
  ExpectRefused(absl::WebSafeBase64Escape("not json") + ".e30.AAAA", "malformed");
  // Padding is not base64url as JWS uses it (RFC 7515 section 2).
  ExpectRefused(good + "==", "malformed");
}

TEST_F(BearerTokenTest, RefusesASignatureOfTheWrongLength) {
  const std::string good = Sign(Claims());
  ExpectRefused(good.substr(0, good.rfind('.') + 1) + absl::WebSafeBase64Escape(std::string(63, 'x')), "not 64 bytes");
}

TEST_F(BearerTokenTest, RefusesMissingOrMistypedClaims) {
  for (const char* claim : {"iss", "aud", "exp", "iat", "jti", "sub", "role", "scope"}) {
    auto payload = Payload();
    payload.erase(claim);
    ExpectRefused(SignRaw({{"alg", "ES256"}}, payload), "malformed");
  }
  auto payload = Payload();
  payload["exp"] = "tomorrow";
  ExpectRefused(SignRaw({{"alg", "ES256"}}, payload), "'exp' is not a number");
  payload = Payload();
  payload["sub"] = 42;
  ExpectRefused(SignRaw({{"alg", "ES256"}}, payload), "'sub' must be a non-empty string");
}

TEST_F(BearerTokenTest, RefusesAnOversizedToken) {
  auto payload = Payload();
  payload["padding"] = std::string(9000, 'p');
  ExpectRefused(SignRaw({{"alg", "ES256"}}, payload), "oversized");
}

TEST_F(BearerTokenTest, AcceptsACertificateBoundTokenOnThatCertificate) {
  const std::string cert_der = "the DER bytes of dr-alice's certificate";
  auto c = Claims();
  c.cert_thumbprint = CertificateThumbprint(cert_der);
  auto claims = verifier_->Verify(Sign(c), kNow, cert_der);
  ASSERT_TRUE(claims.ok()) << claims.status();
  EXPECT_EQ(claims->cert_thumbprint, c.cert_thumbprint);
}

TEST_F(BearerTokenTest, RefusesACertificateBoundTokenOnAnotherCertificate) {
  auto c = Claims();
  c.cert_thumbprint = CertificateThumbprint("dr-alice's certificate");
  ExpectRefused(Sign(c), "bound to another certificate", "dr-bob's certificate");
}

TEST_F(BearerTokenTest, RefusesACertificateBoundTokenWithoutACertificate) {
  auto c = Claims();
  c.cert_thumbprint = CertificateThumbprint("dr-alice's certificate");
  ExpectRefused(Sign(c), "presented none", "");
}

TEST_F(BearerTokenTest, RefusesACnfWithoutX5tS256) {
  auto payload = Payload();
  payload["cnf"] = {{"jkt", "abc"}};
  ExpectRefused(SignRaw({{"alg", "ES256"}}, payload), "cnf", "cert");
}

TEST(CertificateThumbprintTest, IsBase64UrlSha256WithoutPadding) {
  // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad (FIPS 180-2 B.1).
  EXPECT_EQ(CertificateThumbprint("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
}

TEST(TokenVerifierCreateTest, RefusesAKeyThatIsNotP256) {
  EVP_PKEY* ed = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  ASSERT_NE(ed, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PUBKEY(bio, ed), 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  const std::string pem(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  EVP_PKEY_free(ed);
  auto v = TokenVerifier::FromPublicKeyPem(pem, {kIssuer, kAudience});
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("P-256"), std::string_view::npos) << v.status();
}

TEST(TokenVerifierCreateTest, RequiresIssuerAndAudience) {
  const auto keys = testing::NewP256KeyPair();
  EXPECT_NE(TokenVerifier::FromPublicKeyPem(keys.public_pem, {"", kAudience}).status().message().find("issuer"),
            std::string_view::npos);
  EXPECT_NE(TokenVerifier::FromPublicKeyPem(keys.public_pem, {kIssuer, ""}).status().message().find("audience"),
            std::string_view::npos);
}

TEST(TokenVerifierCreateTest, NamesAMissingKeyFile) {
  auto v = TokenVerifier::FromPublicKeyFile("/nonexistent/token-issuer.pub", {kIssuer, kAudience});
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("/nonexistent/token-issuer.pub"), std::string_view::npos);
}

TEST(NewTokenIdTest, IsRandom) {
  auto a = NewTokenId();
  auto b = NewTokenId();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 22u);  // 16 bytes, base64url without padding
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace healthtwin::common::auth
