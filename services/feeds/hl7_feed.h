// The hl7v2-mllp feed kind: the feed service's MessageEncoder and Transport over the HL7 v2
// library (services/feeds/hl7): ORU^R40 per alert event, ORU^R01 per patient vitals batch,
// sent over MLLP (optionally TLS) with the receiver's ACK deciding delivered / retry / dead.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/feeds/feed.h"
#include "services/feeds/hl7/views.h"
#include "services/feeds/message_encoder.h"
#include "services/feeds/transport.h"

namespace healthtwin::feeds {

// What the HL7 encoder reads of one alert_events row with its alert (pure, for the tests).
// The alarm status is the lifecycle's as of the event (hl7::StatusAfter); the triggering
// observation is the rule's first covered physiology with the alert's peak value.
hl7::AlertEventView AlertEventViewOf(const AlertEventRow& row);

// Thread-safe: stateless. MSH-7 is the encoding time, which is the outbox row's creation.
class Hl7Encoder : public MessageEncoder {
 public:
  absl::StatusOr<std::string> EncodeAlertEvent(const Feed& feed, const AlertEventRow& event,
                                               const std::string& message_id, EventNumbers& numbers) const override;
  absl::StatusOr<std::string> EncodeVitals(const Feed& feed, std::span<const VitalRow> samples,
                                           const std::string& message_id, EventNumbers& numbers) const override;
};

// Our client certificate and key, presented to a receiver when the feed asks for it
// (feeds.tls_client_cert): the service's own TLS identity.
struct ClientIdentityFiles {
  std::string cert_path;
  std::string key_path;
};

// An MLLP client to the feed's host:port. With TLS the feed's CA PEM (stored in the row, not
// a path) is written to a private temporary file the transport owns. InvalidArgument naming
// the feed field when the target or the TLS material cannot be used.
absl::StatusOr<std::unique_ptr<Transport>> MakeMllpTransport(const Feed& feed, const ClientIdentityFiles& identity);

}  // namespace healthtwin::feeds
