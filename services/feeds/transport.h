// Sends one message of a feed to its receiver and reports what the receiver said. A transport
// owns its connection (MLLP over TCP/TLS, HTTPS) and reconnects by itself; the delivery loop
// calls Send for one message at a time and decides from the result what the outbox row becomes
// (delivery_policy.h).
//
// Not required to be thread-safe: each feed's transport is used by one delivery loop.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/feeds/feed.h"

namespace healthtwin::feeds {

struct SendResult {
  enum class Outcome {
    // The receiver acknowledged the message (HL7 AA/CA, HTTP 2xx).
    kDelivered,
    // Anything that may succeed later: no connection, a timeout, HL7 AE/CE, HTTP 5xx/408/429.
    kRetry,
    // The receiver explicitly refuses this message for good: HL7 AR/CR, HTTP 4xx other than
    // 408/429. The only outcome that dead-letters.
    kPermanent,
  };
  Outcome outcome = Outcome::kRetry;
  // Why it was not delivered (empty when delivered).
  std::string error;
  // The receiver's acknowledgement as received (HL7 ACK, HTTP status line and body); empty
  // when nothing came back.
  std::string ack;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual SendResult Send(const std::string& payload, const std::string& message_id) = 0;
};

// Makes the transport of a feed; an error (e.g. no transport for the feed's kind in this build)
// leaves the feed's messages pending.
using TransportFactory = std::function<absl::StatusOr<std::unique_ptr<Transport>>(const Feed&)>;

}  // namespace healthtwin::feeds
