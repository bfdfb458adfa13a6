// What a TLS port offers, as sslscan (Debian package sslscan 2.0) finds it from outside, and the
// policy every healthtwin port must meet (issue 13 item 6): TLS 1.2 or 1.3 only, and only AEAD
// cipher suites (AES-GCM, ChaCha20-Poly1305, AES-CCM).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/process/process_test_support.h"

namespace healthtwin::testing {

struct TlsScan {
  std::vector<std::string> protocols;  // enabled, as sslscan names them: "tls1.2", "ssl3", ...
  std::vector<std::string> suites;     // accepted, "<sslversion> <cipher>": "TLSv1.2 ECDHE-ECDSA-AES128-GCM-SHA256"
  std::string xml;                     // sslscan's whole report
};

// Runs /usr/bin/sslscan against 127.0.0.1:port presenting `client` (our ports require a client
// certificate before they finish a handshake), bounded to 60 s. FailedPrecondition when sslscan
// is not installed; Internal when it fails or finds no protocol at all.
absl::StatusOr<TlsScan> ScanTls(int port, const ClientIdentity& client);

// Each enabled protocol other than TLS 1.2 and 1.3, and each suite that is not AEAD, as a line.
std::vector<std::string> TlsPolicyViolations(const TlsScan& scan);

}  // namespace healthtwin::testing
