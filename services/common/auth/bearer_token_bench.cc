// What a bearer token costs each gRPC call: ES256 verification (signature and claims) of a
// typical token, and the scope check of one RPC.
//   nice -n 19 build/dev/services/common/auth/healthtwin-token-bench
#include <benchmark/benchmark.h>

#include "services/common/auth/bearer_token.h"
#include "services/common/auth/scopes.h"
#include "services/common/auth/test_keys.h"

namespace healthtwin::common::auth {
namespace {

constexpr int64_t kNow = 1'800'000'000;

void BM_VerifyToken(benchmark::State& state) {
  auto issuer = testing::NewIssuer({testing::kIssuer, testing::kAudience});
  TokenClaims c;
  c.issuer = testing::kIssuer;
  c.audiences = {testing::kAudience};
  c.subject = "dr-alice";
  c.role = "clinician";
  c.token_id = "jti-bench";
  c.issued_at_unix_s = kNow;
  c.expires_at_unix_s = kNow + 900;
  c.scopes = {"user/Observation.rs", "user/Communication.rus", "user/Patient.rs"};
  c.cert_thumbprint = CertificateThumbprint("certificate");
  const std::string token = *issuer.signer.Sign(c);
  for (auto _ : state) {
    auto claims = issuer.verifier.Verify(token, kNow, "certificate");
    if (!claims.ok()) state.SkipWithError("refused");
    benchmark::DoNotOptimize(claims);
  }
}
BENCHMARK(BM_VerifyToken);

void BM_RequireScopes(benchmark::State& state) {
  const std::vector<std::string> granted = {"user/Observation.rs", "user/Communication.rus", "user/Patient.rs"};
  const std::vector<std::string> required = {"user/Communication.rus"};
  for (auto _ : state) benchmark::DoNotOptimize(RequireScopes(granted, required, "AcknowledgeAlert"));
}
BENCHMARK(BM_RequireScopes);

}  // namespace
}  // namespace healthtwin::common::auth

BENCHMARK_MAIN();
