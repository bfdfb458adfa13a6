// Turns source rows into the bytes a feed sends (an HL7 v2 message, a FHIR Bundle). Encoding
// happens when a message is enqueued: the outbox stores the payload, so a retry or a replay
// sends exactly the bytes first written, under the same message id.
//
// Implementations are pure and thread-safe. An error fails the enqueue round of that feed
// (its cursor stays, so the rows are read again), never drops the rows.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "services/feeds/feed.h"

namespace healthtwin::feeds {

// The event numbers of one message on its feed's subscription (alerts or vitals): FHIR
// rest-hook receivers detect gaps from them, so they are contiguous per feed and subscription.
// The enqueuer passes how many events it has numbered so far; the encoder numbers the message's
// events before + 1 ... before + count and says how many it used. Encoders without event numbers
// (HL7 v2) leave count at 0.
struct EventNumbers {
  int64_t before = 0;  // in
  int64_t count = 0;   // out
};

class MessageEncoder {
 public:
  virtual ~MessageEncoder() = default;
  // One message per alert event (every lifecycle transition is a message).
  virtual absl::StatusOr<std::string> EncodeAlertEvent(const Feed& feed, const AlertEventRow& event,
                                                       const std::string& message_id, EventNumbers& numbers) const = 0;
  // One message for a batch of one patient's samples, in ingest order (at least one).
  virtual absl::StatusOr<std::string> EncodeVitals(const Feed& feed, std::span<const VitalRow> samples,
                                                   const std::string& message_id, EventNumbers& numbers) const = 0;
};

// The encoder of a feed's kind; nullptr when this build has none (the feed's cursor then stays,
// so nothing is lost until one exists).
using EncoderLookup = std::function<const MessageEncoder*(const Feed&)>;

}  // namespace healthtwin::feeds
