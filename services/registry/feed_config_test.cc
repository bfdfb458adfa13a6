// The feed configuration checks: each bad field is refused with its name in the message.
#include "services/registry/feed_config.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace healthtwin::registry {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A freshly generated self-signed certificate, PEM-encoded (no files, no fixed test data).
std::string SelfSignedPem() {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("feed test ca"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  X509_set_pubkey(cert.get(), key.get());
  X509_sign(cert.get(), key.get(), EVP_sha256());
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509(bio.get(), cert.get());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

FeedConfig GoodMllp() {
  FeedConfig f;
  f.name = "ward-7.hl7";
  f.kind = FeedKind::kHl7v2Mllp;
  f.target = "engine.hospital.example:2575";
  f.send_alerts = true;
  return f;
}

FeedConfig GoodFhir() {
  FeedConfig f;
  f.name = "fhir-hub";
  f.kind = FeedKind::kFhirRestHook;
  f.target = "https://fhir.hospital.example/r4";
  f.tls = true;
  f.send_vitals = true;
  return f;
}

std::string Msg(const absl::Status& s) { return std::string(s.message()); }
std::string Error(const FeedConfig& f) { return Msg(ValidateFeedConfig(f)); }

TEST(FeedConfigTest, AcceptsAnMllpAndAFhirFeed) {
  EXPECT_TRUE(ValidateFeedConfig(GoodMllp()).ok()) << Error(GoodMllp());
  EXPECT_TRUE(ValidateFeedConfig(GoodFhir()).ok()) << Error(GoodFhir());
}

TEST(FeedConfigTest, KindNamesRoundTripAndUnknownKindsAreRefused) {
  EXPECT_EQ(ParseFeedKind(FeedKindName(FeedKind::kHl7v2Mllp)), FeedKind::kHl7v2Mllp);
  EXPECT_EQ(ParseFeedKind(FeedKindName(FeedKind::kFhirRestHook)), FeedKind::kFhirRestHook);
  EXPECT_EQ(ParseFeedKind("hl7"), std::nullopt);
  EXPECT_EQ(ParseFeedKind(""), std::nullopt);
}

TEST(FeedConfigTest, RefusesBadNames) {
  for (const char* name :
       {"", "Ward7", "-ward", "ward 7", "ward/7", "a123456789012345678901234567890123456789012345678"}) {
    FeedConfig f = GoodMllp();
    f.name = name;
    EXPECT_THAT(Error(f), StartsWith("feed.name: ")) << name;
  }
}

TEST(FeedConfigTest, MllpTargetIsHostAndPortOneTo65535) {
  for (const char* target : {"10.0.0.5:2575", "[::1]:2575", "engine:1", "engine:65535"}) {
    EXPECT_TRUE(CheckFeedTarget("t", FeedKind::kHl7v2Mllp, target).ok()) << target;
  }
  for (const char* target : {"engine", "engine:", "engine:0", "engine:65536", "engine:-1", "engine:+25", "engine:25x",
                             ":2575", "https://engine:2575", "eng ine:2575", "engine:99999999999"}) {
    const auto s = CheckFeedTarget("feed.target", FeedKind::kHl7v2Mllp, target);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << target;
    EXPECT_THAT(Msg(s), StartsWith("feed.target: ")) << target;
  }
}

TEST(FeedConfigTest, FhirTargetIsAnHttpsBaseUrl) {
  for (const char* target : {"https://fhir.example", "https://fhir.example:8443/r4/", "https://[::1]:8443/fhir"}) {
    EXPECT_TRUE(CheckFeedTarget("t", FeedKind::kFhirRestHook, target).ok()) << target;
  }
  for (const char* target : {"http://fhir.example/r4", "fhir.example:443", "https://", "https://fhir.example:0/r4",
                             "https://fhir.example/r4?x=1", "https://user:pw@fhir.example/", "https://fh ir/"}) {
    const auto s = CheckFeedTarget("feed.target", FeedKind::kFhirRestHook, target);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << target;
    EXPECT_THAT(Msg(s), StartsWith("feed.target: ")) << target;
  }
}

TEST(FeedConfigTest, CaMustBePemCertificates) {
  const std::string pem = SelfSignedPem();
  EXPECT_TRUE(CheckCaPem("ca", pem).ok());
  EXPECT_TRUE(CheckCaPem("ca", pem + "\n" + pem).ok());
  EXPECT_THAT(Msg(CheckCaPem("feed.tls.ca_pem", "hello")), "feed.tls.ca_pem: not a PEM X.509 certificate");
  EXPECT_THAT(Msg(CheckCaPem("feed.tls.ca_pem", "")), "feed.tls.ca_pem: not a PEM X.509 certificate");
  std::string broken = pem;
  broken[broken.size() / 2] = broken[broken.size() / 2] == 'A' ? 'B' : 'A';
  broken.insert(broken.size() / 2, "!!");
  EXPECT_THAT(Msg(CheckCaPem("feed.tls.ca_pem", broken)), StartsWith("feed.tls.ca_pem: "));
  EXPECT_THAT(
      Msg(CheckCaPem("feed.tls.ca_pem", pem + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")),
      HasSubstr("not an X.509 certificate (a key?) besides its certificates"));
}

TEST(FeedConfigTest, TlsOptionsNeedTlsAndFhirNeedsTls) {
  FeedConfig f = GoodMllp();
  f.tls_client_cert = true;
  EXPECT_THAT(Error(f), StartsWith("feed.tls.enabled: "));
  f = GoodMllp();
  f.tls = true;
  f.tls_ca_pem = "not a cert";
  EXPECT_THAT(Error(f), StartsWith("feed.tls.ca_pem: "));
  f.tls_ca_pem = SelfSignedPem();
  EXPECT_TRUE(ValidateFeedConfig(f).ok()) << Error(f);
  f = GoodFhir();
  f.tls = false;
  EXPECT_THAT(Error(f), StartsWith("feed.tls.enabled: "));
}

TEST(FeedConfigTest, RefusesEmptyContentAndBadPriority) {
  FeedConfig f = GoodMllp();
  f.send_alerts = false;
  EXPECT_THAT(Error(f), StartsWith("feed.content: "));
  for (int p : {0, 4, -1}) {
    f = GoodMllp();
    f.min_priority = p;
    EXPECT_THAT(Error(f), StartsWith("feed.min_priority: ")) << p;
  }
}

TEST(FeedConfigTest, RefusesBadFiltersAndHl7Names) {
  FeedConfig f = GoodMllp();
  f.patient_ids = {"pat-1", "pat 2"};
  EXPECT_THAT(Error(f), StartsWith("feed.patient_ids: "));
  f.patient_ids = {"pat:1"};
  EXPECT_THAT(Error(f), StartsWith("feed.patient_ids: "));
  f = GoodMllp();
  f.care_team_of = "dr alice";
  EXPECT_THAT(Error(f), StartsWith("feed.care_team_of: "));
  f = GoodMllp();
  f.sending_facility = "WARD|7";
  EXPECT_THAT(Error(f), StartsWith("feed.sending_facility: "));
  f = GoodMllp();
  f.receiving_application = std::string(228, 'A');
  EXPECT_THAT(Error(f), StartsWith("feed.receiving_application: "));
}

}  // namespace
}  // namespace healthtwin::registry
