// What the forwarder needs from ingest, in domain terms: open a stream, write a batch of
// outbox rows, read the acknowledgement. The gRPC implementation is GrpcSampleSink; unit
// tests use a fake, so the forwarder's logic is tested without gRPC or a network.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ble_bridge/outbox/outbox.h"

namespace healthtwin::ble {

struct UplinkRejection {
  uint64_t sender_seq = 0;
  std::string reason;  // e.g. "REJECT_REASON_IMPLAUSIBLE_VALUE"
  std::string detail;  // ingest's human-readable detail, naming the field
};

// Every row with id <= durable_through_seq that was written on this stream is stored,
// quarantined or rejected (and then listed in `rejections`).
struct UplinkAck {
  uint64_t durable_through_seq = 0;
  std::vector<UplinkRejection> rejections;
  uint32_t stored_count = 0;
  uint32_t duplicate_count = 0;
  uint32_t quarantined_count = 0;
  uint32_t status_stored_count = 0;
  uint32_t status_duplicate_count = 0;
};

// The gateway's liveness signal (healthtwin.vitals.v1.GatewayStatus). Not an outbox row: it has
// no sender_seq and is never resent; the next one replaces a lost one.
struct GatewayHeartbeat {
  int64_t observed_at_unix_us = 0;  // gateway clock
  int64_t outbox_depth = 0;         // rows waiting in the outbox
  std::string bridge_version;
  int64_t uptime_s = 0;
};

// One ingest stream. Not thread-safe; used by one forwarder thread. A stream that has
// failed stays failed: the forwarder drops it and opens another. Destroying a stream that
// has not finished cancels it.
class SampleStream {
 public:
  virtual ~SampleStream() = default;
  // Sends `rows` (ids strictly increasing, and above every id written before on this
  // stream; measurements and device statuses alike) as one batch with sender_seq = id, with
  // `heartbeat` when given. `rows` may be empty when a heartbeat is given. An error is the
  // stream's final status.
  virtual absl::Status Write(std::span<const OutboxRow> rows, const std::optional<GatewayHeartbeat>& heartbeat) = 0;
  // Waits for the acknowledgement of the oldest unacknowledged batch.
  virtual absl::StatusOr<UplinkAck> ReadAck() = 0;
  // Half-closes and returns the stream's final status.
  virtual absl::Status Finish() = 0;
};

class SampleSink {
 public:
  virtual ~SampleSink() = default;
  // Errors: Unavailable when ingest cannot be reached now, Unauthenticated when TLS refused
  // us (a certificate from another CA on either side), InvalidArgument/NotFound/
  // FailedPrecondition when our own TLS files are unusable.
  virtual absl::StatusOr<std::unique_ptr<SampleStream>> Open() = 0;
};

}  // namespace healthtwin::ble
