// One extra certificate from a development CA (deploy/pki/make-dev-pki.sh), for shapes the
// script never issues: an expired certificate, or a fresh one for a test to revoke with
// deploy/pki/revoke.sh. The keys stay in the test's temporary directory (never committed).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace healthtwin::testing {

struct DevCertificateSpec {
  std::string name;  // the subject's CN, and the file names <name>.pem / <name>.key
  std::string role;  // the subject's OU: clinician, nurse, admin, ...
  // Validity relative to now, in seconds (negative: in the past).
  int64_t not_before_offset_s = -60;
  int64_t not_after_offset_s = 86'400;
};

// Signs a client certificate (EC P-256 key, random serial, extendedKeyUsage clientAuth) with the
// CA in `pki_dir` (ca.pem, ca.key) and writes out_dir/<name>.pem and out_dir/<name>.key (0600).
// Errors name the file or the OpenSSL step that failed.
absl::Status IssueDevCertificate(const std::string& pki_dir, const std::string& out_dir,
                                 const DevCertificateSpec& spec);

}  // namespace healthtwin::testing
