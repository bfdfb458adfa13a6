// A hospital feed's configuration (issue 12) and the checks it must pass before it is stored.
//
// Plain C++: the registry's gRPC edge maps the proto onto FeedConfig and the CLI checks its
// arguments with the same functions, so an admin gets the same one-line error from both. Every
// error is INVALID_ARGUMENT and starts with the name of the bad field ("feed.target: ...");
// callers pass the field names their users see. Thread-safe: no state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace healthtwin::registry {

enum class FeedKind { kHl7v2Mllp, kFhirRestHook };

// "hl7v2-mllp", "fhir-rest-hook" (the names in the database, the CLI and the docs).
std::string_view FeedKindName(FeedKind kind);
std::optional<FeedKind> ParseFeedKind(std::string_view name);

struct FeedConfig {
  std::string name;
  FeedKind kind = FeedKind::kHl7v2Mllp;
  std::string target;
  bool tls = false;
  std::string tls_ca_pem;  // empty: the system trust store
  bool tls_client_cert = false;
  bool send_alerts = false;
  bool send_vitals = false;
  std::vector<std::string> patient_ids;
  std::string care_team_of;
  int min_priority = 1;  // healthtwin.alerts.v1.Priority: 1 low, 2 medium, 3 high
  std::string sending_application = "HEALTHTWIN";
  std::string sending_facility, receiving_application, receiving_facility;
};

// 1-48 of [a-z0-9._-], starting with a letter or digit (the schema's CHECK).
absl::Status CheckFeedName(std::string_view field, std::string_view name);

// hl7v2-mllp: "host:port", port 1-65535, host a DNS name, IPv4 address or [IPv6] address.
// fhir-rest-hook: an "https://host[:port][/path]" base URL without query or fragment.
absl::Status CheckFeedTarget(std::string_view field, FeedKind kind, std::string_view target);

// `pem` holds at least one X.509 certificate in PEM form, each of which parses (OpenSSL
// PEM_read_bio_X509), and no PEM block of another type (a private key); at most 64 KiB.
absl::Status CheckCaPem(std::string_view field, std::string_view pem);

// Everything above plus: content not empty, min_priority 1-3, patient ids and care_team_of as
// the registry's ids, the HL7 application/facility names printable and at most 227 characters
// (HD-1, HL7 v2.6 section 2.A.33) and free of the HL7 delimiters | ^ ~ \ &, TLS options only
// with TLS, and TLS required for FHIR (its target is https). Field names are "feed.<field>".
absl::Status ValidateFeedConfig(const FeedConfig& feed);

}  // namespace healthtwin::registry
