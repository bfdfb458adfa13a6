// Real gRPC servers with mutual TLS on 127.0.0.1:0 whose CRL comes from the real
// deploy/pki/revoke.sh: who gets through the handshake once a certificate is revoked, and what
// start-up and Reload() do with bad, foreign and expired CRLs.

#include <grpc/grpc_security.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/common/tls/revocation.h"
#include "services/common/tls/revocation_test_support.h"
#include "services/common/tls/server_certificates.h"
#include "services/common/tls/tls.h"

namespace healthtwin::common {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;
using testing::RevocationPki;

std::string ReadBack(const std::string& path) {
  std::stringstream contents;
  contents << std::ifstream(path).rdbuf();
  return contents.str();
}

class RevocationIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { RevocationPki::MakeOnce(); }
  static void TearDownTestSuite() { RevocationPki::RemoveAll(); }

  RevocationIntegrationTest() : pki_(::testing::UnitTest::GetInstance()->current_test_info()->name()) {}

  // Serves gRPC's default health service as "twin" with `certs`' credentials.
  void Serve(ServerCertificates& certs) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", certs.credentials(), &port_);
    builder.RegisterCallbackGenericService(&unimplemented_);  // gRPC 1.51 needs one polled queue.
    server_ = builder.BuildAndStart();
    ASSERT_TRUE(server_ != nullptr && port_ > 0);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  // A health check from `client` on a connection of its own (no reuse of an earlier handshake).
  // `session_cache` (optional) lets the client resume a TLS session of an earlier call;
  // `reused` (optional) says whether this call's connection did.
  grpc::Status CallAs(const std::string& client, grpc_ssl_session_cache* session_cache = nullptr,
                      bool* reused = nullptr) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = MakeChannelCredentials(pki_.Files(client));
    if (!credentials.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, std::string(credentials.status().message()));
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("twin");
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (session_cache != nullptr) {
      const grpc_arg arg = grpc_ssl_session_cache_create_channel_arg(session_cache);
      args.SetPointerWithVtable(arg.key, arg.value.pointer.p, arg.value.pointer.vtable);
    }
    auto stub = Health::NewStub(grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_), *credentials, args));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, HealthCheckRequest(), &response);
    if (reused != nullptr && context.auth_context() != nullptr) {
      const auto values = context.auth_context()->FindPropertyValues(GRPC_SSL_SESSION_REUSED_PROPERTY);
      *reused = !values.empty() && values.front() == "true";
    }
    return status;
  }

  // Starts the server with the CRL as it is now, and records every refusal reason.
  std::unique_ptr<ServerCertificates> StartServer() {
    absl::StatusOr<std::unique_ptr<ServerCertificates>> certs = ServerCertificates::Create(pki_.Files("twin"));
    EXPECT_TRUE(certs.ok()) << certs.status();
    if (!certs.ok()) return nullptr;
    EXPECT_NE((*certs)->revocation(), nullptr);
    (*certs)->revocation()->OnRefused([this](const absl::Status& reason) {
      std::lock_guard<std::mutex> lock(mu_);
      refusals_.emplace_back(reason.message());
    });
    Serve(**certs);
    return *std::move(certs);
  }

  // What ServerCertificates::Create says with `crl_path` as the CRL (OK when it starts).
  absl::Status StartWithCrl(const std::string& crl_path) {
    TlsFiles files = pki_.Files("twin");
    files.crl_path = crl_path;
    return ServerCertificates::Create(files).status();
  }

  std::vector<std::string> refusals() {
    std::lock_guard<std::mutex> lock(mu_);
    return refusals_;
  }

  RevocationPki pki_;
  int port_ = 0;

 private:
  grpc::CallbackGenericService unimplemented_;
  std::unique_ptr<grpc::Server> server_;
  std::mutex mu_;
  std::vector<std::string> refusals_;
};

TEST_F(RevocationIntegrationTest, RevokedClientIsRefusedAtTheHandshakeAndOthersStillWork) {
  pki_.Revoke("dr-bob");
  std::unique_ptr<ServerCertificates> certs = StartServer();
  ASSERT_NE(certs, nullptr);
  EXPECT_EQ(certs->revocation()->current()->revoked_count(), 1u);

  EXPECT_TRUE(CallAs("dr-alice").ok());
  const grpc::Status refused = CallAs("dr-bob");
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE) << refused.error_message();
  const std::string bob_serial = DescribeCertificate(ReadBack(pki_.Files("dr-bob").cert_path))->serial_hex;
  ASSERT_FALSE(refusals().empty());
  EXPECT_NE(refusals().front().find("CN=dr-bob"), std::string::npos) << refusals().front();
  EXPECT_NE(refusals().front().find(bob_serial), std::string::npos) << refusals().front();
}

TEST_F(RevocationIntegrationTest, RevokingWhileRunningTakesEffectAtReload) {
  std::unique_ptr<ServerCertificates> certs = StartServer();
  ASSERT_NE(certs, nullptr);
  ASSERT_TRUE(CallAs("dr-bob").ok());

  pki_.Revoke("dr-bob");
  EXPECT_TRUE(CallAs("dr-bob").ok()) << "the CRL applies when the operator says so (SIGHUP), not before";

  ASSERT_TRUE(certs->Reload().ok());
  EXPECT_EQ(CallAs("dr-bob").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(CallAs("dr-alice").ok());
  EXPECT_TRUE(CallAs("nurse-nora").ok());
}

// OpenSSL does not verify the certificate again when a session is resumed; gRPC's verifier
// (check_peer) runs after every handshake, so a revoked client cannot resume its way back in.
TEST_F(RevocationIntegrationTest, RevokedClientCannotResumeASessionFromBeforeTheRevocation) {
  std::unique_ptr<ServerCertificates> certs = StartServer();
  ASSERT_NE(certs, nullptr);
  std::unique_ptr<grpc_ssl_session_cache, decltype(&grpc_ssl_session_cache_destroy)> cache(
      grpc_ssl_session_cache_create_lru(8), &grpc_ssl_session_cache_destroy);
  bool reused = false;
  ASSERT_TRUE(CallAs("dr-bob", cache.get(), &reused).ok());
  ASSERT_TRUE(CallAs("dr-bob", cache.get(), &reused).ok());
  ASSERT_TRUE(reused) << "the client must resume its session for this test to mean anything";

  pki_.Revoke("dr-bob");
  ASSERT_TRUE(certs->Reload().ok());
  EXPECT_EQ(CallAs("dr-bob", cache.get()).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(RevocationIntegrationTest, UnparsableCrlAtReloadKeepsTheOldOne) {
  pki_.Revoke("dr-bob");
  std::unique_ptr<ServerCertificates> certs = StartServer();
  ASSERT_NE(certs, nullptr);
  std::ofstream(pki_.Crl(), std::ios::trunc) << "-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n";

  const absl::Status reloaded = certs->Reload();
  EXPECT_EQ(reloaded.code(), absl::StatusCode::kInvalidArgument) << reloaded;
  EXPECT_NE(reloaded.message().find(pki_.Crl()), std::string::npos) << reloaded;
  EXPECT_EQ(CallAs("dr-bob").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(CallAs("dr-alice").ok());
}

TEST_F(RevocationIntegrationTest, ExpiredCrlAtReloadKeepsTheOldOne) {
  pki_.Revoke("dr-bob");
  std::unique_ptr<ServerCertificates> certs = StartServer();
  ASSERT_NE(certs, nullptr);
  pki_.Revoke("dr-alice");
  pki_.IssueExpiredCrl();  // Lists both, but is past its nextUpdate.

  const absl::Status reloaded = certs->Reload();
  EXPECT_EQ(reloaded.code(), absl::StatusCode::kFailedPrecondition) << reloaded;
  EXPECT_NE(reloaded.message().find("expired"), std::string::npos) << reloaded;
  EXPECT_EQ(CallAs("dr-bob").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(CallAs("dr-alice").ok()) << "the expired CRL must not have replaced the current one";
}

// A CRL that expires while the process runs stays enforced; Stale() is what the host warns on.
TEST_F(RevocationIntegrationTest, CrlInUseTurnsStaleAtItsNextUpdate) {
  pki_.Revoke("dr-bob");
  absl::StatusOr<std::shared_ptr<RevocationChecker>> checker = RevocationChecker::Create(pki_.Files("twin"));
  ASSERT_TRUE(checker.ok()) << checker.status();
  const int64_t next_update = (*checker)->current()->next_update_unix_s();
  // revoke.sh issues CRLs for 30 days.
  EXPECT_NEAR(next_update - (*checker)->current()->last_update_unix_s(), 30 * 86'400, 5);
  EXPECT_FALSE((*checker)->Stale(next_update - 1));
  EXPECT_TRUE((*checker)->Stale(next_update));
}

TEST_F(RevocationIntegrationTest, CrlOfAnotherCaIsRefusedAtStartUp) {
  const absl::Status started = StartWithCrl(pki_.ForeignCrl());
  EXPECT_EQ(started.code(), absl::StatusCode::kInvalidArgument) << started;
  EXPECT_NE(started.message().find(pki_.ForeignCrl()), std::string::npos) << started;
  EXPECT_NE(started.message().find("not a CA of the CA bundle"), std::string::npos) << started;
}

TEST_F(RevocationIntegrationTest, CrlWithOurCaNameButAnotherKeyIsRefusedAtStartUp) {
  const std::string impostor = pki_.ImpostorCrl();
  const absl::Status started = StartWithCrl(impostor);
  EXPECT_EQ(started.code(), absl::StatusCode::kInvalidArgument) << started;
  EXPECT_NE(started.message().find(impostor), std::string::npos) << started;
  EXPECT_NE(started.message().find("signature does not verify"), std::string::npos) << started;
}

TEST_F(RevocationIntegrationTest, ExpiredCrlIsRefusedAtStartUp) {
  pki_.IssueExpiredCrl();
  const absl::Status started = StartWithCrl(pki_.Crl());
  EXPECT_EQ(started.code(), absl::StatusCode::kFailedPrecondition) << started;
  EXPECT_NE(started.message().find("nextUpdate 2020-01-02T00:00:00Z"), std::string::npos) << started;
}

TEST_F(RevocationIntegrationTest, MissingCrlFileIsRefusedAtStartUpNamingIt) {
  const absl::Status started = StartWithCrl(pki_.Crl() + ".missing");
  EXPECT_EQ(started.code(), absl::StatusCode::kNotFound) << started;
  EXPECT_NE(started.message().find(pki_.Crl() + ".missing"), std::string::npos) << started;
}

TEST_F(RevocationIntegrationTest, WithoutACrlNothingIsCheckedForRevocation) {
  pki_.Revoke("dr-bob");
  TlsFiles files = pki_.Files("twin");
  files.crl_path.clear();
  absl::StatusOr<std::unique_ptr<ServerCertificates>> certs = ServerCertificates::Create(files);
  ASSERT_TRUE(certs.ok()) << certs.status();
  EXPECT_EQ((*certs)->revocation(), nullptr);
  Serve(**certs);
  EXPECT_TRUE(CallAs("dr-bob").ok());
}

}  // namespace
}  // namespace healthtwin::common
