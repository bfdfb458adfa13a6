// Revocation at both edges of one process, as healthtwin-clinician-api runs them: a ServiceHost
// (gRPC) and an HttpsListener (cpp-httplib) on port 0 sharing the CRL, real openssl CA commands
// (deploy/pki/revoke.sh) and a real SIGHUP to the test process.

#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "clinician_api/https_listener.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/common/service_host.h"
#include "services/common/tls/revocation.h"
#include "services/common/tls/revocation_test_support.h"

namespace healthtwin::clinician {
namespace {

using common::testing::RevocationPki;

// Before main(), so that no thread (gRPC's included) can take SIGHUP/SIGTERM with the default
// action: WaitForShutdownSignal() receives them synchronously.
const bool kSignalsBlocked = (common::BlockShutdownSignals(), true);

class HttpsRevocationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { RevocationPki::MakeOnce(); }
  static void TearDownTestSuite() { RevocationPki::RemoveAll(); }

  HttpsRevocationTest() : pki_(::testing::UnitTest::GetInstance()->current_test_info()->name()) {}

  void StartHttps() {
    auto listener = HttpsListener::Start(pki_.Files("clinician_api"), HttpsOptions{}, [](httplib::Server& s) {
      s.Get("/ping", [](const httplib::Request&, httplib::Response& res) { res.set_content("pong", "text/plain"); });
    });
    ASSERT_TRUE(listener.ok()) << listener.status();
    https_ = *std::move(listener);
  }

  // The HTTP status `client` gets for GET /ping, or -1 when the TLS handshake fails. The test
  // client does not check the server's name (httplib would compare it with 127.0.0.1): these
  // tests are about the server refusing clients.
  int HttpsStatusAs(const std::string& client) {
    const common::TlsFiles files = pki_.Files(client);
    httplib::SSLClient cli("127.0.0.1", https_->port(), files.cert_path, files.key_path);
    cli.enable_server_certificate_verification(false);
    cli.set_connection_timeout(5, 0);
    httplib::Result res = cli.Get("/ping");
    return res ? res->status : -1;
  }

  grpc::Status GrpcAs(const std::string& client) {
    auto channel =
        common::MakePeerChannel("127.0.0.1:" + std::to_string(host_->port()), pki_.Files(client), "clinician_api");
    if (!channel.ok()) return grpc::Status(grpc::StatusCode::INTERNAL, std::string(channel.status().message()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckResponse resp;
    return grpc::health::v1::Health::NewStub(*channel)->Check(&ctx, {}, &resp);
  }

  RevocationPki pki_;
  std::unique_ptr<HttpsListener> https_;
  std::unique_ptr<common::ServiceHost> host_;
};

TEST_F(HttpsRevocationTest, RevokedClientCertificateFailsTheHandshake) {
  ASSERT_TRUE(kSignalsBlocked);
  pki_.Revoke("dr-bob");
  StartHttps();
  ASSERT_NE(https_, nullptr);
  EXPECT_EQ(HttpsStatusAs("dr-alice"), 200);
  EXPECT_EQ(HttpsStatusAs("dr-bob"), -1);
  https_->Stop();
}

TEST_F(HttpsRevocationTest, ExpiredCrlIsRefusedAtStartNamingTheFile) {
  pki_.IssueExpiredCrl();
  auto listener = HttpsListener::Start(pki_.Files("clinician_api"), HttpsOptions{}, [](httplib::Server&) {});
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(listener.status().code(), absl::StatusCode::kFailedPrecondition) << listener.status();
  EXPECT_NE(listener.status().message().find(pki_.Crl()), std::string::npos) << listener.status();
}

// `openssl s_client` as `client`, resuming the session in `session_in` when it exists and saving
// the session to `session_out`: its output (the reply to GET /ping, and "Reused" or "New").
std::string SClient(const RevocationPki& pki, int port, const std::string& client, const std::string& flags,
                    const std::string& session_in, const std::string& session_out) {
  const common::TlsFiles files = pki.Files(client);
  std::string command =
      "printf 'GET /ping HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
      "timeout 10 openssl s_client -connect 127.0.0.1:" +
      std::to_string(port) + " -cert '" + files.cert_path + "' -key '" + files.key_path + "' -CAfile '" +
      files.ca_cert_path + "' -ign_eof " + flags + " -sess_out '" + session_out + "'";
  if (std::filesystem::exists(session_in)) command += " -sess_in '" + session_in + "'";
  command += " 2>&1";
  std::string output;
  if (FILE* pipe = ::popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
    ::pclose(pipe);
  }
  return output;
}

// The lines of s_client's output that tell what happened, for failure messages.
std::string Summary(const std::string& output) {
  std::string summary;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    const std::string line = output.substr(start, end - start);
    for (const char* key : {"Reused", "New,", "pong", "alert", "error"}) {
      if (line.find(key) != std::string::npos) {
        summary += line + "\n";
        break;
      }
    }
    start = end + 1;
  }
  return summary;
}

// A client that saved its session before it was revoked must not resume it afterwards: OpenSSL
// does not verify the certificate again on resumption (TLS 1.3 tickets, TLS 1.2 tickets and
// session ids alike).
TEST_F(HttpsRevocationTest, RevokedClientCannotResumeASessionFromBeforeTheRevocation) {
  StartHttps();
  ASSERT_NE(https_, nullptr);
  // TLS 1.3 tickets; TLS 1.2 tickets; TLS 1.2 session ids (the server's session cache).
  const std::vector<std::string> kinds = {"-tls1_3", "-tls1_2", "-tls1_2 -no_ticket"};
  auto file = [&](size_t kind, const char* what) { return pki_.Crl() + "." + std::to_string(kind) + what; };
  for (size_t k = 0; k < kinds.size(); ++k) {
    // A probe session shows that resumption works at all; the kept one (a session of its own,
    // never resumed: a TLS 1.2 session is not resumable twice here) is tried after revocation.
    for (const char* what : {".probe", ".kept"}) {
      const std::string full = SClient(pki_, https_->port(), "dr-bob", kinds[k], "", file(k, what));
      ASSERT_NE(full.find("pong"), std::string::npos) << kinds[k] << ": " << Summary(full);
    }
    const std::string resumed = SClient(pki_, https_->port(), "dr-bob", kinds[k], file(k, ".probe"), file(k, ".x"));
    ASSERT_NE(resumed.find("Reused"), std::string::npos)
        << kinds[k] << ": resumption must work before revocation: " << Summary(resumed);
  }

  pki_.Revoke("dr-bob");
  auto checker = common::RevocationChecker::ForFiles(pki_.Files("clinician_api"));
  ASSERT_TRUE(checker.ok() && *checker != nullptr);
  ASSERT_TRUE((*checker)->Reload().ok());
  for (size_t k = 0; k < kinds.size(); ++k) {
    const std::string after = SClient(pki_, https_->port(), "dr-bob", kinds[k], file(k, ".kept"), file(k, ".y"));
    EXPECT_EQ(after.find("pong"), std::string::npos) << kinds[k] << ": " << Summary(after);
    EXPECT_EQ(after.find("Reused"), std::string::npos) << kinds[k] << ": " << Summary(after);
  }
  https_->Stop();
}

// What an operator does: revoke.sh, then SIGHUP. Both edges of the process refuse the revoked
// certificate on new connections; everyone else carries on.
TEST_F(HttpsRevocationTest, SighupReloadsTheCrlForGrpcAndHttpsAlike) {
  common::ServiceConfig cfg;
  cfg.service_name = "clinician-api-revocation-test";
  cfg.tls = pki_.Files("clinician_api");
  cfg.drain_timeout_s = 1;
  healthtwin::vitals::v1::VitalsQueryService::CallbackService unimplemented;  // A service to host.
  auto host = common::ServiceHost::Start(cfg, {&unimplemented});
  ASSERT_TRUE(host.ok()) << host.status();
  host_ = *std::move(host);
  host_->SetServing(true);
  StartHttps();
  ASSERT_NE(https_, nullptr);
  std::thread signals([this] { host_->WaitForShutdownSignal(); });

  EXPECT_TRUE(GrpcAs("dr-bob").ok());
  EXPECT_EQ(HttpsStatusAs("dr-bob"), 200);

  pki_.Revoke("dr-bob");
  ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
  // The reload runs on the signal thread; wait for it to land.
  int https_status = 0;
  for (int i = 0; i < 50 && (https_status = HttpsStatusAs("dr-bob")) != -1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(https_status, -1);
  EXPECT_EQ(GrpcAs("dr-bob").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(HttpsStatusAs("dr-alice"), 200);
  EXPECT_TRUE(GrpcAs("dr-alice").ok());

  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  signals.join();
  https_->Stop();
}

}  // namespace
}  // namespace healthtwin::clinician
