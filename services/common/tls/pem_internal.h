// PEM-file helpers of tls.cc that revocation.cc shares, so both read files and report OpenSSL
// errors the same way. Internal to services/common/tls.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthtwin::common::tls_internal {

struct X509Deleter {
  void operator()(X509* cert) const;
};
using OwnedX509 = std::unique_ptr<X509, X509Deleter>;

// The file's contents (at most 1 MiB). NotFound/InvalidArgument naming `part` and `path`.
absl::StatusOr<std::string> ReadTlsFile(const std::string& path, absl::string_view part);

// Every certificate in `pem`, in order; at least one. InvalidArgument naming `part` and `path`.
absl::StatusOr<std::vector<OwnedX509>> ParsePemCertificates(const std::string& pem, const std::string& path,
                                                            absl::string_view part);

// The newest entry of this thread's OpenSSL error queue, as text.
std::string OpenSslErrorText();

// "2026-12-07T05:03:43Z", or "(unreadable date)".
std::string Asn1TimeText(const ASN1_TIME* time);

// One-line X.509 name, e.g. "/O=healthtwin/OU=dev-ca/CN=healthtwin development CA".
std::string NameOneLine(const X509_NAME* name);

}  // namespace healthtwin::common::tls_internal
