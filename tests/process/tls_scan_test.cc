// The TLS policy check (tls_scan.h) against a server configured to break it, so the scans of our
// own ports are known to be able to fail: openssl s_server, the real OpenSSL server, with TLS
// 1.0 and every suite allowed is caught on each count; restricted to TLS 1.2 and one AEAD suite
// it passes.
#include "tests/process/tls_scan.h"

#include <regex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::testing {
namespace {

using ::testing::Contains;
using ::testing::IsEmpty;

class TlsScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pki = SharedDevPki(HT_PKI_SCRIPT, HT_PKI_CACHE_DIR);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
  }

  // openssl s_server on a free port with `policy` (its -cipher and protocol flags), requiring a
  // client certificate from the development CA, as our ports do. Returns the port, 0 on failure.
  int StartServer(const std::vector<std::string>& policy) {
    std::vector<std::string> args = {"s_server",
                                     "-accept",
                                     "127.0.0.1:0",
                                     "-cert",
                                     pki_ + "/ingest.pem",
                                     "-key",
                                     pki_ + "/ingest.key",
                                     "-CAfile",
                                     pki_ + "/ca.pem",
                                     "-Verify",
                                     "1",
                                     "-www"};
    args.insert(args.end(), policy.begin(), policy.end());
    auto server = Subprocess::Spawn("/usr/bin/openssl", args);
    if (!server.ok()) {
      ADD_FAILURE() << server.status();
      return 0;
    }
    server_ = *std::move(server);
    static const std::regex kAccept(R"(ACCEPT 127\.0\.0\.1:(\d+))");
    std::smatch m;
    std::string out;
    PollUntil(
        [&] {
          out = server_->Stdout();
          return std::regex_search(out, m, kAccept) || !server_->Running();
        },
        std::chrono::seconds(10));
    if (m.empty()) ADD_FAILURE() << "s_server did not listen: " << out << server_->Stderr();
    return m.empty() ? 0 : std::stoi(m[1].str());
  }

  std::string pki_;
  std::unique_ptr<Subprocess> server_;
};

TEST_F(TlsScanTest, AServerWithOldProtocolsAndNonAeadSuitesIsCaughtOnEachCount) {
  const int port = StartServer(
      {"-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA:@SECLEVEL=0",
       "-min_protocol", "TLSv1"});
  ASSERT_GT(port, 0);
  auto scan = ScanTls(port, PkiIdentity(pki_, "twin"));
  ASSERT_TRUE(scan.ok()) << scan.status();
  const std::vector<std::string> violations = TlsPolicyViolations(*scan);
  EXPECT_THAT(violations, Contains("protocol tls1.0 is enabled")) << scan->xml;
  EXPECT_THAT(violations, Contains("protocol tls1.1 is enabled")) << scan->xml;
  EXPECT_THAT(violations, Contains("suite TLSv1.2 ECDHE-ECDSA-AES128-SHA256 is not AEAD")) << scan->xml;
  EXPECT_THAT(violations, Contains("suite TLSv1.2 ECDHE-ECDSA-AES256-SHA is not AEAD")) << scan->xml;
  EXPECT_THAT(violations, ::testing::Not(Contains("suite TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256 is not AEAD")));
}

TEST_F(TlsScanTest, AServerWithTls12AndOneAeadSuitePasses) {
  const int port =
      StartServer({"-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256", "-min_protocol", "TLSv1.2", "-max_protocol", "TLSv1.2"});
  ASSERT_GT(port, 0);
  auto scan = ScanTls(port, PkiIdentity(pki_, "twin"));
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(TlsPolicyViolations(*scan), IsEmpty()) << scan->xml;
  EXPECT_EQ(scan->protocols, std::vector<std::string>{"tls1.2"});
  EXPECT_EQ(scan->suites, std::vector<std::string>{"TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256"});
}

}  // namespace
}  // namespace healthtwin::testing
