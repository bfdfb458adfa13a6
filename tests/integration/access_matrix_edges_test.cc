// The authorization matrix's callers refused before any role or care team is looked at (issue
// 13, item 6), on every RPC of ClinicianService and RegistryService and on TwinService's
// GetTwinHistory (the one twin RPC the role matrix covers), through the real services over
// mutual TLS (test_env.h):
//   - no certificate, a certificate from a foreign CA, an expired certificate and a revoked one
//     (the slice loads its CA's CRL, as deployed services do): refused at the TLS handshake,
//     UNAVAILABLE, and no audit row is possible because no identity ever reached a service;
//   - on clinician_api, a bearer token (clinician_api/token_gate.h) that has expired
//     (UNAUTHENTICATED) or has too few scopes (PERMISSION_DENIED): refused before the request
//     is read, each with an `auth.token` audit row naming the RPC.
// The RPCs come from the services' descriptors, so an RPC added to either service gets these
// rows without an edit here. The certificates are made per run (tests/harness/dev_cert.h,
// deploy/pki/revoke.sh); their keys live in a temporary directory.
#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "clinician_api/token_gate.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "healthtwin/twin/v1/twin.grpc.pb.h"
#include "services/common/auth/bearer_token.h"
#include "services/common/auth/test_keys.h"
#include "services/common/time_util.h"
#include "tests/harness/dev_cert.h"
#include "tests/harness/dev_pki.h"
#include "tests/integration/access_matrix_table.h"
#include "tests/integration/test_env.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;
using Code = grpc::StatusCode;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The RPCs of `service` ("healthtwin.clinician.v1.ClinicianService"), in proto order.
std::vector<std::string> MethodsOf(const std::string& service) {
  const auto* descriptor = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(service);
  EXPECT_NE(descriptor, nullptr) << service;
  std::vector<std::string> methods;
  for (int i = 0; descriptor != nullptr && i < descriptor->method_count(); ++i) {
    methods.push_back(descriptor->method(i)->name());
  }
  return methods;
}

// One call of `/service/method` with an empty request (every field at its default), for
// refusals that come before the request is read; a server-streaming RPC refused at once ends
// the same way. `bearer` is sent as the authorization header when not empty.
grpc::Status CallEmpty(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                       const std::string& method, const std::string& bearer = "") {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
  if (!bearer.empty()) ctx.AddMetadata("authorization", "Bearer " + bearer);
  grpc::Slice empty("");
  const grpc::ByteBuffer request(&empty, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, absl::StrCat("/", service, "/", method), grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

// A channel that trusts the slice's CA and presents `client` (none: no certificate) as it is,
// without the checks common::MakePeerChannel makes of our own material (which would refuse an
// expired or foreign certificate before it is ever sent). A connection of its own per channel.
std::shared_ptr<grpc::Channel> RawChannel(const std::string& address, const std::string& expected_peer,
                                          const std::optional<common::TlsFiles>& client) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadText(fs::path(SliceEnvironment::PkiDir()) / "ca.pem");
  if (client) {
    options.pem_private_key = ReadText(client->key_path);
    options.pem_cert_chain = ReadText(client->cert_path);
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(expected_peer);
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
}

class AccessMatrixEdgesTest : public ::testing::Test {
 protected:
  // The refused certificates, made once per binary before any slice of this suite starts, so
  // that every such slice loads the CRL that revokes dr-revoked.
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "healthtwin-matrix-certs.XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
    certs_ = new fs::path(pattern);
    const std::string pki = SliceEnvironment::PkiDir();
    // Expired yesterday; the other two are alike but valid, and only dr-revoked is revoked.
    for (const DevCertificateSpec& spec :
         {DevCertificateSpec{"dr-expired", "clinician", -2 * 86'400, -86'400},
          DevCertificateSpec{"dr-revoked", "clinician"}, DevCertificateSpec{"dr-kept", "clinician"}}) {
      const absl::Status issued = IssueDevCertificate(pki, certs_->string(), spec);
      ASSERT_TRUE(issued.ok()) << issued;
    }
    const std::string revoke = absl::StrCat("'", HT_REVOKE_SCRIPT, "' --pki '", pki, "' --cert '",
                                            (*certs_ / "dr-revoked.pem").string(), "' >/dev/null");
    const int status = std::system(revoke.c_str());
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << revoke;
    const absl::Status foreign = MakeDevPki(HT_PKI_SCRIPT, (*certs_ / "foreign").string(), /*foreign=*/true);
    ASSERT_TRUE(foreign.ok()) << foreign;
  }
  static void TearDownTestSuite() {
    if (certs_ == nullptr) return;
    std::error_code ec;
    fs::remove_all(*certs_, ec);
    delete certs_;
    certs_ = nullptr;
  }

  static common::TlsFiles Issued(const std::string& name, const fs::path& dir) {
    return {(dir / "ca.pem").string(), (dir / (name + ".pem")).string(), (dir / (name + ".key")).string()};
  }

  void StartSlice(const clinician::TokenGate& tokens) {
    ASSERT_NE(SliceEnvironment::cluster(), nullptr) << "the shared PostgreSQL cluster did not start";
    ASSERT_NE(certs_, nullptr) << "the suite's certificates were not made";
    auto slice = Slice::Start(TestDatabaseName("matrix_edges"), tokens);
    ASSERT_TRUE(slice.ok()) << slice.status();
    slice_ = std::move(*slice);
    (void)QueryInt(db(), "INSERT INTO patients (patient_id) VALUES ('pat-a')");
    (void)QueryInt(db(), "INSERT INTO care_team (patient_id, member) VALUES ('pat-a', 'dr-alice')");
  }

  const std::string& db() const { return slice_->conninfo(); }

  static inline fs::path* certs_ = nullptr;
  std::unique_ptr<Slice> slice_;
};

// Where each service answers, and the name its certificate carries.
struct Endpoint {
  std::string service;  // short name, as in the table
  std::string full_name;
  std::vector<std::string> methods;
  std::string address;
  std::string peer;
};

TEST_F(AccessMatrixEdgesTest, HandshakeRefusalsOnEveryRpcLeaveNoAuditRow) {
  StartSlice(clinician::TokenGate());
  // The raw channel itself works: a certificate issued like dr-revoked but not revoked is admitted.
  ASSERT_EQ(CallEmpty(RawChannel(slice_->clinician_address(), "clinician_api", Issued("dr-kept", *certs_)),
                      "healthtwin.clinician.v1.ClinicianService", "WhoAmI")
                .error_code(),
            Code::OK);

  const std::vector<std::pair<std::string, std::optional<common::TlsFiles>>> callers = {
      {"no certificate", std::nullopt},
      {"foreign CA (intruder)", Issued("intruder", *certs_ / "foreign")},
      {"expired certificate (dr-expired)", Issued("dr-expired", *certs_)},
      {"revoked certificate (dr-revoked, CRL)", Issued("dr-revoked", *certs_)},
  };
  const std::vector<Endpoint> endpoints = {
      {"ClinicianService", "healthtwin.clinician.v1.ClinicianService",
       MethodsOf("healthtwin.clinician.v1.ClinicianService"), slice_->clinician_address(), "clinician_api"},
      {"RegistryService", "healthtwin.registry.v1.RegistryService", MethodsOf("healthtwin.registry.v1.RegistryService"),
       slice_->data_address(), "ingest"},
      {"TwinService", "healthtwin.twin.v1.TwinService", {"GetTwinHistory"}, slice_->data_address(), "ingest"},
  };
  for (const Endpoint& e : endpoints) {
    for (const std::string& method : e.methods) {
      for (const auto& [caller, files] : callers) {
        SCOPED_TRACE(e.service + "." + method + " with " + caller);
        const int64_t before = QueryInt(db(), "SELECT count(*) FROM audit_log");
        const grpc::Status s = CallEmpty(RawChannel(e.address, e.peer, files), e.full_name, method);
        EXPECT_EQ(s.error_code(), Code::UNAVAILABLE) << s.error_message();
        EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM audit_log"), before) << "no identity, so no audit row";
        RecordMatrixRow({e.service, method, caller,
                         absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code())),
                         "none possible: refused at the TLS handshake"});
      }
    }
  }
}

// dr-alice is on pat-a's care team and her certificate is good: only her token is wrong.
TEST_F(AccessMatrixEdgesTest, TokenRefusalsOnEveryClinicianRpcAreAudited) {
  using common::auth::testing::kAudience;
  using common::auth::testing::kIssuer;
  const fs::path pki = SliceEnvironment::PkiDir();
  auto verifier =
      common::auth::TokenVerifier::FromPublicKeyFile((pki / "token-issuer.pub").string(), {kIssuer, kAudience});
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  const auto now_s = [] { return common::NowUnixMicros() / 1'000'000; };
  auto gate = clinician::TokenGate::Create(*verifier, /*require_token=*/false, now_s);
  ASSERT_TRUE(gate.ok()) << gate.status();
  StartSlice(*gate);
  auto signer = common::auth::TokenSigner::FromPrivateKeyFile((pki / "token-issuer.key").string());
  ASSERT_TRUE(signer.ok()) << signer.status();
  auto token = [&](const std::string& jti, std::vector<std::string> scopes, int64_t expires_in_s) {
    const int64_t now = now_s();
    auto signed_token = signer->Sign({.issuer = kIssuer,
                                      .audiences = {kAudience},
                                      .subject = "dr-alice",
                                      .role = "clinician",
                                      .token_id = jti,
                                      .issued_at_unix_s = now - 7'200,
                                      .expires_at_unix_s = now + expires_in_s,
                                      .scopes = std::move(scopes)});
    EXPECT_TRUE(signed_token.ok()) << signed_token.status();
    return signed_token.value_or("");
  };
  const auto channel = Slice::Channel(slice_->clinician_address(), "dr-alice", "clinician_api");
  const std::string service = "healthtwin.clinician.v1.ClinicianService";
  const auto rows_of_alice = [&](const std::string& where) {
    return QueryInt(db(), "SELECT count(*) FROM audit_log WHERE actor = 'dr-alice'" + where);
  };

  for (const std::string& method : MethodsOf(service)) {
    SCOPED_TRACE(method);
    const std::string refused = " AND action = 'auth.token' AND outcome = 'denied' AND detail LIKE '" + method + ": %'";

    // Expired an hour ago, with every read and update scope: the expiry alone refuses it.
    const int64_t expired_before = rows_of_alice(refused + " AND detail LIKE '%expired%'");
    const grpc::Status expired =
        CallEmpty(channel, service, method, token("expired-" + method, {"user/*.rus"}, -3'600));
    EXPECT_EQ(expired.error_code(), Code::UNAUTHENTICATED) << expired.error_message();
    EXPECT_NE(expired.error_message().find("expired"), std::string::npos) << expired.error_message();
    EXPECT_EQ(rows_of_alice(refused + " AND detail LIKE '%expired%'"), expired_before + 1);
    RecordMatrixRow({"ClinicianService", method, "dr-alice, expired token",
                     absl::StatusCodeToString(static_cast<absl::StatusCode>(expired.error_code())),
                     "auth.token · - · denied (the RPC and \"expired\" in detail)"});

    // Valid, but only user/Device.rs, which no clinician RPC is given by. WhoAmI needs no scope.
    const std::string jti = "few-" + method;
    const int64_t all_before = rows_of_alice("");
    const grpc::Status few = CallEmpty(channel, service, method, token(jti, {"user/Device.rs"}, 900));
    std::string audit;
    if (method == "WhoAmI") {
      EXPECT_EQ(few.error_code(), Code::OK) << few.error_message();
      EXPECT_EQ(rows_of_alice(""), all_before) << "WhoAmI reads no patient data: no row";
      audit = "none (no patient data)";
    } else {
      EXPECT_EQ(few.error_code(), Code::PERMISSION_DENIED) << few.error_message();
      EXPECT_NE(few.error_message().find("user/"), std::string::npos) << "names the missing scope";
      EXPECT_EQ(rows_of_alice(refused + " AND agent_token_id = '" + jti + "'"), 1);
      EXPECT_EQ(rows_of_alice(""), all_before + 1) << "the refusal's row and nothing else";
      audit = "auth.token · - · denied (the RPC, the missing scope and the token id)";
    }
    RecordMatrixRow({"ClinicianService", method, "dr-alice, token with too few scopes",
                     absl::StatusCodeToString(static_cast<absl::StatusCode>(few.error_code())), audit});
  }
}

}  // namespace
}  // namespace healthtwin::testing
