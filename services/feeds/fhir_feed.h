// The fhir-rest-hook feed kind: the feed service's MessageEncoder and Transport over the FHIR
// R4 resource library (services/feeds/fhir). Each message is a Subscriptions Backport
// notification Bundle (fhir/notification.h) POSTed over HTTPS to the feed's URL; the HTTP
// status decides delivered / retry / dead (HttpOutcome).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/feeds/feed.h"
#include "services/feeds/fhir/views.h"
#include "services/feeds/hl7_feed.h"
#include "services/feeds/message_encoder.h"
#include "services/feeds/transport.h"

namespace healthtwin::feeds {

// The library's view of the rows (pure, for the tests).
fhir::AlertEvent FhirAlertEventOf(const AlertEventRow& row);
fhir::VitalSample FhirVitalSampleOf(const VitalRow& row);

// Each feed is two subscriptions of the receiver's: "ht-feed-<id>-alerts" (topic
// urn:healthtwin:topic:alert-events, one event per alert event) and "ht-feed-<id>-vitals"
// (urn:healthtwin:topic:vitals, one event per Observation). Event numbers are the feed's own
// contiguous counters (EventNumbers, migration 0018), assigned by the enqueuer.
// Thread-safe: stateless. Bundle.timestamp is the encoding time (the outbox row's creation).
class FhirEncoder : public MessageEncoder {
 public:
  // base_url: our FHIR base (the clinician API's .../fhir/r4), used in fullUrls and references.
  explicit FhirEncoder(std::string base_url) : base_url_(std::move(base_url)) {}
  absl::StatusOr<std::string> EncodeAlertEvent(const Feed& feed, const AlertEventRow& event,
                                               const std::string& message_id, EventNumbers& numbers) const override;
  absl::StatusOr<std::string> EncodeVitals(const Feed& feed, std::span<const VitalRow> samples,
                                           const std::string& message_id, EventNumbers& numbers) const override;

 private:
  std::string base_url_;
};

// 2xx delivered; 408, 429, 5xx (and anything else unexpected: 1xx, 3xx) retried; other 4xx
// permanent (issue 12: only an explicit rejection dead-letters).
SendResult::Outcome HttpOutcome(int status);

struct FhirTransportOptions {
  // Presented when the feed asks for a client certificate (feeds.tls_client_cert).
  ClientIdentityFiles identity;
  // Optional bearer tokens, never in the database: "<dir>/<feed name>.token" (one line), read
  // on every send so a rotated token is used at once. Empty: no Authorization header.
  std::string bearer_token_dir;
  // Tests: connect to this address for the URL's host (the TLS name check still uses the host).
  std::map<std::string, std::string> host_addresses;
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds read_timeout{15};
};

// An HTTPS client to the feed's target (https://host[:port][/path]): the server is verified with
// the feed's CA (or the system store when it has none) and its name checked. InvalidArgument
// naming feed.target when the URL cannot be used.
absl::StatusOr<std::unique_ptr<Transport>> MakeFhirTransport(const Feed& feed, const FhirTransportOptions& options);

}  // namespace healthtwin::feeds
