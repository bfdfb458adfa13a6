#include "tests/process/tls_scan.h"

#include <filesystem>
#include <regex>

#include "tests/harness/subprocess.h"

namespace healthtwin::testing {

absl::StatusOr<TlsScan> ScanTls(int port, const ClientIdentity& client) {
  constexpr char kSslscan[] = "/usr/bin/sslscan";
  if (!std::filesystem::exists(kSslscan)) {
    return absl::FailedPreconditionError("sslscan is not installed (scripts/bootstrap.sh installs it)");
  }
  // Heartbleed and the key-exchange groups are not what the policy is about, and take most of
  // the time.
  auto scan = Subprocess::Spawn(
      kSslscan, {"--xml=-", "--no-colour", "--no-heartbleed", "--no-groups", "--certs=" + client.cert_path,
                 "--pk=" + client.key_path, "127.0.0.1:" + std::to_string(port)});
  if (!scan.ok()) return scan.status();
  auto exit = (*scan)->Wait(std::chrono::seconds(60));
  if (!exit.ok()) return exit.status();
  TlsScan out;
  out.xml = (*scan)->Stdout();
  if (!exit->exited || exit->code != 0) {
    return absl::InternalError("sslscan failed: " + (*scan)->Stderr() + out.xml);
  }
  // sslscan's XML report has one element a line: <protocol type="tls" version="1.2" enabled="1" />
  // and <cipher status="accepted|preferred" sslversion="TLSv1.2" ... cipher="NAME" ... />.
  static const std::regex kProtocol(R"re(<protocol type="(\w+)" version="([\d.]+)" enabled="1")re");
  static const std::regex kCipher(
      R"re(<cipher status="(?:accepted|preferred)" sslversion="([^"]+)"[^>]* cipher="([^"]+)")re");
  for (auto it = std::sregex_iterator(out.xml.begin(), out.xml.end(), kProtocol); it != std::sregex_iterator(); ++it) {
    out.protocols.push_back((*it)[1].str() + (*it)[2].str());
  }
  for (auto it = std::sregex_iterator(out.xml.begin(), out.xml.end(), kCipher); it != std::sregex_iterator(); ++it) {
    out.suites.push_back((*it)[1].str() + " " + (*it)[2].str());
  }
  if (out.protocols.empty()) return absl::InternalError("sslscan found no TLS protocol on the port:\n" + out.xml);
  return out;
}

std::vector<std::string> TlsPolicyViolations(const TlsScan& scan) {
  std::vector<std::string> out;
  for (const std::string& p : scan.protocols) {
    if (p != "tls1.2" && p != "tls1.3") out.push_back("protocol " + p + " is enabled");
  }
  // AEAD suites by name, OpenSSL's (…-GCM-…, …-CHACHA20-POLY1305, …-CCM…) and TLS 1.3's
  // (TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256).
  static const std::regex kAead("GCM|CHACHA20.POLY1305|CCM");
  for (const std::string& s : scan.suites) {
    if (!std::regex_search(s, kAead)) out.push_back("suite " + s + " is not AEAD");
  }
  return out;
}

}  // namespace healthtwin::testing
