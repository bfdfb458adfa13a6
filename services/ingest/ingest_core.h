// The domain of ingest: validates each batch a bridge sends, stores what is valid, and
// computes the acknowledgement watermark. No gRPC here.
//
// One IngestStream per bridge stream; it is not thread-safe and expects batches in order.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ingest/device_status_store.h"
#include "services/ingest/sample_store.h"
#include "services/ingest/validation.h"

namespace healthtwin::ingest {

inline constexpr std::size_t kMaxSamplesPerBatch = 10'000;
inline constexpr std::size_t kMaxStatusesPerBatch = 10'000;

// One SampleBatch in domain terms.
struct IncomingBatch {
  std::vector<IncomingSample> samples;
  std::vector<IncomingDeviceStatus> statuses;
  std::optional<IncomingHeartbeat> gateway;
};

struct BatchResult {
  // Every sample and status with sender_seq <= this is stored, quarantined or rejected.
  uint64_t durable_through_seq = 0;
  std::vector<Rejection> rejections;  // samples' and statuses'
  StoreOutcome outcome;
  StatusStoreOutcome status_outcome;
  // Why the heartbeat was not stored (it was invalid); OK otherwise. Never fails the batch.
  absl::Status heartbeat_error;
};

class IngestStream {
 public:
  IngestStream(SampleStore& store, DeviceStatusStore& status_store, std::string bridge_id,
               std::function<int64_t()> now_us)
      : store_(store), status_store_(status_store), bridge_id_(std::move(bridge_id)), now_us_(std::move(now_us)) {}

  // InvalidArgument (naming the field) when the batch breaks the stream contract: too many
  // samples or statuses, sender_seq not strictly increasing within samples or within statuses,
  // or one sender_seq used by both (they share one sequence space). Errors from the stores pass
  // through (UNAVAILABLE when PostgreSQL is down); the sender then retries from its watermark,
  // and what was stored before the error comes back as duplicates.
  absl::StatusOr<BatchResult> Process(const IncomingBatch& batch);
  absl::StatusOr<BatchResult> Process(const std::vector<IncomingSample>& samples) {
    return Process(IncomingBatch{samples, {}, std::nullopt});
  }

  uint64_t last_seq() const { return last_seq_; }

 private:
  SampleStore& store_;
  DeviceStatusStore& status_store_;
  const std::string bridge_id_;
  std::function<int64_t()> now_us_;
  uint64_t last_seq_ = 0;
};

}  // namespace healthtwin::ingest
