// ServiceHost over real mutual TLS on port 0: who may use server reflection, that health
// stays open to every certificate from the CA, and components' health apart from the server's.

#include "services/common/service_host.h"

#include <grpcpp/grpcpp.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

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

// A part with a health of its own (a read replica) keeps its status when the server's own
// changes: SetServing's bulk update must not overwrite it.
TEST_F(ServiceHostTest, AComponentsHealthIsItsOwnWhateverTheServerReports) {
  auto stub = grpc::health::v1::Health::NewStub(ChannelAs("cli-admin"));
  auto status_of = [&](const std::string& service) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    grpc::health::v1::HealthCheckResponse resp;
    grpc::Status s = stub->Check(&ctx, request, &resp);
    EXPECT_TRUE(s.ok()) << service << ": " << s.error_message();
    return resp.status();
  };
  using Status = grpc::health::v1::HealthCheckResponse;
  host_->SetComponentServing("healthtwin.db_read", false);
  host_->SetServing(true);
  EXPECT_EQ(status_of(""), Status::SERVING);
  EXPECT_EQ(status_of("healthtwin.db_read"), Status::NOT_SERVING);

  host_->SetComponentServing("healthtwin.db_read", true);
  host_->SetServing(false);
  EXPECT_EQ(status_of(""), Status::NOT_SERVING);
  EXPECT_EQ(status_of("healthtwin.db_read"), Status::SERVING);
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

// Answers QueryVitals with the caller's address (ip:port) in next_page_token and counts calls,
// so a test sees which replica served a call and over which connection.
class PeerEchoService final : public healthtwin::vitals::v1::VitalsQueryService::CallbackService {
 public:
  std::atomic<int> calls{0};

 private:
  grpc::ServerUnaryReactor* QueryVitals(grpc::CallbackServerContext* ctx,
                                        const healthtwin::vitals::v1::QueryVitalsRequest* /*request*/,
                                        healthtwin::vitals::v1::QueryVitalsResponse* response) override {
    ++calls;
    response->set_next_page_token(ctx->peer());
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// ServerLimits applied by ServiceHost, and MakePeerChannel's round robin (issue 13 item 6,
// issue 15), over real mutual TLS.
class ServerLimitsTest : public ServiceHostTest {
 protected:
  void SetUp() override {}

  std::unique_ptr<ServiceHost> StartHost(const ServerLimits& limits, grpc::Service* service,
                                         const std::string& listen = "127.0.0.1:0") {
    ServiceConfig cfg;
    cfg.service_name = "server-limits-test";
    cfg.listen_address = listen;
    cfg.tls = Files("ingest");
    cfg.drain_timeout_s = 1;
    cfg.limits = limits;
    absl::StatusOr<std::unique_ptr<ServiceHost>> host = ServiceHost::Start(cfg, {service});
    EXPECT_TRUE(host.ok()) << host.status();
    return host.ok() ? *std::move(host) : nullptr;
  }

  static std::shared_ptr<grpc::Channel> Channel(const std::string& target) {
    auto channel = MakePeerChannel(target, Files("twin"), "ingest");
    EXPECT_TRUE(channel.ok()) << channel.status();
    return *channel;
  }
  static std::shared_ptr<grpc::Channel> ChannelTo(const ServiceHost& host) {
    return Channel("127.0.0.1:" + std::to_string(host.port()));
  }

  // The caller address the server saw, or the error.
  static std::string Echo(const std::shared_ptr<grpc::Channel>& channel, size_t request_bytes = 0) {
    auto stub = healthtwin::vitals::v1::VitalsQueryService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    healthtwin::vitals::v1::QueryVitalsRequest request;
    request.set_patient_id(std::string(request_bytes, 'p'));
    healthtwin::vitals::v1::QueryVitalsResponse resp;
    grpc::Status s = stub->QueryVitals(&ctx, request, &resp);
    return s.ok() ? resp.next_page_token() : "error " + std::to_string(s.error_code()) + ": " + s.error_message();
  }

  static grpc::Status CheckWithin(const std::shared_ptr<grpc::Channel>& channel, std::chrono::milliseconds limit) {
    auto stub = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + limit);
    grpc::health::v1::HealthCheckResponse resp;
    return stub->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp);
  }
};

TEST_F(ServerLimitsTest, CallsPastTheStreamLimitWaitUntilOneEnds) {
  PeerEchoService service;
  auto host = StartHost({.max_concurrent_streams = 2}, &service);
  ASSERT_NE(host, nullptr);
  auto channel = ChannelTo(*host);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  // Two open health watches fill the connection's streams.
  grpc::ClientContext watch_ctx[2];
  std::unique_ptr<grpc::ClientReader<grpc::health::v1::HealthCheckResponse>> watches[2];
  for (int i = 0; i < 2; ++i) {
    watches[i] = stub->Watch(&watch_ctx[i], grpc::health::v1::HealthCheckRequest());
    grpc::health::v1::HealthCheckResponse first;
    ASSERT_TRUE(watches[i]->Read(&first)) << "watch " << i << " did not start";
  }
  const grpc::Status held = CheckWithin(channel, std::chrono::milliseconds(1500));
  EXPECT_EQ(held.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << held.error_message();
  watch_ctx[0].TryCancel();
  EXPECT_EQ(watches[0]->Finish().error_code(), grpc::StatusCode::CANCELLED);
  const grpc::Status admitted = CheckWithin(channel, kRpcDeadline);
  EXPECT_TRUE(admitted.ok()) << admitted.error_message();
  watch_ctx[1].TryCancel();
  watches[1]->Finish();
}

TEST_F(ServerLimitsTest, AnOldConnectionIsClosedSoTheClientReconnects) {
  PeerEchoService aging_service, never_service;
  auto aging_host = StartHost({.max_connection_age_s = 1}, &aging_service);
  auto never_host = StartHost({.max_connection_age_s = 0}, &never_service);
  ASSERT_TRUE(aging_host && never_host);
  auto to_aging = ChannelTo(*aging_host);
  auto to_never = ChannelTo(*never_host);
  const std::string aging_first = Echo(to_aging), never_first = Echo(to_never);
  ASSERT_EQ(aging_first.rfind("ipv4:127.0.0.1:", 0), 0u) << aging_first;
  ASSERT_EQ(never_first.rfind("ipv4:127.0.0.1:", 0), 0u) << never_first;
  // Past the age (1 s, +-10 % jitter, then the GOAWAY): a new connection, from a new port.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_NE(Echo(to_aging), aging_first) << "still the first connection";
  EXPECT_EQ(Echo(to_never), never_first) << "a connection without an age limit was replaced";
}

TEST_F(ServerLimitsTest, AMessageOverTheLimitIsRefused) {
  PeerEchoService service;
  auto host = StartHost({.max_message_mb = 1}, &service);
  ASSERT_NE(host, nullptr);
  auto channel = ChannelTo(*host);
  EXPECT_EQ(Echo(channel, 900 * 1024).rfind("ipv4:", 0), 0u);
  const std::string refused = Echo(channel, 1100 * 1024);
  EXPECT_EQ(refused.rfind("error 8:", 0), 0u) << refused;  // RESOURCE_EXHAUSTED
  EXPECT_EQ(service.calls, 1);
}

// Two replicas behind one target: the static ipv4: resolver stands in for a headless Service's
// DNS name, since no name here resolves to two addresses (localhost is 127.0.0.1 only). A
// dns:/// target resolves and connects too.
TEST_F(ServerLimitsTest, RoundRobinSpreadsCallsOverEveryReplica) {
  PeerEchoService a, b;
  auto replica_a = StartHost({}, &a);
  auto replica_b = StartHost({}, &b);
  ASSERT_TRUE(replica_a && replica_b);
  auto channel = Channel("ipv4:127.0.0.1:" + std::to_string(replica_a->port()) +
                         ",127.0.0.1:" + std::to_string(replica_b->port()));
  // Until both subchannels are connected, calls go to whichever is ready.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((a.calls == 0 || b.calls == 0) && std::chrono::steady_clock::now() < until) {
    ASSERT_EQ(Echo(channel).rfind("ipv4:", 0), 0u);
  }
  ASSERT_GT(a.calls, 0);
  ASSERT_GT(b.calls, 0);
  a.calls = 0;
  b.calls = 0;
  for (int i = 0; i < 10; ++i) ASSERT_EQ(Echo(channel).rfind("ipv4:", 0), 0u);
  EXPECT_EQ(a.calls, 5);
  EXPECT_EQ(b.calls, 5);

  const std::string via_dns = Echo(Channel("dns:///localhost:" + std::to_string(replica_a->port())));
  EXPECT_EQ(via_dns.rfind("ipv4:127.0.0.1:", 0), 0u) << via_dns;
}

}  // namespace
}  // namespace healthtwin::common
