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
#include "services/ingest/sample_store.h"
#include "services/ingest/validation.h"

namespace healthtwin::ingest {

inline constexpr std::size_t kMaxSamplesPerBatch = 10'000;

struct BatchResult {
  // Every sample with sender_seq <= this is stored, quarantined or rejected.
  uint64_t durable_through_seq = 0;
  std::vector<Rejection> rejections;
  StoreOutcome outcome;
};

class IngestStream {
 public:
  IngestStream(SampleStore& store, std::string bridge_id, std::function<int64_t()> now_us)
      : store_(store), bridge_id_(std::move(bridge_id)), now_us_(std::move(now_us)) {}

  // InvalidArgument (naming the field) when the batch breaks the stream contract: too many
  // samples, or sender_seq not strictly increasing. Errors from the store pass through
  // (UNAVAILABLE when PostgreSQL is down); the sender then retries from its watermark.
  absl::StatusOr<BatchResult> Process(const std::vector<IncomingSample>& batch);

  uint64_t last_seq() const { return last_seq_; }

 private:
  SampleStore& store_;
  const std::string bridge_id_;
  std::function<int64_t()> now_us_;
  uint64_t last_seq_ = 0;
};

}  // namespace healthtwin::ingest
