#include "clinician_api/token_gate.h"

#include <gtest/gtest.h>

#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "services/common/auth/scopes.h"
#include "services/common/auth/test_keys.h"

namespace healthtwin::clinician {
namespace {

using common::auth::TokenClaims;
using common::auth::TokenSigner;
using common::auth::TokenVerifier;

constexpr int64_t kNow = 1'800'000'000;
using common::auth::testing::kAudience;
using common::auth::testing::kIssuer;

class TokenGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto issuer = common::auth::testing::NewIssuer({kIssuer, kAudience});
    signer_.emplace(std::move(issuer.signer));
    verifier_.emplace(std::move(issuer.verifier));
    alice_.identity = {"dr-alice", common::Role::kClinician, "clinician"};
  }

  TokenGate Gate(bool require_token) {
    auto gate = TokenGate::Create(verifier_, require_token, [] { return kNow; });
    EXPECT_TRUE(gate.ok()) << gate.status();
    return *gate;
  }
  std::string Bearer(std::vector<std::string> scopes, std::string subject = "dr-alice", std::string role = "clinician",
                     int64_t exp = kNow + 900) {
    TokenClaims c{.issuer = kIssuer,
                  .audiences = {kAudience},
                  .subject = std::move(subject),
                  .role = std::move(role),
                  .token_id = "jti-42",
                  .issued_at_unix_s = kNow - 5,
                  .expires_at_unix_s = exp,
                  .scopes = std::move(scopes)};
    auto token = signer_->Sign(c);
    EXPECT_TRUE(token.ok()) << token.status();
    return "Bearer " + *token;
  }

  std::optional<TokenSigner> signer_;
  std::optional<TokenVerifier> verifier_;
  common::Caller alice_;
};

TEST(TokenGateTableTest, NamesEveryClinicianServiceRpcWithWellFormedScopes) {
  // Through a message of the same file, so the generated descriptors are linked in.
  const auto* service = v1::WhoAmIRequest::descriptor()->file()->FindServiceByName("ClinicianService");
  ASSERT_NE(service, nullptr);
  const auto& table = TokenGate::RequiredScopes();
  for (int i = 0; i < service->method_count(); ++i) {
    const std::string name = service->method(i)->name();
    auto it = table.find(name);
    ASSERT_NE(it, table.end()) << name << " has no row in TokenGate::RequiredScopes()";
    for (const auto& scope : it->second) EXPECT_TRUE(common::auth::IsUserScope(scope)) << name << ": " << scope;
  }
  EXPECT_EQ(table.size(), static_cast<std::size_t>(service->method_count())) << "a row names no RPC";
}

TEST_F(TokenGateTest, AdmitsACallWithoutATokenWhenNoneIsRequired) {
  EXPECT_TRUE(Gate(false).Admit("GetVitals", std::nullopt, "", alice_).ok());
  EXPECT_TRUE(alice_.token_id.empty());
}

TEST_F(TokenGateTest, RefusesACallWithoutATokenWhenOneIsRequired) {
  auto s = Gate(true).Admit("GetVitals", std::nullopt, "", alice_);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
}

TEST_F(TokenGateTest, AdmitsATokenWithEnoughScopeAndRecordsItsId) {
  auto s = Gate(true).Admit("GetVitals", Bearer({"user/Observation.rs"}), "", alice_);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(alice_.token_id, "jti-42");
}

TEST_F(TokenGateTest, RefusesATokenWithTooFewScopesAsPermissionDenied) {
  auto s = Gate(false).Admit("AcknowledgeAlert", Bearer({"user/Communication.rs"}), "", alice_);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
  EXPECT_NE(std::string(s.message()).find("user/Communication.rus"), std::string::npos) << s;
  EXPECT_EQ(alice_.token_id, "jti-42");  // authentic: the refusal is audited with its id
}

TEST_F(TokenGateTest, WildcardReadScopeCoversReadsButNotWrites) {
  const auto gate = Gate(false);
  const auto token = Bearer({"user/*.rs"});
  for (const char* rpc : {"GetVitals", "GetTwin", "ListAlerts", "ListMyPatients", "SubscribeAlerts"}) {
    EXPECT_TRUE(gate.Admit(rpc, token, "", alice_).ok()) << rpc;
  }
  for (const char* rpc : {"AcknowledgeAlert", "ShelveAlert", "SetPatientAlertSettings"}) {
    EXPECT_EQ(gate.Admit(rpc, token, "", alice_).code(), absl::StatusCode::kPermissionDenied) << rpc;
  }
}

TEST_F(TokenGateTest, AnyValidTokenMayAskWhoAmI) {
  EXPECT_TRUE(Gate(true).Admit("WhoAmI", Bearer({}), "", alice_).ok());
}

TEST_F(TokenGateTest, RefusesAnExpiredToken) {
  auto s =
      Gate(false).Admit("GetVitals", Bearer({"user/Observation.rs"}, "dr-alice", "clinician", kNow - 120), "", alice_);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_NE(std::string(s.message()).find("expired"), std::string::npos) << s;
}

TEST_F(TokenGateTest, RefusesATokenIssuedToAnotherPerson) {
  auto s = Gate(false).Admit("GetVitals", Bearer({"user/Observation.rs"}, "dr-bob"), "", alice_);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_NE(std::string(s.message()).find("dr-bob"), std::string::npos) << s;
  EXPECT_TRUE(alice_.token_id.empty());
}

TEST_F(TokenGateTest, RefusesATokenWithAnotherRoleThanTheCertificate) {
  auto s = Gate(false).Admit("GetVitals", Bearer({"user/Observation.rs"}, "dr-alice", "admin"), "", alice_);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
}

TEST_F(TokenGateTest, ReadsTheBearerSchemeCaseInsensitively) {
  std::string token = Bearer({"user/Observation.rs"});
  token.replace(0, 6, "bEaReR");
  EXPECT_TRUE(Gate(false).Admit("GetVitals", token, "", alice_).ok());
}

TEST_F(TokenGateTest, RefusesAnotherAuthorizationScheme) {
  auto s = Gate(false).Admit("GetVitals", "Basic ZHItYWxpY2U6cGFzc3dvcmQ=", "", alice_);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_NE(std::string(s.message()).find("Bearer <token>"), std::string::npos) << s;
}

TEST_F(TokenGateTest, RefusesATokenWhenTheServerHasNoTokenKey) {
  auto s = TokenGate().Admit("GetVitals", Bearer({"user/Observation.rs"}), "", alice_);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s;
  EXPECT_NE(std::string(s.message()).find("not configured"), std::string::npos) << s;
}

TEST_F(TokenGateTest, RefusesAMethodWithoutAScopeRule) {
  auto s = Gate(false).Admit("DropAllTables", Bearer({"user/*.cruds"}), "", alice_);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied) << s;
}

TEST(TokenGateCreateTest, RequireTokenNeedsAVerifier) {
  auto gate = TokenGate::Create(std::nullopt, true, [] { return kNow; });
  EXPECT_EQ(gate.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace healthtwin::clinician
