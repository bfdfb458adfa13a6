// ServiceHost over real mutual TLS on port 0: who may use server reflection, and that health
// stays open to every certificate from the CA.

#include "services/common/service_host.h"

#include <grpcpp/grpcpp.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/common/grpc_util.h"
#include "services/common/testing/reflection_probe.h"
#include "services/common/tls/tls.h"
#include "tests/harness/dev_pki.h"

namespace healthtwin::common {
namespace {

constexpr auto kRpcDeadline = std::chrono::seconds(5);
using testing::ListServices;
using testing::ReflectionReply;

class WhoAmIService final : public healthtwin::vitals::v1::VitalsQueryService::CallbackService {
  grpc::ServerUnaryReactor* QueryVitals(grpc::CallbackServerContext* ctx,
                                        const healthtwin::vitals::v1::QueryVitalsRequest* /*request*/,
                                        healthtwin::vitals::v1::QueryVitalsResponse* /*response*/) override {
    auto* reactor = ctx->DefaultReactor();
    absl::StatusOr<PeerIdentity> peer = RequireRole(*ctx, {Role::kService});
    reactor->Finish(ToGrpcStatus(peer.status()));
    return reactor;
  }
};

class ServiceHostTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ht-host-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    pki_ = new std::filesystem::path(pattern);
    const absl::Status made = healthtwin::testing::MakeDevPki(HT_PKI_SCRIPT, pki_->string());
    ASSERT_TRUE(made.ok()) << made;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*pki_);
    delete pki_;
    pki_ = nullptr;
  }

  static TlsFiles Files(const std::string& name) {
    return {(*pki_ / "ca.pem").string(), (*pki_ / (name + ".pem")).string(), (*pki_ / (name + ".key")).string()};
  }

  void SetUp() override {
    ServiceConfig cfg;
    cfg.service_name = "service-host-test";
    cfg.listen_address = "127.0.0.1:0";
    cfg.tls = Files("ingest");
    cfg.drain_timeout_s = 1;
    absl::StatusOr<std::unique_ptr<ServiceHost>> host = ServiceHost::Start(cfg, {&service_});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
  }

  std::shared_ptr<grpc::Channel> ChannelAs(const std::string& name) {
    // The host serves the ingest certificate, which names only "ingest".
    auto channel = MakePeerChannel("127.0.0.1:" + std::to_string(host_->port()), Files(name), "ingest");
    EXPECT_TRUE(channel.ok()) << channel.status();
    return *channel;
  }

  grpc::Status HealthCheckAs(const std::string& name) {
    auto stub = grpc::health::v1::Health::NewStub(ChannelAs(name));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    grpc::health::v1::HealthCheckResponse resp;
    return stub->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp);
  }

  static std::filesystem::path* pki_;
  WhoAmIService service_;
  std::unique_ptr<ServiceHost> host_;
};

std::filesystem::path* ServiceHostTest::pki_ = nullptr;

TEST_F(ServiceHostTest, ReflectionAnswersAdminAndServiceIdentities) {
  for (const char* who : {"cli-admin", "twin"}) {
    ReflectionReply r = ListServices(ChannelAs(who));
    EXPECT_TRUE(r.status.ok()) << who << ": " << r.status.error_message();
    EXPECT_NE(r.response.find("healthtwin.vitals.v1.VitalsQueryService"), std::string::npos) << who;
    EXPECT_NE(r.response.find("grpc.health.v1.Health"), std::string::npos) << who;
  }
}

TEST_F(ServiceHostTest, ReflectionRefusesClinicianResearcherAndBridge) {
  for (const char* who : {"dr-alice", "researcher-rita", "bridge-001"}) {
    ReflectionReply r = ListServices(ChannelAs(who));
    EXPECT_EQ(r.status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << who << ": " << r.status.error_message();
    EXPECT_NE(r.status.error_message().find(who), std::string::npos) << r.status.error_message();
    EXPECT_TRUE(r.response.empty()) << who << " received a reflection response";
  }
}

TEST_F(ServiceHostTest, HealthAnswersEveryCertificateFromTheCa) {
  for (const char* who : {"dr-alice", "researcher-rita", "bridge-001", "cli-admin", "twin"}) {
    grpc::Status s = HealthCheckAs(who);
    EXPECT_TRUE(s.ok()) << who << ": " << s.error_message();
  }
}

// The reflection check sits in front of every call; handlers must still see the caller.
TEST_F(ServiceHostTest, HandlersStillSeeTheCallersIdentity) {
  for (const char* who : {"twin", "dr-alice"}) {
    auto stub = healthtwin::vitals::v1::VitalsQueryService::NewStub(ChannelAs(who));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    healthtwin::vitals::v1::QueryVitalsResponse resp;
    grpc::Status s = stub->QueryVitals(&ctx, {}, &resp);
    if (std::string(who) == "twin") {
      EXPECT_TRUE(s.ok()) << s.error_message();
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
      EXPECT_NE(s.error_message().find("'dr-alice'"), std::string::npos) << s.error_message();
    }
  }
}

}  // namespace
}  // namespace healthtwin::common
