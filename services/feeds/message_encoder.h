// Turns source rows into the bytes a feed sends (an HL7 v2 message, a FHIR Bundle). Encoding
// happens when a message is enqueued: the outbox stores the payload, so a retry or a replay
// sends exactly the bytes first written, under the same message id.
//
// Implementations are pure and thread-safe. An error fails the enqueue round of that feed
// (its cursor stays, so the rows are read again), never drops the rows.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "services/feeds/feed.h"

namespace healthtwin::feeds {

class MessageEncoder {
 public:
  virtual ~MessageEncoder() = default;
  // One message per alert event (every lifecycle transition is a message).
  virtual absl::StatusOr<std::string> EncodeAlertEvent(const Feed& feed, const AlertEventRow& event,
                                                       const std::string& message_id) const = 0;
  // One message for a batch of one patient's samples, in ingest order (at least one).
  virtual absl::StatusOr<std::string> EncodeVitals(const Feed& feed, std::span<const VitalRow> samples,
                                                   const std::string& message_id) const = 0;
};

// The encoder of a feed's kind; nullptr when this build has none (the feed's cursor then stays,
// so nothing is lost until one exists).
using EncoderLookup = std::function<const MessageEncoder*(const Feed&)>;

}  // namespace healthtwin::feeds
