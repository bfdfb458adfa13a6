// Bearer tokens on clinician_api's gRPC calls (issue 13, item 3), through the real service over
// mutual TLS (test_env.h): the token issuer's keys come from the real make-dev-pki.sh, tokens
// are issued by TokenSigner and by the real `healthtwin admin issue-token`, and every decision is
// checked against its audit row in the real PostgreSQL (agent_token_id carries the jti).
//
// dr-alice (clinician) is on pat-a's care team; nurse-nora (nurse) too.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "clinician_api/token_gate.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "services/common/auth/bearer_token.h"
#include "services/common/auth/test_keys.h"
#include "services/common/time_util.h"
#include "tests/harness/test_paths.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/test_env.h"

namespace healthtwin::testing {
namespace {

namespace clinician_v1 = healthtwin::clinician::v1;
namespace vitals_v1 = healthtwin::vitals::v1;
using common::auth::TokenClaims;
using common::auth::TokenSigner;
using common::auth::TokenVerifier;

using common::auth::testing::kAudience;
using common::auth::testing::kIssuer;

int64_t NowS() { return common::NowUnixMicros() / 1'000'000; }

std::string PkiFile(const std::string& name) {
  return (std::filesystem::path(SliceEnvironment::Tls("dr-alice").ca_cert_path).parent_path() / name).string();
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class TokenIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { StartSlice(false); }

  void StartSlice(bool require_token) {
    ASSERT_NE(SliceEnvironment::cluster(), nullptr) << "the shared PostgreSQL cluster did not start";
    slice_.reset();
    auto verifier = TokenVerifier::FromPublicKeyFile(PkiFile("token-issuer.pub"), {kIssuer, kAudience});
    ASSERT_TRUE(verifier.ok()) << verifier.status() << " (does make-dev-pki.sh make the token issuer's keys?)";
    auto gate = clinician::TokenGate::Create(*verifier, require_token, NowS);
    ASSERT_TRUE(gate.ok()) << gate.status();
    auto slice = Slice::Start(TestDatabaseName("tokens"), *gate);
    ASSERT_TRUE(slice.ok()) << slice.status();
    slice_ = std::move(*slice);
    auto signer = TokenSigner::FromPrivateKeyFile(PkiFile("token-issuer.key"));
    ASSERT_TRUE(signer.ok()) << signer.status();
    signer_.emplace(*signer);
    (void)QueryInt(db(), "INSERT INTO patients (patient_id) VALUES ('pat-a')");
    (void)QueryInt(db(),
                   "INSERT INTO care_team (patient_id, member) VALUES ('pat-a', 'dr-alice'), ('pat-a', 'nurse-nora')");
  }

  const std::string& db() const { return slice_->conninfo(); }

  std::string Token(const std::string& jti, std::vector<std::string> scopes, int64_t exp_offset_s = 900,
                    const std::string& subject = "dr-alice", const std::string& bind_cert_pem_path = "") {
    const int64_t now = NowS();
    TokenClaims c{.issuer = kIssuer,
                  .audiences = {kAudience},
                  .subject = subject,
                  .role = subject == "nurse-nora" ? "nurse" : "clinician",
                  .token_id = jti,
                  .issued_at_unix_s = exp_offset_s < 0 ? now + 2 * exp_offset_s : now,
                  .expires_at_unix_s = now + exp_offset_s,
                  .scopes = std::move(scopes)};
    if (!bind_cert_pem_path.empty()) {
      auto der = common::auth::CertificateDerFromPem(ReadText(bind_cert_pem_path));
      EXPECT_TRUE(der.ok()) << der.status();
      c.cert_thumbprint = common::auth::CertificateThumbprint(*der);
    }
    auto token = signer_->Sign(c);
    EXPECT_TRUE(token.ok()) << token.status();
    return *token;
  }

  // GetVitals of pat-a as `identity`, with `token` as the bearer token ("": none).
  grpc::Status GetVitals(const std::string& identity, const std::string& token) {
    auto stub =
        clinician_v1::ClinicianService::NewStub(Slice::Channel(slice_->clinician_address(), identity, "clinician_api"));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    vitals_v1::QueryVitalsRequest req;
    req.set_patient_id("pat-a");
    *req.mutable_start() = common::FromUnixMicros(common::NowUnixMicros() - 3'600'000'000LL);
    *req.mutable_end() = common::FromUnixMicros(common::NowUnixMicros());
    vitals_v1::QueryVitalsResponse resp;
    return stub->GetVitals(&ctx, req, &resp);
  }

  int64_t AuditRows(const std::string& where) {
    return QueryInt(db(), "SELECT count(*) FROM audit_log WHERE " + where);
  }

  std::unique_ptr<Slice> slice_;
  std::optional<TokenSigner> signer_;
};

TEST_F(TokenIntegrationTest, TokenWithEnoughScopeIsAdmittedAndItsIdIsAudited) {
  const grpc::Status s = GetVitals("dr-alice", Token("jti-enough", {"user/Observation.rs"}));
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(AuditRows("actor = 'dr-alice' AND action = 'vitals.read' AND patient_id = 'pat-a' AND outcome = "
                      "'allowed' AND agent_token_id = 'jti-enough'"),
            1);
}

TEST_F(TokenIntegrationTest, WildcardScopeIsAdmitted) {
  const grpc::Status s = GetVitals("dr-alice", Token("jti-wild", {"user/*.rs"}));
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(TokenIntegrationTest, TooFewScopesArePermissionDeniedAndAuditedWithTheTokenId) {
  const grpc::Status s = GetVitals("dr-alice", Token("jti-few", {"user/Communication.rs"}));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_NE(s.error_message().find("user/Observation.rs"), std::string::npos) << s.error_message();
  EXPECT_EQ(AuditRows("actor = 'dr-alice' AND action = 'auth.token' AND outcome = 'denied' AND agent_token_id = "
                      "'jti-few' AND detail LIKE 'GetVitals:%'"),
            1);
  EXPECT_EQ(AuditRows("action = 'vitals.read'"), 0) << "refused before any patient data was touched";
}

// Every RPC goes through the gate, not only the ones GetVitals shares code with: the twin reads
// and the alert stream once took the certificate alone and ignored the token's scopes.
TEST_F(TokenIntegrationTest, TooFewScopesAreRefusedOnTheTwinReadsAndTheAlertStream) {
  const std::string token = Token("jti-alerts-only", {"user/Communication.rs"});
  auto stub =
      clinician_v1::ClinicianService::NewStub(Slice::Channel(slice_->clinician_address(), "dr-alice", "clinician_api"));
  const auto with_token = [&](grpc::ClientContext& ctx) {
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    ctx.AddMetadata("authorization", "Bearer " + token);
  };
  {
    grpc::ClientContext ctx;
    with_token(ctx);
    clinician_v1::GetTwinRequest req;
    req.set_patient_id("pat-a");
    twin::v1::TwinSnapshot resp;
    const grpc::Status s = stub->GetTwin(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << "GetTwin: " << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    with_token(ctx);
    twin::v1::PredictRequest req;
    req.set_patient_id("pat-a");
    twin::v1::PredictResponse resp;
    const grpc::Status s = stub->Predict(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << "Predict: " << s.error_message();
  }
  {
    // The alert stream needs Communication.rs, which this token has; a token for vitals only has not.
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    ctx.AddMetadata("authorization", "Bearer " + Token("jti-vitals-only", {"user/Observation.rs"}));
    alerts::v1::SubscribeRequest req;
    auto reader = stub->SubscribeAlerts(&ctx, req);
    alerts::v1::AlertEvent event;
    while (reader->Read(&event)) {
    }
    const grpc::Status s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << "SubscribeAlerts: " << s.error_message();
  }
  EXPECT_EQ(AuditRows("actor = 'dr-alice' AND action = 'auth.token' AND outcome = 'denied' AND (detail LIKE "
                      "'GetTwin:%' OR detail LIKE 'Predict:%' OR detail LIKE 'SubscribeAlerts:%')"),
            3);
  EXPECT_EQ(AuditRows("action LIKE 'twin.%' OR action = 'alerts.subscribe'"), 0)
      << "refused before any patient data was touched";
}

TEST_F(TokenIntegrationTest, ExpiredTokenIsUnauthenticatedAndAudited) {
  const grpc::Status s = GetVitals("dr-alice", Token("jti-expired", {"user/Observation.rs"}, -3600));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_NE(s.error_message().find("expired"), std::string::npos) << s.error_message();
  EXPECT_EQ(AuditRows("actor = 'dr-alice' AND action = 'auth.token' AND outcome = 'denied' AND detail LIKE "
                      "'%expired%'"),
            1);
}

TEST_F(TokenIntegrationTest, ForgedTokenIsUnauthenticated) {
  std::string token = Token("jti-forged", {"user/Observation.rs"});
  token[token.rfind('.') + 5] = token[token.rfind('.') + 5] == 'A' ? 'B' : 'A';
  const grpc::Status s = GetVitals("dr-alice", token);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
}

TEST_F(TokenIntegrationTest, AnotherPersonsTokenIsUnauthenticated) {
  const grpc::Status s = GetVitals("nurse-nora", Token("jti-alice", {"user/Observation.rs"}));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_EQ(AuditRows("actor = 'nurse-nora' AND action = 'auth.token' AND outcome = 'denied'"), 1);
}

TEST_F(TokenIntegrationTest, CertificateBoundTokenWorksOnlyWithThatCertificate) {
  EXPECT_TRUE(
      GetVitals("dr-alice", Token("jti-bound", {"user/Observation.rs"}, 900, "dr-alice", PkiFile("dr-alice.pem")))
          .ok());
  const grpc::Status s =
      GetVitals("dr-alice", Token("jti-bound-other", {"user/Observation.rs"}, 900, "dr-alice", PkiFile("dr-bob.pem")));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_NE(s.error_message().find("another certificate"), std::string::npos) << s.error_message();
}

TEST_F(TokenIntegrationTest, CertificateAloneStillWorksWhenTokensAreOptional) {
  EXPECT_TRUE(GetVitals("dr-alice", "").ok());
  EXPECT_EQ(AuditRows("actor = 'dr-alice' AND action = 'vitals.read' AND outcome = 'allowed' AND agent_token_id = "
                      "''"),
            1);
}

TEST_F(TokenIntegrationTest, CertificateAloneIsUnauthenticatedWhenTokensAreRequired) {
  StartSlice(true);
  const grpc::Status s = GetVitals("dr-alice", "");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_TRUE(GetVitals("dr-alice", Token("jti-required", {"user/Observation.rs"})).ok());
}

TEST_F(TokenIntegrationTest, CliIssuedTokenRoundTrips) {
  const std::vector<std::string> base = {"admin",     "issue-token", "--issuer-key", PkiFile("token-issuer.key"),
                                         "--issuer",  kIssuer,       "--audience",   kAudience,
                                         "--subject", "dr-alice",    "--role",       "clinician"};
  auto with = [&](std::vector<std::string> extra) {
    auto args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return RunHealthtwin(HT_HEALTHTWIN_BIN, "dr-alice", args);
  };
  CliResult issued = with(
      {"--scopes", "user/Observation.rs user/Communication.rs", "--ttl", "5m", "--bind-cert", PkiFile("dr-alice.pem")});
  ASSERT_EQ(issued.code, 0) << issued.err;
  const std::string token(absl::StripAsciiWhitespace(issued.out));
  EXPECT_TRUE(GetVitals("dr-alice", token).ok());
  EXPECT_EQ(AuditRows("actor = 'dr-alice' AND action = 'vitals.read' AND outcome = 'allowed' AND agent_token_id <> "
                      "''"),
            1);

  // The CLI presents a token to clinician_api with --token.
  CliResult who =
      RunHealthtwin(HT_HEALTHTWIN_BIN, "dr-alice", {"--api", slice_->clinician_address(), "--token", token, "whoami"});
  EXPECT_EQ(who.code, 0) << who.err;
  EXPECT_NE(who.out.find("dr-alice"), std::string::npos) << who.out;
  CliResult garbage = RunHealthtwin(HT_HEALTHTWIN_BIN, "dr-alice",
                                    {"--api", slice_->clinician_address(), "--token", "not-a-jwt", "whoami"});
  EXPECT_NE(garbage.code, 0);
  EXPECT_NE(garbage.err.find("bearer token: malformed"), std::string::npos) << garbage.err;

  // The token id is hashed into the audit chain (0016): the chain still verifies.
  CliResult verified = RunHealthtwin(HT_HEALTHTWIN_BIN, "dr-alice", {"audit", "verify", "--db", db()});
  EXPECT_EQ(verified.code, 0) << verified.out << verified.err;

  CliResult narrow = with({"--scopes", "user/Communication.rs"});
  ASSERT_EQ(narrow.code, 0) << narrow.err;
  EXPECT_EQ(GetVitals("dr-alice", std::string(absl::StripAsciiWhitespace(narrow.out))).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  CliResult bad_scope = with({"--scopes", "user/Observation.sr"});
  EXPECT_EQ(bad_scope.code, 2);
  EXPECT_NE(bad_scope.err.find("--scopes"), std::string::npos) << bad_scope.err;
  CliResult bad_ttl = with({"--scopes", "user/Observation.rs", "--ttl", "2d"});
  EXPECT_EQ(bad_ttl.code, 2);
  EXPECT_NE(bad_ttl.err.find("--ttl"), std::string::npos) << bad_ttl.err;
}

}  // namespace
}  // namespace healthtwin::testing
