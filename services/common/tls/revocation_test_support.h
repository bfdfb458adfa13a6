// Test support: a fresh copy of the development PKI per test, and the real revoke.sh to revoke
// in it, so revocation tests exercise the same openssl CA commands an operator runs.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "services/common/tls/tls.h"
#include "tests/harness/dev_pki.h"

namespace healthtwin::common::testing {

class RevocationPki {
 public:
  // Makes the pristine healthtwin and foreign PKIs once per test binary.
  static void MakeOnce() {
    if (pristine_ != nullptr) return;
    std::string pattern = (std::filesystem::temp_directory_path() / "ht-crl-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    pristine_ = new std::filesystem::path(pattern);
    for (const bool foreign : {false, true}) {
      const std::string dir = (*pristine_ / (foreign ? "foreign" : "pki")).string();
      const absl::Status made = healthtwin::testing::MakeDevPki(HT_PKI_SCRIPT, dir, foreign);
      ASSERT_TRUE(made.ok()) << made;
    }
  }
  static void RemoveAll() {
    if (pristine_ != nullptr) std::filesystem::remove_all(*pristine_);
    delete pristine_;
    pristine_ = nullptr;
  }

  // A private copy of the pristine PKI (revocations in one test never leak into another).
  explicit RevocationPki(const std::string& test_name) : dir_(*pristine_ / test_name) {
    std::filesystem::remove_all(dir_);
    std::filesystem::copy(*pristine_ / "pki", dir_, std::filesystem::copy_options::recursive);
  }

  // Server or client files for `name`, with the CRL configured.
  TlsFiles Files(const std::string& name) const {
    TlsFiles files{(dir_ / "ca.pem").string(), (dir_ / (name + ".pem")).string(), (dir_ / (name + ".key")).string()};
    files.crl_path = Crl();
    return files;
  }
  std::string Crl() const { return (dir_ / "crl.pem").string(); }
  std::string ForeignCrl() const { return (*pristine_ / "foreign" / "crl.pem").string(); }

  // deploy/pki/revoke.sh --cert <name>.pem (rewrites crl.pem).
  void Revoke(const std::string& name) const {
    Run(std::string("'") + HT_REVOKE_SCRIPT + "' --pki '" + dir_.string() + "' --cert '" + (dir_ / (name + ".pem")).string() + "'");
  }
  // A CRL from a CA with our CA's exact name but another key (what a forger would make).
  std::string ImpostorCrl() const {
    const std::filesystem::path dir = dir_ / "impostor";
    std::filesystem::create_directories(dir);
    Run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "
        "'/O=healthtwin/OU=dev-ca/CN=healthtwin development CA' -keyout '" +
        (dir / "ca.key").string() + "' -out '" + (dir / "ca.pem").string() + "' 2>/dev/null");
    Run(std::string("'") + HT_REVOKE_SCRIPT + "' --pki '" + dir.string() + "' --crl-only");
    return (dir / "crl.pem").string();
  }
  // Reissues crl.pem with a nextUpdate in the past (and everything revoked so far).
  void IssueExpiredCrl() const {
    Run(std::string("'") + HT_REVOKE_SCRIPT + "' --pki '" + dir_.string() + "' --crl-only --crl-window 20200101000000Z 20200102000000Z");
  }

 private:
  static void Run(const std::string& command) {
    const int status = std::system((command + " >/dev/null").c_str());
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << command;
  }

  static inline std::filesystem::path* pristine_ = nullptr;
  std::filesystem::path dir_;
};

}  // namespace healthtwin::common::testing
