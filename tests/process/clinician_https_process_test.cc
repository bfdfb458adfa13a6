// healthtwin-clinician-api's HTTPS listener as an operator runs it (the real binary): with
// --https-port 0 it writes the bound port to <port-file>.https before the gRPC port file, serves
// the FHIR metadata over mutual TLS, and on SIGTERM stops both listeners, exits 0 and removes
// both port files; a bad --https-port exits 2 with one line naming the flag.
#include <signal.h>

#include <chrono>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/process/process_test_support.h"
#include "tests/process/tls_scan.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

class ClinicianHttpsProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(work_.ok());
    auto pki = SharedDevPki(HT_PKI_SCRIPT, HT_PKI_CACHE_DIR);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = *pki;
  }

  std::vector<std::string> Args(const std::string& https_port) const {
    return {"--tls-ca",
            pki_ + "/ca.pem",
            "--tls-cert",
            pki_ + "/clinician_api.pem",
            "--tls-key",
            pki_ + "/clinician_api.key",
            "--db",
            kUnreachableDb,  // the metadata needs no database
            "--listen",
            "127.0.0.1:0",
            "--port-file",
            work_ / "port",
            "--https-port",
            https_port,
            "--drain-timeout-s",
            "4",
            "--ingest-addr",
            "127.0.0.1:1",
            "--alerts-addr",
            "127.0.0.1:1",
            "--twin-addr",
            "127.0.0.1:1",
            "--simulation-addr",
            "127.0.0.1:1"};
  }

  // curl GET of `path` as dr-alice; the HTTP status, or 0 when no response came.
  int CurlStatus(int port, const std::string& path) {
    const std::string host = "clinician_api:" + std::to_string(port);
    auto curl = Subprocess::Spawn("/usr/bin/curl",
                                  {"-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                                   pki_ + "/ca.pem", "--cert", pki_ + "/dr-alice.pem", "--key", pki_ + "/dr-alice.key",
                                   "--resolve", host + ":127.0.0.1", "https://" + host + path});
    if (!curl.ok()) return 0;
    auto exit = RunToExit(**curl);
    if (!exit.ok()) return 0;
    return std::atoi((*curl)->Stdout().c_str());
  }

  TempDir work_;
  std::string pki_;
};

TEST_F(ClinicianHttpsProcessTest, ServesHttpsOnItsPortFileAndSigtermStopsBothListeners) {
  auto process = StartListening(HT_CLINICIAN_API_BIN, Args("0"), work_ / "port");
  ASSERT_TRUE(process.ok()) << process.status();
  // Written before the gRPC port file, so it is there now.
  const int https_port = PortInFile(work_ / "port.https");
  ASSERT_GT(https_port, 0) << (*process)->Stderr();
  EXPECT_NE(https_port, PortInFile(work_ / "port"));
  EXPECT_EQ(CurlStatus(https_port, "/fhir/r4/metadata"), 200) << (*process)->Stderr();

  const auto signalled = std::chrono::steady_clock::now();
  ASSERT_TRUE((*process)->Signal(SIGTERM).ok());
  auto exit = (*process)->Wait(20s);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit code 0") << (*process)->Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 4s);
  EXPECT_THAT((*process)->Stderr(), HasSubstr("\"event\":\"https.stopped\""));
  EXPECT_FALSE(fs::exists(work_ / "port.https")) << "a port file must not outlive the listener";
  EXPECT_FALSE(fs::exists(work_ / "port"));
  EXPECT_EQ(CurlStatus(https_port, "/fhir/r4/metadata"), 0) << "still answering after exit";
}

TEST_F(ClinicianHttpsProcessTest, ABadHttpsPortExits2WithOneLineNamingTheFlag) {
  auto process = Subprocess::Spawn(HT_CLINICIAN_API_BIN, Args("70000"));
  ASSERT_TRUE(process.ok()) << process.status();
  auto exit = RunToExit(**process);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_EQ(exit->ToString(), "exit code 2");
  const std::string err = (*process)->Stderr();
  EXPECT_EQ(NonEmptyLines(err).size(), 1u) << err;
  EXPECT_THAT(err, HasSubstr("--https-port"));
  EXPECT_FALSE(fs::exists(work_ / "port.https"));
}

// The HTTPS listener (cpp-httplib over OpenSSL, not gRPC's TLS) meets the same policy as the
// gRPC ports: TLS 1.2 or 1.3, AEAD suites only (issue 13 item 6).
TEST_F(ClinicianHttpsProcessTest, ItsHttpsPortOffersOnlyTls12Or13WithAeadSuites) {
  auto process = StartListening(HT_CLINICIAN_API_BIN, Args("0"), work_ / "port");
  ASSERT_TRUE(process.ok()) << process.status();
  const int https_port = PortInFile(work_ / "port.https");
  ASSERT_GT(https_port, 0);
  auto scan = ScanTls(https_port, PkiIdentity(pki_, "dr-alice"));
  ASSERT_TRUE(scan.ok()) << scan.status();
  EXPECT_THAT(TlsPolicyViolations(*scan), ::testing::IsEmpty()) << scan->xml;
  EXPECT_FALSE(scan->suites.empty()) << scan->xml;
}

}  // namespace
}  // namespace healthtwin::testing
