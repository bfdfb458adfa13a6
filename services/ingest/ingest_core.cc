#include "services/ingest/ingest_core.h"

namespace healthtwin::ingest {

absl::StatusOr<BatchResult> IngestStream::Process(const std::vector<IncomingSample>& batch) {
  if (batch.size() > kMaxSamplesPerBatch) {
    return absl::InvalidArgumentError("samples: " + std::to_string(batch.size()) + " samples in one batch; at most " +
                                      std::to_string(kMaxSamplesPerBatch));
  }
  uint64_t prev = last_seq_;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].sender_seq <= prev) {
      return absl::InvalidArgumentError("samples[" + std::to_string(i) + "].sender_seq: " +
                                        std::to_string(batch[i].sender_seq) + " is not greater than " +
                                        std::to_string(prev));
    }
    prev = batch[i].sender_seq;
  }

  BatchResult result;
  std::vector<ValidSample> valid;
  valid.reserve(batch.size());
  const int64_t now = now_us_();
  for (const auto& in : batch) {
    auto verdict = ValidateSample(in, now);
    if (auto* ok = std::get_if<ValidSample>(&verdict)) {
      valid.push_back(std::move(*ok));
    } else {
      result.rejections.push_back(std::get<Rejection>(std::move(verdict)));
    }
  }
  if (!valid.empty()) {
    auto outcome = store_.StoreBatch(bridge_id_, valid);
    if (!outcome.ok()) return outcome.status();
    result.outcome = *outcome;
    for (std::size_t i : outcome->refused_quarantine_full) {
      result.rejections.push_back({valid.at(i).sender_seq, RejectReason::kQuarantineFull,
                                   "device_id: " + valid[i].device_id +
                                       " is not forwardable and this bridge's quarantine is full"});
    }
  }
  last_seq_ = prev;
  result.durable_through_seq = last_seq_;
  return result;
}

}  // namespace healthtwin::ingest
