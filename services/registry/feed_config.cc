#include "services/registry/feed_config.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "services/registry/check_id.h"

namespace healthtwin::registry {
namespace {

constexpr std::size_t kMaxCaPemBytes = 64 * 1024;
// HD-1 (namespace id) is IS, 20 characters in v2.5 and 227 in HL7 v2.6 section 2.A.33.
constexpr std::size_t kMaxHl7NameChars = 227;

// Abseil on Debian 12 does not alias std::string_view, so absl::StrCat does not take one.
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

absl::Status Bad(std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(Cat(field, ": ", why));
}

// A DNS name (letters, digits, '-', '.', '_'), an IPv4 address, or an IPv6 address in brackets.
bool IsHost(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    for (char c : host.substr(1, host.size() - 2)) {
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return false;
    }
    return true;
  }
  if (host.front() == '.' || host.front() == '-') return false;
  for (char c : host) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) return false;
  }
  return true;
}

// "host:port" with port 1-65535.
absl::Status CheckHostPort(std::string_view field, std::string_view text, std::string_view expected) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Bad(field, Cat("expected ", expected, ", got '", text, "'"));
  }
  const std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (!IsHost(host)) return Bad(field, Cat("'", host, "' is not a host name or address"));
  int port = 0;
  if (port_text.empty() || port_text.size() > 5 || !absl::SimpleAtoi(std::string(port_text), &port) ||
      !absl::ascii_isdigit(static_cast<unsigned char>(port_text.front())) || port < 1 || port > 65535) {
    return Bad(field, Cat("port must be 1-65535, got '", port_text, "'"));
  }
  return absl::OkStatus();
}

absl::Status CheckHl7Name(std::string_view field, std::string_view value) {
  if (value.size() > kMaxHl7NameChars) return Bad(field, "longer than 227 characters");
  for (char c : value) {
    if (c == '|' || c == '^' || c == '~' || c == '\\' || c == '&') {
      return Bad(field, "may not contain the HL7 delimiters | ^ ~ \\ &");
    }
    if (!absl::ascii_isprint(static_cast<unsigned char>(c))) return Bad(field, "printable ASCII only");
  }
  return absl::OkStatus();
}

}  // namespace

std::string_view FeedKindName(FeedKind kind) {
  switch (kind) {
    case FeedKind::kHl7v2Mllp:
      return "hl7v2-mllp";
    case FeedKind::kFhirRestHook:
      return "fhir-rest-hook";
  }
  return "";
}

std::optional<FeedKind> ParseFeedKind(std::string_view name) {
  if (name == "hl7v2-mllp") return FeedKind::kHl7v2Mllp;
  if (name == "fhir-rest-hook") return FeedKind::kFhirRestHook;
  return std::nullopt;
}

absl::Status CheckFeedName(std::string_view field, std::string_view name) {
  if (name.empty()) return Bad(field, "required");
  if (name.size() > 48) return Bad(field, "longer than 48 characters");
  if (!(absl::ascii_islower(name.front()) || absl::ascii_isdigit(name.front()))) {
    return Bad(field, "must start with a lower-case letter or digit");
  }
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '_' || c == '-')) {
      return Bad(field, "may contain only lower-case letters, digits and . _ -");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckFeedTarget(std::string_view field, FeedKind kind, std::string_view target) {
  if (target.empty()) return Bad(field, "required");
  if (target.size() > 2048) return Bad(field, "longer than 2048 characters");
  if (kind == FeedKind::kHl7v2Mllp) {
    if (target.find("://") != std::string_view::npos) {
      return Bad(field, Cat("an hl7v2-mllp target is host:port, not a URL, got '", target, "'"));
    }
    return CheckHostPort(field, target, "host:port for an hl7v2-mllp feed");
  }
  constexpr std::string_view kScheme = "https://";
  if (!target.starts_with(kScheme)) {
    return Bad(field, Cat("a fhir-rest-hook target is an https:// base URL, got '", target, "'"));
  }
  std::string_view rest = target.substr(kScheme.size());
  for (char c : rest) {
    if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) return Bad(field, "the URL may not contain spaces");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Bad(field, "a FHIR base URL has no query or fragment");
  }
  const std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string_view::npos) {
    return Bad(field, "credentials do not belong in the URL");
  }
  // A port is optional in a URL; without one the authority is just the host.
  const std::size_t colon = authority.rfind(':');
  const bool has_port = colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos;
  if (has_port) return CheckHostPort(field, authority, "https://host[:port][/path]");
  if (!IsHost(authority)) return Bad(field, Cat("'", authority, "' is not a host name or address"));
  return absl::OkStatus();
}

absl::Status CheckCaPem(std::string_view field, std::string_view pem) {
  if (pem.size() > kMaxCaPemBytes) return Bad(field, "larger than 64 KiB");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return absl::ResourceExhaustedError("CA check: out of memory");
  int certificates = 0;
  while (true) {
    std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
                                                     &X509_free);
    if (!cert) break;
    ++certificates;
  }
  ERR_clear_error();  // the read that ends the loop always leaves "no start line" behind
  if (certificates == 0) return Bad(field, "not a PEM X.509 certificate");
  // PEM_read_bio_X509 skips blocks of other types (a key, a CSR), and text between blocks as a
  // bundle's "subject=" lines: every block must have been a certificate.
  int blocks = 0;
  for (std::size_t at = pem.find("-----BEGIN "); at != std::string_view::npos; at = pem.find("-----BEGIN ", at + 1)) {
    ++blocks;
  }
  if (blocks != certificates) {
    return Bad(field, "holds a PEM block that is not an X.509 certificate (a key?) besides its certificates");
  }
  return absl::OkStatus();
}

absl::Status ValidateFeedConfig(const FeedConfig& feed) {
  if (auto s = CheckFeedName("feed.name", feed.name); !s.ok()) return s;
  if (auto s = CheckFeedTarget("feed.target", feed.kind, feed.target); !s.ok()) return s;
  if (feed.kind == FeedKind::kFhirRestHook && !feed.tls) {
    return Bad("feed.tls.enabled", "a fhir-rest-hook feed always uses TLS (its target is https://)");
  }
  if (!feed.tls && (!feed.tls_ca_pem.empty() || feed.tls_client_cert)) {
    return Bad("feed.tls.enabled", "a CA or a client certificate needs TLS");
  }
  if (!feed.tls_ca_pem.empty()) {
    if (auto s = CheckCaPem("feed.tls.ca_pem", feed.tls_ca_pem); !s.ok()) return s;
  }
  if (!feed.send_alerts && !feed.send_vitals) return Bad("feed.content", "name alerts, vitals or both");
  if (feed.min_priority < 1 || feed.min_priority > 3) return Bad("feed.min_priority", "must be low, medium or high");
  if (feed.patient_ids.size() > 10000) return Bad("feed.patient_ids", "at most 10000");
  for (const std::string& p : feed.patient_ids) {
    if (auto s = CheckId("feed.patient_ids", p); !s.ok()) return s;
    if (p.find(':') != std::string::npos) return Bad("feed.patient_ids", "may not contain ':'");
  }
  if (!feed.care_team_of.empty()) {
    if (auto s = CheckId("feed.care_team_of", feed.care_team_of); !s.ok()) return s;
  }
  if (auto s = CheckHl7Name("feed.sending_application", feed.sending_application); !s.ok()) return s;
  if (auto s = CheckHl7Name("feed.sending_facility", feed.sending_facility); !s.ok()) return s;
  if (auto s = CheckHl7Name("feed.receiving_application", feed.receiving_application); !s.ok()) return s;
  if (auto s = CheckHl7Name("feed.receiving_facility", feed.receiving_facility); !s.ok()) return s;
  return absl::OkStatus();
}

}  // namespace healthtwin::registry
