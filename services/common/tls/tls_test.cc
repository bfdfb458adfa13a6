#include "services/common/tls/tls.h"

#include <grpc/grpc_security_constants.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace healthtwin::common {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  std::FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[512];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

CommandResult RunPkiScript(const std::string& args) {
  return RunCommand(std::string("'") + HT_PKI_SCRIPT + "' " + args);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFile(const std::filesystem::path& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

// Issues a certificate from the dev CA in `pki_dir` with the given subject and
// validity (seconds relative to now), for shapes the script never makes.
TlsFiles IssueFromDevCa(const std::filesystem::path& pki_dir, const std::filesystem::path& out_dir,
                        const std::string& name,
                        const std::vector<std::pair<std::string, std::string>>& subject,
                        long not_before_offset_s, long not_after_offset_s) {
  std::unique_ptr<BIO, decltype(&BIO_free)> ca_bio(BIO_new_file((pki_dir / "ca.pem").c_str(), "r"),
                                                   &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> ca(
      PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr), &X509_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> ca_key_bio(
      BIO_new_file((pki_dir / "ca.key").c_str(), "r"), &BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> ca_key(
      PEM_read_bio_PrivateKey(ca_key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  EXPECT_TRUE(ca && ca_key && key && cert);

  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before_offset_s);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after_offset_s);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name_entries = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : subject) {
    X509_NAME_add_entry_by_txt(name_entries, field.c_str(), MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  EXPECT_GT(X509_sign(cert.get(), ca_key.get(), EVP_sha256()), 0);

  TlsFiles files{(pki_dir / "ca.pem").string(), (out_dir / (name + ".pem")).string(),
                 (out_dir / (name + ".key")).string()};
  std::unique_ptr<BIO, decltype(&BIO_free)> cert_out(BIO_new_file(files.cert_path.c_str(), "w"),
                                                     &BIO_free);
  PEM_write_bio_X509(cert_out.get(), cert.get());
  std::unique_ptr<BIO, decltype(&BIO_free)> key_out(BIO_new_file(files.key_path.c_str(), "w"),
                                                    &BIO_free);
  PEM_write_bio_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return files;
}

// Stands in for gRPC's internal SecureAuthContext, which is not installed.
class FakeAuthContext : public grpc::AuthContext {
 public:
  FakeAuthContext(bool authenticated, std::vector<std::string> pem_certs)
      : authenticated_(authenticated), pem_certs_(std::move(pem_certs)) {}

  bool IsPeerAuthenticated() const override { return authenticated_; }
  std::vector<grpc::string_ref> GetPeerIdentity() const override { return {}; }
  std::string GetPeerIdentityPropertyName() const override { return GRPC_X509_CN_PROPERTY_NAME; }
  std::vector<grpc::string_ref> FindPropertyValues(const std::string& name) const override {
    std::vector<grpc::string_ref> values;
    if (name == GRPC_X509_PEM_CERT_PROPERTY_NAME) {
      for (const std::string& pem : pem_certs_) values.emplace_back(pem);
    }
    return values;
  }
  grpc::AuthPropertyIterator begin() const override { return EmptyIterator(); }
  grpc::AuthPropertyIterator end() const override { return EmptyIterator(); }
  void AddProperty(const std::string&, const grpc::string_ref&) override {}
  bool SetPeerIdentityPropertyName(const std::string&) override { return false; }

 private:
  class EmptyIterator : public grpc::AuthPropertyIterator {};

  bool authenticated_;
  std::vector<std::string> pem_certs_;
};

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ht-tls-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = new std::filesystem::path(pattern);
    CommandResult ours = RunPkiScript("'" + Pki().string() + "'");
    ASSERT_EQ(ours.exit_code, 0) << ours.output;
    CommandResult foreign = RunPkiScript("'" + Foreign().string() + "' --foreign");
    ASSERT_EQ(foreign.exit_code, 0) << foreign.output;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*root_);
    delete root_;
    root_ = nullptr;
  }

  static std::filesystem::path Pki() { return *root_ / "pki"; }
  static std::filesystem::path Foreign() { return *root_ / "foreign"; }
  static std::filesystem::path Scratch() { return *root_; }

  static TlsFiles FilesFor(const std::string& name) {
    return {(Pki() / "ca.pem").string(), (Pki() / (name + ".pem")).string(),
            (Pki() / (name + ".key")).string()};
  }

  static std::filesystem::path* root_;
};

std::filesystem::path* TlsTest::root_ = nullptr;

TEST_F(TlsTest, LoadsGoodMaterialVerbatim) {
  const TlsFiles files = FilesFor("dr-alice");
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_EQ(material->ca_cert_pem, ReadFile(files.ca_cert_path));
  EXPECT_EQ(material->cert_pem, ReadFile(files.cert_path));
  EXPECT_EQ(material->key_pem, ReadFile(files.key_path));
}

TEST_F(TlsTest, MissingCertificateIsNotFoundNamingPathAndPart) {
  TlsFiles files = FilesFor("dr-alice");
  files.cert_path = (Scratch() / "no-such-cert.pem").string();
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  EXPECT_EQ(material.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(material.status().message(),
              AllOf(HasSubstr(files.cert_path), HasSubstr("certificate")));
}

TEST_F(TlsTest, MissingPrivateKeyIsNotFoundNamingPathAndPart) {
  TlsFiles files = FilesFor("dr-alice");
  files.key_path = (Scratch() / "no-such.key").string();
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  EXPECT_EQ(material.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(material.status().message(),
              AllOf(HasSubstr(files.key_path), HasSubstr("private key")));
}

TEST_F(TlsTest, MissingCaBundleIsNotFoundNamingPathAndPart) {
  TlsFiles files = FilesFor("dr-alice");
  files.ca_cert_path = (Scratch() / "no-such-ca.pem").string();
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  EXPECT_EQ(material.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(material.status().message(),
              AllOf(HasSubstr(files.ca_cert_path), HasSubstr("CA bundle")));
}

TEST_F(TlsTest, EmptyPathIsInvalidArgument) {
  TlsFiles files = FilesFor("dr-alice");
  files.key_path.clear();
  EXPECT_EQ(LoadTlsMaterial(files).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TlsTest, KeyOfAnotherIdentityIsInvalidArgumentNamingKey) {
  TlsFiles files = FilesFor("dr-alice");
  files.key_path = FilesFor("dr-bob").key_path;
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  EXPECT_EQ(material.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(material.status().message(),
              AllOf(HasSubstr(files.key_path), HasSubstr("does not match")));
}

TEST_F(TlsTest, UnparsableCertificateIsInvalidArgumentNamingFile) {
  TlsFiles files = FilesFor("dr-alice");
  files.cert_path = (Scratch() / "garbage.pem").string();
  WriteFile(files.cert_path,
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  EXPECT_EQ(material.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(material.status().message(), HasSubstr(files.cert_path));
}

TEST_F(TlsTest, CaBundleWithoutCertificateIsInvalidArgumentNamingFile) {
  TlsFiles files = FilesFor("dr-alice");
  files.ca_cert_path = (Scratch() / "empty-ca.pem").string();
  WriteFile(files.ca_cert_path, "");
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  EXPECT_EQ(material.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(material.status().message(), HasSubstr(files.ca_cert_path));
}

TEST_F(TlsTest, CertificateFromForeignCaIsInvalidArgument) {
  const TlsFiles files{FilesFor("dr-alice").ca_cert_path, (Foreign() / "intruder.pem").string(),
                       (Foreign() / "intruder.key").string()};
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  EXPECT_EQ(material.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(material.status().message(),
              AllOf(HasSubstr(files.cert_path), HasSubstr("not signed by CA bundle")));
}

TEST_F(TlsTest, ExpiredCertificateIsFailedPreconditionWithNotAfter) {
  constexpr long kDayS = 24 * 60 * 60;
  const TlsFiles files = IssueFromDevCa(Pki(), Scratch(), "expired",
                                        {{"O", "healthtwin"}, {"OU", "clinician"}, {"CN", "old"}},
                                        -10 * kDayS, -1 * kDayS);
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  EXPECT_EQ(material.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(material.status().message(),
              AllOf(HasSubstr(files.cert_path), HasSubstr("expired"), HasSubstr("notAfter 20")));
}

TEST_F(TlsTest, NotYetValidCertificateIsFailedPrecondition) {
  constexpr long kDayS = 24 * 60 * 60;
  const TlsFiles files = IssueFromDevCa(Pki(), Scratch(), "future",
                                        {{"O", "healthtwin"}, {"OU", "clinician"}, {"CN", "new"}},
                                        1 * kDayS, 10 * kDayS);
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  EXPECT_EQ(material.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(material.status().message(),
              AllOf(HasSubstr("not valid yet"), HasSubstr("notAfter")));
}

TEST_F(TlsTest, CredentialFactoriesSucceedOnGoodMaterial) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> server =
      MakeServerCredentials(FilesFor("twin"));
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_NE(*server, nullptr);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> channel =
      MakeChannelCredentials(FilesFor("dr-alice"));
  ASSERT_TRUE(channel.ok()) << channel.status();
  EXPECT_NE(*channel, nullptr);
}

TEST_F(TlsTest, CredentialFactoriesPassOnLoadErrors) {
  TlsFiles files = FilesFor("twin");
  files.key_path = FilesFor("ingest").key_path;
  EXPECT_EQ(MakeServerCredentials(files).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeChannelCredentials(files).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TlsTest, PeerIdentityReadsCnAndRoleFromEveryScriptIdentity) {
  const std::vector<std::pair<std::string, Role>> expected = {
      {"ingest", Role::kService},        {"twin", Role::kService},
      {"alerts", Role::kService},        {"simulation", Role::kService},
      {"clinician_api", Role::kService}, {"bridge-001", Role::kBridge},
      {"dr-alice", Role::kClinician},    {"dr-bob", Role::kClinician},
      {"cli-admin", Role::kAdmin}};
  for (const auto& [name, role] : expected) {
    FakeAuthContext context(true, {ReadFile(Pki() / (name + ".pem"))});
    absl::StatusOr<PeerIdentity> identity = PeerIdentityFromAuthContext(context);
    ASSERT_TRUE(identity.ok()) << name << ": " << identity.status();
    EXPECT_EQ(identity->common_name, name);
    EXPECT_EQ(identity->role, role) << name;
    EXPECT_EQ(identity->role_name, RoleName(role)) << name;
  }
}

TEST_F(TlsTest, UnauthenticatedPeerIsUnauthenticated) {
  FakeAuthContext context(false, {});
  EXPECT_EQ(PeerIdentityFromAuthContext(context).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TlsTest, PeerWithoutCertificateIsUnauthenticated) {
  FakeAuthContext context(true, {});
  EXPECT_EQ(PeerIdentityFromAuthContext(context).status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(TlsTest, UnknownOuGivesUnknownRoleButKeepsItsText) {
  const TlsFiles files =
      IssueFromDevCa(Pki(), Scratch(), "janitor",
                     {{"O", "healthtwin"}, {"OU", "janitor"}, {"CN", "jo"}}, -60, 3600);
  FakeAuthContext context(true, {ReadFile(files.cert_path)});
  absl::StatusOr<PeerIdentity> identity = PeerIdentityFromAuthContext(context);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->common_name, "jo");
  EXPECT_EQ(identity->role, Role::kUnknown);
  EXPECT_EQ(identity->role_name, "janitor");
}

TEST_F(TlsTest, SeveralOusGiveUnknownRole) {
  const TlsFiles files = IssueFromDevCa(
      Pki(), Scratch(), "greedy",
      {{"O", "healthtwin"}, {"OU", "clinician"}, {"OU", "admin"}, {"CN", "greedy"}}, -60, 3600);
  FakeAuthContext context(true, {ReadFile(files.cert_path)});
  absl::StatusOr<PeerIdentity> identity = PeerIdentityFromAuthContext(context);
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->role, Role::kUnknown);
  EXPECT_EQ(identity->role_name, "clinician,admin");
}

TEST_F(TlsTest, CertificateWithoutCnIsUnauthenticated) {
  const TlsFiles files = IssueFromDevCa(Pki(), Scratch(), "nameless",
                                        {{"O", "healthtwin"}, {"OU", "clinician"}}, -60, 3600);
  FakeAuthContext context(true, {ReadFile(files.cert_path)});
  EXPECT_EQ(PeerIdentityFromAuthContext(context).status().code(),
            absl::StatusCode::kUnauthenticated);
}

// A service's own certificate (the feeds record their deliveries as it names them).
TEST_F(TlsTest, OwnCertificatePemGivesTheSameIdentityAsAPeer) {
  absl::StatusOr<PeerIdentity> identity = IdentityFromCertificatePem(ReadFile(Pki() / "feeds.pem"));
  ASSERT_TRUE(identity.ok()) << identity.status();
  EXPECT_EQ(identity->common_name, "feeds");
  EXPECT_EQ(identity->role, Role::kService);
  EXPECT_EQ(IdentityFromCertificatePem("not a certificate").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(IdentityFromCertificatePem(ReadFile(Pki() / "feeds.key")).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(RoleNameTest, SpellsEachRoleAsItsOu) {
  EXPECT_EQ(RoleName(Role::kUnknown), "unknown");
  EXPECT_EQ(RoleName(Role::kService), "service");
  EXPECT_EQ(RoleName(Role::kBridge), "bridge");
  EXPECT_EQ(RoleName(Role::kClinician), "clinician");
  EXPECT_EQ(RoleName(Role::kNurse), "nurse");
  EXPECT_EQ(RoleName(Role::kResearcher), "researcher");
  EXPECT_EQ(RoleName(Role::kAdmin), "admin");
}

TEST_F(TlsTest, ScriptKeysAreOwnerOnly) {
  for (const auto& entry : std::filesystem::directory_iterator(Pki())) {
    if (entry.path().extension() != ".key") continue;
    const std::filesystem::perms perms = std::filesystem::status(entry.path()).permissions();
    EXPECT_EQ(perms & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
        << entry.path();
  }
}

TEST_F(TlsTest, ScriptSecondRunChangesNothing) {
  const std::string ca_before = ReadFile(Pki() / "ca.pem");
  const std::string alice_before = ReadFile(Pki() / "dr-alice.pem");
  CommandResult again = RunPkiScript("'" + Pki().string() + "'");
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("nothing to do"));
  EXPECT_EQ(ReadFile(Pki() / "ca.pem"), ca_before);
  EXPECT_EQ(ReadFile(Pki() / "dr-alice.pem"), alice_before);
}

std::string SanOf(const std::filesystem::path& cert) {
  CommandResult san = RunCommand("openssl x509 -in '" + cert.string() + "' -noout -ext subjectAltName | sed -n 2p");
  return std::string(absl::StripAsciiWhitespace(san.output));
}

TEST_F(TlsTest, ScriptGivesEachServiceOnlyItsOwnName) {
  // A name two services share (localhost, 127.0.0.1) would let one answer for the other.
  for (const std::string name : {"ingest", "twin", "alerts", "simulation", "clinician_api"}) {
    EXPECT_EQ(SanOf(Pki() / (name + ".pem")), "DNS:" + name);
  }
  EXPECT_EQ(SanOf(Pki() / "dr-alice.pem"), "");
}

TEST_F(TlsTest, ScriptReissuesAServerCertificateWithAnOutdatedSan) {
  const std::filesystem::path dir = Scratch() / "outdated-san";
  std::filesystem::copy(Pki(), dir);
  // What older versions of the script issued: a shared localhost name.
  const std::string d = "'" + dir.string() + "'";
  CommandResult old = RunCommand(
      "cd " + d +
      " && printf 'subjectAltName = DNS:twin, DNS:localhost, IP:127.0.0.1\\n' > old.ext && "
      "openssl req -new -key twin.key -subj '/O=healthtwin/OU=service/CN=twin' -out old.csr && "
      "openssl x509 -req -in old.csr -CA ca.pem -CAkey ca.key -set_serial 7 -days 30 -extfile old.ext -out twin.pem");
  ASSERT_EQ(old.exit_code, 0) << old.output;
  ASSERT_EQ(SanOf(dir / "twin.pem"), "DNS:twin, DNS:localhost, IP Address:127.0.0.1");
  const std::string alice_before = ReadFile(dir / "dr-alice.pem");
  const std::string ca_before = ReadFile(dir / "ca.pem");

  CommandResult again = RunPkiScript(d);
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_THAT(again.output, HasSubstr("twin.pem' has an outdated SAN"));
  EXPECT_EQ(SanOf(dir / "twin.pem"), "DNS:twin");
  EXPECT_TRUE(
      LoadTlsMaterial({(dir / "ca.pem").string(), (dir / "twin.pem").string(), (dir / "twin.key").string()}).ok());
  EXPECT_EQ(ReadFile(dir / "ca.pem"), ca_before);
  EXPECT_EQ(ReadFile(dir / "dr-alice.pem"), alice_before);
  EXPECT_THAT(RunPkiScript(d).output, HasSubstr("nothing to do"));
}

TEST_F(TlsTest, ScriptRefusesToMixForeignCaIntoOurs) {
  CommandResult mixed = RunPkiScript("'" + Pki().string() + "' --foreign");
  EXPECT_NE(mixed.exit_code, 0);
  EXPECT_THAT(mixed.output, HasSubstr("separate OUTDIR"));
}

TEST(MakeDevPkiScriptTest, BadUsageExitsWithTwo) {
  EXPECT_EQ(RunPkiScript("").exit_code, 2);
  EXPECT_EQ(RunPkiScript("--no-such-flag /tmp/x").exit_code, 2);
  EXPECT_EQ(RunPkiScript("/tmp/a /tmp/b").exit_code, 2);
}

}  // namespace
}  // namespace healthtwin::common
