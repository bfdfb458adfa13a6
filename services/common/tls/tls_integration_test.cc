// Real gRPC servers and clients over 127.0.0.1 with the credentials from
// tls.h, checking who gets through the handshake and what the handler sees.

#include <arpa/inet.h>
#include <grpcpp/ext/health_check_service_server_builder_option.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "services/common/tls/server_certificates.h"
#include "services/common/tls/tls.h"

namespace healthtwin::common {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

constexpr auto kRpcDeadline = std::chrono::seconds(5);

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// A health service that remembers who called it, so a test can tell both
// what identity a handler sees and whether any call got through at all.
class RecordingHealthService final : public Health::CallbackService {
 public:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const HealthCheckRequest* /*request*/,
                                  HealthCheckResponse* response) override {
    absl::StatusOr<PeerIdentity> identity = PeerIdentityFromAuthContext(*context->auth_context());
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_;
      last_identity_ = std::move(identity);
    }
    response->set_status(HealthCheckResponse::SERVING);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::optional<absl::StatusOr<PeerIdentity>> last_identity() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_identity_;
  }

 private:
  mutable std::mutex mu_;
  int calls_ = 0;
  std::optional<absl::StatusOr<PeerIdentity>> last_identity_;
};

// One server on 127.0.0.1 and an OS-chosen port. It serves either our
// recording service or gRPC's default health service, never both: they
// would claim the same method names.
class TestServer {
 public:
  enum class Kind { kRecording, kDefaultHealth };

  TestServer(std::shared_ptr<grpc::ServerCredentials> credentials, Kind kind) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", std::move(credentials), &port_);
    if (kind == Kind::kDefaultHealth) {
      grpc::EnableDefaultHealthCheckService(true);
      // gRPC 1.51 refuses to build a server whose only service is the
      // default health one ("At least one of the completion queues must be
      // frequently polled"); a callback service, here one that answers
      // UNIMPLEMENTED to everything else, supplies that queue.
      builder.RegisterCallbackGenericService(&unimplemented_);
    } else {
      builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(nullptr));
      builder.RegisterService(&recorder_);
    }
    server_ = builder.BuildAndStart();
  }
  ~TestServer() {
    if (server_ != nullptr)
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }

  bool started() const { return server_ != nullptr && port_ > 0; }
  int port() const { return port_; }
  const RecordingHealthService& recorder() const { return recorder_; }

 private:
  RecordingHealthService recorder_;
  grpc::CallbackGenericService unimplemented_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// Dials 127.0.0.1:port expecting the server to be `expected_peer` (the name its certificate
// must carry), on a connection of its own: a fresh subchannel pool keeps gRPC from reusing a
// connection (and so a certificate) another channel opened earlier.
grpc::Status CallCheck(int port, std::shared_ptr<grpc::ChannelCredentials> credentials, HealthCheckResponse* response,
                       const std::string& expected_peer = "twin", std::string* server_cert_pem = nullptr) {
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(expected_peer);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), std::move(credentials), args);
  std::unique_ptr<Health::Stub> stub = Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
  grpc::Status status = stub->Check(&context, HealthCheckRequest(), response);
  if (server_cert_pem != nullptr && context.auth_context() != nullptr) {
    auto pems = context.auth_context()->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
    if (!pems.empty()) server_cert_pem->assign(pems.front().data(), pems.front().size());
  }
  return status;
}

class TlsIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ht-tls-it-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = new std::filesystem::path(pattern);
    for (const std::string& args :
         {"'" + Ours().string() + "'", "'" + Foreign().string() + "' --foreign"}) {
      const std::string command = std::string("'") + HT_PKI_SCRIPT + "' " + args + " >/dev/null";
      const int status = std::system(command.c_str());
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
    }
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*root_);
    delete root_;
    root_ = nullptr;
  }

  static std::filesystem::path Ours() { return *root_ / "pki"; }
  static std::filesystem::path Foreign() { return *root_ / "foreign"; }

  static TlsFiles OurFiles(const std::string& name) {
    return {(Ours() / "ca.pem").string(), (Ours() / (name + ".pem")).string(),
            (Ours() / (name + ".key")).string()};
  }
  static TlsFiles ForeignFiles(const std::string& name) {
    return {(Foreign() / "ca.pem").string(), (Foreign() / (name + ".pem")).string(),
            (Foreign() / (name + ".key")).string()};
  }

  // Credentials for mixes that MakeChannelCredentials rightly refuses to
  // build, so that each refusal test isolates one side's check.
  static std::shared_ptr<grpc::ChannelCredentials> RawClientCredentials(
      const std::filesystem::path& trusted_ca, const std::optional<TlsFiles>& presented) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(trusted_ca);
    if (presented.has_value()) {
      options.pem_cert_chain = ReadFile(presented->cert_path);
      options.pem_private_key = ReadFile(presented->key_path);
    }
    return grpc::SslCredentials(options);
  }

  static std::unique_ptr<TestServer> StartOurServer(TestServer::Kind kind) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        MakeServerCredentials(OurFiles("twin"));
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    if (!credentials.ok()) return nullptr;
    auto server = std::make_unique<TestServer>(*credentials, kind);
    EXPECT_TRUE(server->started());
    return server;
  }

  static std::shared_ptr<grpc::ChannelCredentials> OurClient(const std::string& name) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        MakeChannelCredentials(OurFiles(name));
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    return credentials.ok() ? *credentials : nullptr;
  }

  static std::filesystem::path* root_;
};

std::filesystem::path* TlsIntegrationTest::root_ = nullptr;

TEST_F(TlsIntegrationTest, CaSignedClinicianReachesHandlerWithCnAndRole) {
  std::unique_ptr<TestServer> server = StartOurServer(TestServer::Kind::kRecording);
  ASSERT_TRUE(server && server->started());
  HealthCheckResponse response;
  grpc::Status status = CallCheck(server->port(), OurClient("dr-alice"), &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);

  ASSERT_EQ(server->recorder().calls(), 1);
  std::optional<absl::StatusOr<PeerIdentity>> identity = server->recorder().last_identity();
  ASSERT_TRUE(identity.has_value());
  ASSERT_TRUE(identity->ok()) << identity->status();
  EXPECT_EQ((*identity)->common_name, "dr-alice");
  EXPECT_EQ((*identity)->role, Role::kClinician);
  EXPECT_EQ((*identity)->role_name, "clinician");
}

TEST_F(TlsIntegrationTest, CaSignedServiceReachesHandlerAsService) {
  std::unique_ptr<TestServer> server = StartOurServer(TestServer::Kind::kRecording);
  ASSERT_TRUE(server && server->started());
  HealthCheckResponse response;
  grpc::Status status = CallCheck(server->port(), OurClient("ingest"), &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  std::optional<absl::StatusOr<PeerIdentity>> identity = server->recorder().last_identity();
  ASSERT_TRUE(identity.has_value() && identity->ok());
  EXPECT_EQ((*identity)->common_name, "ingest");
  EXPECT_EQ((*identity)->role, Role::kService);
}

TEST_F(TlsIntegrationTest, DefaultHealthServiceAnswersOverMutualTls) {
  std::unique_ptr<TestServer> server = StartOurServer(TestServer::Kind::kDefaultHealth);
  ASSERT_TRUE(server && server->started());
  HealthCheckResponse response;
  grpc::Status status = CallCheck(server->port(), OurClient("cli-admin"), &response);
  ASSERT_TRUE(status.ok()) << status.error_code() << ": " << status.error_message();
  EXPECT_EQ(response.status(), HealthCheckResponse::SERVING);
}

TEST_F(TlsIntegrationTest, ClientCertificateFromForeignCaIsRefusedAtHandshake) {
  std::unique_ptr<TestServer> server = StartOurServer(TestServer::Kind::kRecording);
  ASSERT_TRUE(server && server->started());
  // The client trusts our CA, so only the server's check can stop it.
  HealthCheckResponse response;
  grpc::Status status = CallCheck(
      server->port(), RawClientCredentials(Ours() / "ca.pem", ForeignFiles("intruder")), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(server->recorder().calls(), 0);
}

TEST_F(TlsIntegrationTest, ClientWithoutCertificateIsRefusedAtHandshake) {
  std::unique_ptr<TestServer> server = StartOurServer(TestServer::Kind::kRecording);
  ASSERT_TRUE(server && server->started());
  HealthCheckResponse response;
  grpc::Status status =
      CallCheck(server->port(), RawClientCredentials(Ours() / "ca.pem", std::nullopt), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(server->recorder().calls(), 0);
}

TEST_F(TlsIntegrationTest, ClientTrustingOnlyForeignCaRefusesOurServer) {
  std::unique_ptr<TestServer> server = StartOurServer(TestServer::Kind::kRecording);
  ASSERT_TRUE(server && server->started());
  // dr-alice's certificate would satisfy the server, so only the client's
  // check of the server can stop this call.
  HealthCheckResponse response;
  grpc::Status status = CallCheck(
      server->port(), RawClientCredentials(Foreign() / "ca.pem", OurFiles("dr-alice")), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(server->recorder().calls(), 0);
}

TEST_F(TlsIntegrationTest, OurClientRefusesServerFromForeignCa) {
  // A server that would accept our clients but holds a foreign certificate.
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = ReadFile(Ours() / "ca.pem");
  options.pem_key_cert_pairs.push_back(
      {ReadFile(Foreign() / "foreign-server.key"), ReadFile(Foreign() / "foreign-server.pem")});
  TestServer server(grpc::SslServerCredentials(options), TestServer::Kind::kRecording);
  ASSERT_TRUE(server.started());
  HealthCheckResponse response;
  grpc::Status status = CallCheck(server.port(), OurClient("dr-alice"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(server.recorder().calls(), 0);
}

TEST_F(TlsIntegrationTest, PeerOnInsecurePortIsUnauthenticated) {
  TestServer server(grpc::InsecureServerCredentials(), TestServer::Kind::kRecording);
  ASSERT_TRUE(server.started());
  HealthCheckResponse response;
  grpc::Status status = CallCheck(server.port(), grpc::InsecureChannelCredentials(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::optional<absl::StatusOr<PeerIdentity>> identity = server.recorder().last_identity();
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->status().code(), absl::StatusCode::kUnauthenticated);
}

// Runs a bare OpenSSL handshake against 127.0.0.1:port, offering at most
// `max_version`, and returns the negotiated version or 0 if refused.
int HandshakeVersion(int port, int max_version, const TlsFiles& client) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                        &SSL_CTX_free);
  // Let the client offer old protocols, so that only the server can refuse.
  SSL_CTX_set_security_level(ctx.get(), 0);
  SSL_CTX_set_cipher_list(ctx.get(), "ALL:@SECLEVEL=0");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(ctx.get(), max_version);
  SSL_CTX_use_certificate_file(ctx.get(), client.cert_path.c_str(), SSL_FILETYPE_PEM);
  SSL_CTX_use_PrivateKey_file(ctx.get(), client.key_path.c_str(), SSL_FILETYPE_PEM);
  static const unsigned char kAlpnH2[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpnH2, sizeof(kAlpnH2));
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), &SSL_free);
  SSL_set_fd(ssl.get(), fd);
  const int version = SSL_connect(ssl.get()) == 1 ? SSL_version(ssl.get()) : 0;
  ssl.reset();
  close(fd);
  return version;
}

TEST_F(TlsIntegrationTest, ServerRefusesProtocolsBelowTls12) {
  std::unique_ptr<TestServer> server = StartOurServer(TestServer::Kind::kRecording);
  ASSERT_TRUE(server && server->started());
  // Control: the same bare client gets through when TLS 1.2 is allowed.
  EXPECT_EQ(HandshakeVersion(server->port(), TLS1_2_VERSION, OurFiles("dr-alice")), TLS1_2_VERSION);
  EXPECT_EQ(HandshakeVersion(server->port(), TLS1_1_VERSION, OurFiles("dr-alice")), 0);
  EXPECT_EQ(HandshakeVersion(server->port(), TLS1_VERSION, OurFiles("dr-alice")), 0);
  EXPECT_EQ(server->recorder().calls(), 0);
}

grpc::Status CallThrough(const std::shared_ptr<grpc::Channel>& channel) {
  std::unique_ptr<Health::Stub> stub = Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
  HealthCheckResponse response;
  return stub->Check(&context, HealthCheckRequest(), &response);
}

// The twin's certificate comes from the same CA as ingest's, so only the name check can tell
// them apart.
TEST_F(TlsIntegrationTest, ClientExpectingIngestRefusesTwinServer) {
  std::unique_ptr<TestServer> server = StartOurServer(TestServer::Kind::kRecording);
  ASSERT_TRUE(server && server->started());
  const std::string address = "127.0.0.1:" + std::to_string(server->port());
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakePeerChannel(address, OurFiles("clinician_api"), "ingest");
  ASSERT_TRUE(channel.ok()) << channel.status();
  grpc::Status status = CallThrough(*channel);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(IsPeerNameMismatch(status)) << status.error_message();
  EXPECT_NE(status.error_message().find("ingest"), std::string::npos) << status.error_message();
  EXPECT_EQ(server->recorder().calls(), 0);
}

TEST_F(TlsIntegrationTest, ClientExpectingTwinReachesTwinServer) {
  std::unique_ptr<TestServer> server = StartOurServer(TestServer::Kind::kRecording);
  ASSERT_TRUE(server && server->started());
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakePeerChannel("127.0.0.1:" + std::to_string(server->port()), OurFiles("clinician_api"), "twin");
  ASSERT_TRUE(channel.ok()) << channel.status();
  grpc::Status status = CallThrough(*channel);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(server->recorder().calls(), 1);
}

TEST_F(TlsIntegrationTest, ClientDialingLocalhostWithoutExpectationIsRefused) {
  // No service certificate names localhost any more, so a client that trusts the dialled
  // host name (as every client did before) reaches nobody instead of anybody.
  std::unique_ptr<TestServer> server = StartOurServer(TestServer::Kind::kRecording);
  ASSERT_TRUE(server && server->started());
  grpc::Status status =
      CallThrough(grpc::CreateChannel("localhost:" + std::to_string(server->port()), OurClient("clinician_api")));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(server->recorder().calls(), 0);
}

TEST_F(TlsIntegrationTest, MakePeerChannelRequiresAnExpectedPeer) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      MakePeerChannel("127.0.0.1:1", OurFiles("clinician_api"), "");
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kInvalidArgument);
}

// A copy of our PKI whose "ingest" certificate a test may reissue (same CA, new serial).
class ServerCertificatesTest : public TlsIntegrationTest {
 protected:
  void SetUp() override {
    dir_ = *root_ / ("reload-" + std::to_string(++counter_));
    std::filesystem::copy(Ours(), dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  TlsFiles Ingest() const {
    return {(dir_ / "ca.pem").string(), (dir_ / "ingest.pem").string(), (dir_ / "ingest.key").string()};
  }
  void ReissueIngest() const {
    std::filesystem::remove(dir_ / "ingest.pem");
    std::filesystem::remove(dir_ / "ingest.key");
    const std::string command = std::string("'") + HT_PKI_SCRIPT + "' '" + dir_.string() + "' >/dev/null";
    const int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
  }
  // The serial of the certificate a new connection to `port` is shown; empty if refused.
  static std::string ServedSerial(int port) {
    HealthCheckResponse response;
    std::string pem;
    grpc::Status status = CallCheck(port, OurClient("dr-alice"), &response, "ingest", &pem);
    if (!status.ok()) return "";
    absl::StatusOr<CertificateInfo> info = DescribeCertificate(pem);
    return info.ok() ? info->serial_hex : "";
  }
  static std::string SerialOf(const std::string& path) {
    absl::StatusOr<CertificateInfo> info = DescribeCertificate(ReadFile(path));
    return info.ok() ? info->serial_hex : "(unparsable)";
  }

  std::filesystem::path dir_;
  static inline int counter_ = 0;
};

TEST_F(ServerCertificatesTest, ReloadServesTheNewCertificateToNewConnections) {
  absl::StatusOr<std::unique_ptr<ServerCertificates>> certs = ServerCertificates::Create(Ingest());
  ASSERT_TRUE(certs.ok()) << certs.status();
  TestServer server((*certs)->credentials(), TestServer::Kind::kRecording);
  ASSERT_TRUE(server.started());
  const std::string serial_a = SerialOf(Ingest().cert_path);
  ASSERT_EQ(ServedSerial(server.port()), serial_a);
  EXPECT_EQ((*certs)->current().serial_hex, serial_a);

  ReissueIngest();
  const std::string serial_b = SerialOf(Ingest().cert_path);
  ASSERT_NE(serial_a, serial_b);
  // Until told, the server keeps the certificate it has.
  EXPECT_EQ(ServedSerial(server.port()), serial_a);

  ASSERT_TRUE((*certs)->Reload().ok());
  EXPECT_EQ((*certs)->current().serial_hex, serial_b);
  std::string served;
  for (int i = 0; i < 50 && (served = ServedSerial(server.port())) != serial_b; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(served, serial_b);
}

TEST_F(ServerCertificatesTest, ReloadOfABrokenCertificateKeepsTheOldOne) {
  absl::StatusOr<std::unique_ptr<ServerCertificates>> certs = ServerCertificates::Create(Ingest());
  ASSERT_TRUE(certs.ok()) << certs.status();
  TestServer server((*certs)->credentials(), TestServer::Kind::kRecording);
  ASSERT_TRUE(server.started());
  const std::string serial_a = SerialOf(Ingest().cert_path);
  // A certificate that does not match the key, as a half-finished renewal leaves it.
  std::filesystem::copy_file(dir_ / "twin.pem", dir_ / "ingest.pem", std::filesystem::copy_options::overwrite_existing);

  absl::Status reloaded = (*certs)->Reload();
  EXPECT_EQ(reloaded.code(), absl::StatusCode::kInvalidArgument) << reloaded;
  EXPECT_EQ((*certs)->current().serial_hex, serial_a);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past gRPC's re-read
  EXPECT_EQ(ServedSerial(server.port()), serial_a);
}

TEST_F(ServerCertificatesTest, DaysLeftCountsWholeDaysToNotAfter) {
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(ReadFile(Ingest().cert_path));
  ASSERT_TRUE(info.ok()) << info.status();
  // Whole days: a second more than 824 days before notAfter is 824 days left, whatever the
  // clock says now (the test must not depend on how fast the PKI was issued).
  EXPECT_EQ(DaysLeft(*info, info->not_after_unix_s - 824 * 86'400 - 1), 824);
  // make-dev-pki.sh issues leaves for 825 days, so a fresh one has 824 or 825 whole days left.
  const int64_t fresh = DaysLeft(*info, std::time(nullptr));
  EXPECT_TRUE(fresh == 824 || fresh == 825) << fresh;
  EXPECT_EQ(DaysLeft(*info, info->not_after_unix_s - 1), 0);
  EXPECT_EQ(DaysLeft(*info, info->not_after_unix_s + 1), -1);
}

}  // namespace
}  // namespace healthtwin::common
